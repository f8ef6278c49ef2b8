// Command kordon is Kordon's single binary: posture scanning, the rule
// catalogue, admission control and network-policy analysis for Kubernetes.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

// exitError carries an exit code through cobra: 1 for findings over the
// threshold, 2 for usage and input errors.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// Exit codes, documented in docs/exit-codes.md.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
)

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "kordon:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "kordon:", err)
	return exitUsage
}
