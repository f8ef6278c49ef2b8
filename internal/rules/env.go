package rules

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/util/version"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// CostLimit is the runtime cost limit of one expression evaluation, the
// same per-call limit the API server applies to admission policies. The
// Kubernetes base environment sets it on every program.
const CostLimit = celconfig.PerCallLimit

// newEnv builds the CEL environment rules compile in: the Kubernetes base
// environment (the CEL libraries of the API server: strings, lists, regex,
// URLs, quantities, IPs, CIDRs, semver, formats...) plus the variables
// object, variables and inventory.
func newEnv() (*cel.Env, error) {
	base := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
	set, err := base.Extend(environment.VersionedOptions{
		IntroducedVersion: version.MajorMinor(1, 0),
		EnvOptions: []cel.EnvOption{
			cel.Variable("object", cel.DynType),
			cel.Variable("variables", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("inventory", cel.DynType),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("build CEL environment: %w", err)
	}
	return set.NewExpressionsEnv(), nil
}
