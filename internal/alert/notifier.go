package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Notifier sends alerts somewhere. Implementations are safe for
// concurrent use and honour ctx.
type Notifier interface {
	// Name identifies the notifier in logs and errors.
	Name() string
	Notify(ctx context.Context, a Alert) error
}

// NotifyAll sends an alert to every notifier; one failing does not stop
// the others. The error joins the failures, each named.
func NotifyAll(ctx context.Context, ns []Notifier, a Alert, log *slog.Logger) error {
	var errs []error
	for _, n := range ns {
		if err := n.Notify(ctx, a); err != nil {
			err = fmt.Errorf("notifier %s: %w", n.Name(), err)
			if log != nil {
				log.Error("alert not sent", "rule", a.Rule, "err", err)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
