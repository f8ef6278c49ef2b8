//go:build !linux

package bpf

import "errors"

func cgroupDepth(string) int { return 0 }

func ensureTracefs() error { return errors.New("the sensor runs on Linux only") }
