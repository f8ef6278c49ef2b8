package rules

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/ext"
	"k8s.io/apimachinery/pkg/util/version"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/apiserver/pkg/cel/library"
)

// CostLimit is the runtime cost limit of one expression evaluation, the
// same per-call limit the API server applies to admission policies. The
// Kubernetes base environment sets it on every program.
const CostLimit = celconfig.PerCallLimit

// ruleVariables declares the variables rules see: object, variables and
// inventory.
func ruleVariables() []cel.EnvOption {
	return []cel.EnvOption{
		cel.Variable("object", cel.DynType),
		cel.Variable("variables", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("inventory", cel.DynType),
	}
}

// newEnv builds the CEL environment rules compile in: the Kubernetes base
// environment (the CEL libraries of the API server: strings, lists, regex,
// URLs, quantities, IPs, CIDRs, semver, formats...) plus the variables
// object, variables and inventory.
func newEnv() (*cel.Env, error) {
	base := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
	set, err := base.Extend(environment.VersionedOptions{
		IntroducedVersion: version.MajorMinor(1, 0),
		EnvOptions:        ruleVariables(),
	})
	if err != nil {
		return nil, fmt.Errorf("build CEL environment: %w", err)
	}
	return set.NewExpressionsEnv(), nil
}

// newUntrackedEnv builds the environment of newEnv without the API
// server's runtime cost tracking, for the programs of inventory rules.
// Those never run as admission policies, so the per-call cost limit,
// whose purpose is to fail here as an admission policy would fail there,
// does not apply to them; and cel-go's cost tracker takes time quadratic
// in the length of the lists a comprehension walks, which for inventory
// rules are the objects of a namespace or of the whole scan. The object's
// deadline still bounds them.
//
// The libraries are those environment.MustBaseEnvSet enables at
// environment.DefaultCompatibilityVersion (1.36 with k8s.io/apiserver
// v0.37), at the same versions, with the same language options; a test
// checks that both environments declare the same functions, overloads,
// macros and variables, so that a program means the same in both.
func newUntrackedEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{
		cel.HomogeneousAggregateLiterals(),
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		library.URLs(),
		library.Regex(),
		cel.CostEstimatorOptions(checker.PresenceTestHasCost(false)),
		library.Lists(library.ListsVersion(0)),
		library.Authz(),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		library.Quantity(),
		cel.ASTValidators(
			cel.ValidateDurationLiterals(),
			cel.ValidateTimestampLiterals(),
			cel.ValidateRegexLiterals(),
			cel.ValidateHomogeneousAggregateLiterals(),
		),
		ext.Strings(ext.StringsVersion(2)),
		ext.Sets(),
		library.IP(),
		library.CIDR(),
		library.Format(),
		library.AuthzSelectors(),
		ext.TwoVarComprehensions(),
		library.SemverLib(library.SemverVersion(1)),
		ext.Lists(ext.ListsVersion(3)),
	}
	env, err := cel.NewEnv(append(opts, ruleVariables()...)...)
	if err != nil {
		return nil, fmt.Errorf("build CEL environment without cost tracking: %w", err)
	}
	return env, nil
}
