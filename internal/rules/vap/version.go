package vap

import (
	"fmt"

	"github.com/google/cel-go/cel"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/cel/environment"
)

// OldestKubernetes is the oldest Kubernetes version that serves
// admissionregistration.k8s.io/v1 ValidatingAdmissionPolicies.
var OldestKubernetes = version.MajorMinor(1, 30)

// celEnvs holds, for each Kubernetes minor version from OldestKubernetes,
// the CEL environment in which an API server of that version compiles new
// policy expressions.
type celEnvs struct {
	versions []*version.Version
	envs     []*cel.Env
}

// newCELEnvs builds the environments of the API servers from
// OldestKubernetes up to the newest this build of Kordon knows. An API
// server of version 1.N accepts in new expressions the CEL libraries
// introduced up to 1.(N-1), so that a rollback to 1.(N-1) can still run
// them.
func newCELEnvs() (*celEnvs, error) {
	newest := environment.DefaultCompatibilityVersion().WithPatch(0)
	out := &celEnvs{}
	for v := OldestKubernetes; !v.GreaterThan(newest.AddMinor(1)); v = v.AddMinor(1) {
		compat := version.MajorMinor(v.Major(), v.Minor()-1)
		set, err := environment.MustBaseEnvSet(compat).Extend(environment.VersionedOptions{
			IntroducedVersion: version.MajorMinor(1, 0),
			EnvOptions: []cel.EnvOption{
				cel.Variable("object", cel.DynType),
				cel.Variable("oldObject", cel.DynType),
				cel.Variable("request", cel.DynType),
				cel.Variable("variables", cel.MapType(cel.StringType, cel.DynType)),
			},
		})
		if err != nil {
			return nil, fmt.Errorf("CEL environment of Kubernetes %s: %w", v, err)
		}
		out.versions = append(out.versions, v)
		out.envs = append(out.envs, set.NewExpressionsEnv())
	}
	return out, nil
}

// minVersion returns the oldest Kubernetes version whose API server
// compiles every expression of the policy, or an error naming the first
// expression the newest one cannot compile.
func (e *celEnvs) minVersion(p *admissionv1.ValidatingAdmissionPolicy) (*version.Version, error) {
	var exprs []string
	for _, c := range p.Spec.MatchConditions {
		exprs = append(exprs, c.Expression)
	}
	for _, v := range p.Spec.Variables {
		exprs = append(exprs, v.Expression)
	}
	for _, v := range p.Spec.Validations {
		exprs = append(exprs, v.Expression)
		if v.MessageExpression != "" {
			exprs = append(exprs, v.MessageExpression)
		}
	}
	var lastErr error
	for i, env := range e.envs {
		lastErr = nil
		for _, x := range exprs {
			if _, iss := env.Compile(x); iss.Err() != nil {
				lastErr = iss.Err()
				break
			}
		}
		if lastErr == nil {
			return e.versions[i], nil
		}
	}
	return nil, fmt.Errorf("no Kubernetes version up to %s compiles the policy: %w", e.versions[len(e.versions)-1], lastErr)
}
