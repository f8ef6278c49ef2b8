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
	interrupted := ctx.Err() != nil
	stop()
	if interrupted && err != nil {
		// A signal stopped the command: say so rather than "context canceled".
		fmt.Fprintln(os.Stderr, "kordon: interrupted; the output may be incomplete")
		os.Exit(exitUsage)
	}
	if msg := errorMessage(err); msg != "" {
		fmt.Fprintln(os.Stderr, "kordon:", msg)
	}
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

// exitCode returns the process exit code for a command's error.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitUsage
}

// errorMessage returns what to print for a command's error; "" for none
// (an exit code without a message, such as findings over the threshold).
func errorMessage(err error) string {
	var ee *exitError
	if errors.As(err, &ee) && ee.err == nil {
		return ""
	}
	if err == nil {
		return ""
	}
	return err.Error()
}
