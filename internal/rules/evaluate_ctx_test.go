package rules

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// doneAfter is a context that is cancelled once Done has been called n
// times: it cancels a CEL program in the middle of its evaluation, without
// timing.
type doneAfter struct {
	mu    sync.Mutex
	n     int
	calls int
	done  chan struct{}
}

func (c *doneAfter) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *doneAfter) Value(any) any               { return nil }

func (c *doneAfter) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.calls == c.n {
		close(c.done)
	}
	return c.done
}

func (c *doneAfter) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// TestEvaluateObservesContext checks that a long comprehension stops when
// the context ends during its evaluation, and that Evaluate then reports
// the context's error instead of a partial result.
func TestEvaluateObservesContext(t *testing.T) {
	rule := &Rule{
		ID: "T-CTX-1", Title: "t", Remediation: "r",
		Match:       Match{Resources: []ResourceMatch{{APIGroups: []string{""}, Kinds: []string{"ConfigMap"}}}},
		Validations: []Validation{{Expression: "object.data.all(k, object.data[k].size() < 100)", Message: "long value"}},
	}
	rs, err := Compile([]*Rule{rule})
	if err != nil {
		t.Fatal(err)
	}
	var doc strings.Builder
	doc.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: shop}\ndata:\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&doc, "  k%d: v\n", i)
	}
	objs := decodeAll(t, doc.String())

	ctx := &doneAfter{n: 3, done: make(chan struct{})}
	_, err = rs.Evaluate(ctx, objs, EvalOptions{Workers: 1})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Evaluate with a context cancelled mid-evaluation: got %v, want context.Canceled", err)
	}
	// Done is also called from the goroutines that derived contexts start:
	// read the count under the lock.
	ctx.mu.Lock()
	calls := ctx.calls
	ctx.mu.Unlock()
	if calls > 10 {
		t.Errorf("the program checked the context %d times after it ended, want it to stop at once", calls-ctx.n)
	}

	res, err := rs.Evaluate(context.Background(), objs, EvalOptions{Workers: 1})
	if err != nil || len(res.Errors) > 0 || len(res.Findings) > 0 {
		t.Errorf("Evaluate without cancellation: got %v, %+v, %v; want a pass", err, res.Findings, res.Errors)
	}
}
