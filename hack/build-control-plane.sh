#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver and etcd) from the Go module
# proxy at pinned versions and caches the binaries under the user's cache dir.
#
# Prints the directory that holds the binaries; point KUBEBUILDER_ASSETS at it.
# A second run with the binaries already present returns at once.
#
#   KUBEBUILDER_ASSETS=$(hack/build-control-plane.sh) go test ./...
set -euo pipefail

k8s_version=v1.36.3     # k8s.io/kubernetes
staging_version=v0.36.3 # every k8s.io staging module, as published
etcd_version=v3.6.8     # go.etcd.io/etcd/server/v3

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}
out=$cache_root/kordon/control-plane/k8s-$k8s_version-etcd-$etcd_version
if [[ -x $out/kube-apiserver && -x $out/etcd ]]; then
  echo "$out"
  exit 0
fi

log() { echo "build-control-plane: $*" >&2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out.tmp"

# Every staging module that k8s.io/kubernetes replaces with ./staging/src/...
# is pinned to its published version instead.
staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
  cloud-provider cluster-bootstrap code-generator component-base component-helpers
  controller-manager cri-api cri-client cri-streaming csi-translation-lib
  dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
  kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver sample-cli-plugin
  sample-controller streaming)

export GOFLAGS=-mod=mod
export CGO_ENABLED=0

# The two binaries build in parallel; each build's output goes to its own
# log, printed only when that build fails.
build_apiserver() {
  mkdir -p "$work/apiserver"
  cd "$work/apiserver"
  go mod init kordon.local/control-plane/apiserver
  for m in "${staging[@]}"; do
    go mod edit -replace "k8s.io/$m=k8s.io/$m@$staging_version"
  done
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$k8s_version"
  minor=${k8s_version#v1.}; minor=${minor%%.*}
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  go build -trimpath -ldflags "$ldflags" -o "$out.tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
}

build_etcd() {
  mkdir -p "$work/etcd"
  cd "$work/etcd"
  go mod init kordon.local/control-plane/etcd
  go get "go.etcd.io/etcd/server/v3@$etcd_version"
  # The etcd main package is the module root; its binary would be called "server".
  go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3
}

log "building kube-apiserver $k8s_version and etcd $etcd_version in parallel (about 5-8 minutes on 2 idle cores, once)"
start=$SECONDS
(build_apiserver) >"$work/apiserver.log" 2>&1 &
apiserver_pid=$!
(build_etcd) >"$work/etcd.log" 2>&1 &
etcd_pid=$!
failed=0
if ! wait "$apiserver_pid"; then
  log "kube-apiserver build failed:"; cat "$work/apiserver.log" >&2; failed=1
fi
if ! wait "$etcd_pid"; then
  log "etcd build failed:"; cat "$work/etcd.log" >&2; failed=1
fi
if [[ $failed -ne 0 ]]; then
  rm -rf "$out.tmp"
  exit 1
fi
log "built in $((SECONDS - start)) s"

rm -rf "$out"
mv "$out.tmp" "$out"
log "cached in $out"
echo "$out"
