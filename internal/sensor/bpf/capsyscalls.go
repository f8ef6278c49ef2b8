package bpf

import "fmt"

// capSyscalls names the system calls of the capability fallback by their
// tag (enum syscall_tag in sensor.bpf.c): a capability record with a tag
// was derived from that call, not from capability/cap_capable.
var capSyscalls = [...]string{1: "mount", 2: "umount", 3: "sethostname", 4: "setdomainname", 5: "pivot_root",
	6: "setns", 7: "unshare", 8: "swapon", 9: "swapoff", 10: "chroot", 11: "init_module", 12: "finit_module",
	13: "delete_module", 14: "bpf", 15: "socket", 16: "ptrace", 17: "setuid", 18: "setreuid", 19: "setresuid",
	20: "setgid", 21: "setregid", 22: "setresgid", 23: "setgroups", 24: "kexec_load", 25: "kexec_file_load",
	26: "reboot", 27: "settimeofday", 28: "clock_settime", 29: "mknod", 30: "mknodat", 31: "iopl", 32: "ioperm",
	33: "acct"}

func syscallName(tag uint64) string {
	if tag < uint64(len(capSyscalls)) && capSyscalls[tag] != "" {
		return capSyscalls[tag]
	}
	return fmt.Sprintf("syscall-%d", tag)
}
