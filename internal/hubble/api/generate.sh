#!/bin/sh
# Regenerates the Go code of the Hubble API subset (make hubble-proto).
# PROTOC_GEN_GO and PROTOC_GEN_GO_GRPC name the plugins (the Makefile
# installs them at pinned versions).
set -eu
cd "$(dirname "$0")"
for p in flow/flow.proto relay/relay.proto observer/observer.proto; do
	protoc -I . -I /usr/include \
		--plugin=protoc-gen-go="$PROTOC_GEN_GO" --go_out=. --go_opt=paths=source_relative \
		--plugin=protoc-gen-go-grpc="$PROTOC_GEN_GO_GRPC" --go-grpc_out=. --go-grpc_opt=paths=source_relative \
		"$p"
done
