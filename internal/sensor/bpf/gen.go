package bpf

// The objects are committed so that go build needs no clang. make
// bpf-generate regenerates them with Debian's clang-14 and make bpf-check
// fails when the committed ones differ (see docs/sensor.md).
//
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang-14 -strip llvm-strip-14 -no-global-types -type event -target bpfel -go-package bpf sensor sensor.bpf.c -- -O2 -g -Wall -Werror -I.
