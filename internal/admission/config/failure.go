package config

import "fmt"

// FailureAction is what the webhook answers when it cannot decide a
// request in time: an enforcing check failed to evaluate, or the
// evaluation budget (Timeout) ran out.
type FailureAction string

// Failure actions.
const (
	// FailDeny denies the request, naming why kordon could not decide
	// (the default: nothing unjudged gets in).
	FailDeny FailureAction = "deny"
	// FailAllow admits the request with a warning naming why kordon could
	// not decide.
	FailAllow FailureAction = "allow"
)

// ValidFailureAction checks a failureAction value; "" means FailDeny.
func ValidFailureAction(a FailureAction) error {
	switch a {
	case "", FailDeny, FailAllow:
		return nil
	}
	return fmt.Errorf("failureAction: %q: want deny or allow", a)
}
