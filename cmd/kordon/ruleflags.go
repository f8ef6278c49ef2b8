package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/rules"
)

// ruleFlags selects rules: the built-in catalogue plus --rules folders,
// filtered by framework, tag, ID and severity. Every rule command shares it.
type ruleFlags struct {
	dirs        []string
	frameworks  []string
	tags        []string
	ids         []string
	minSeverity string
	noBuiltin   bool
	params      []string
	// cmd is the command the flags belong to, whose context holds the
	// configuration file's parameters.
	cmd *cobra.Command
}

func (f *ruleFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.dirs, "rules", nil, "folder of custom rule files to add (repeatable)")
	fl.StringSliceVar(&f.frameworks, "framework", nil, "only rules with a control in these frameworks: CIS, NSA, NIST-800-190, PSS (comma-separated)")
	fl.StringSliceVar(&f.tags, "tag", nil, "only rules with one of these tags, e.g. pss-baseline, pss-restricted")
	fl.StringSliceVar(&f.ids, "rule", nil, "only these rule IDs (comma-separated)")
	fl.StringVar(&f.minSeverity, "min-severity", "info", "only rules at or above this severity: info, low, medium, high, critical")
	fl.BoolVar(&f.noBuiltin, "no-builtin", false, "leave out the built-in rules (use only --rules folders)")
	fl.StringArrayVar(&f.params, "param", nil, "set a rule parameter, RULE-ID.name=value (repeatable; a list comma-separated), e.g. KOR-IMG-003.trustedRegistries=registry.example.com/; see kordon rules show RULE-ID")
	f.cmd = cmd
	_ = cmd.RegisterFlagCompletionFunc("rule", completeRuleIDs)
	_ = cmd.RegisterFlagCompletionFunc("framework", fixedCompletion("CIS", "NSA", "NIST-800-190", "PSS"))
	_ = cmd.RegisterFlagCompletionFunc("tag", completeTags)
	_ = cmd.RegisterFlagCompletionFunc("min-severity", fixedCompletion("info", "low", "medium", "high", "critical"))
	_ = cmd.MarkFlagDirname("rules")
}

// completeRuleIDs completes built-in rule IDs and aliases, with titles.
func completeRuleIDs(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	prefix := toComplete[strings.LastIndex(toComplete, ",")+1:]
	head := toComplete[:len(toComplete)-len(prefix)]
	var out []string
	for _, r := range cat.Rules() {
		for _, id := range r.IDs() {
			if strings.HasPrefix(id, strings.ToUpper(prefix)) {
				out = append(out, head+id+"\t"+r.Title)
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeTags completes the tags of built-in rules.
func completeTags(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	cat, err := rules.BuiltinCatalogue()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range cat.Rules() {
		for _, t := range r.Tags {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// fixedCompletion completes one of a fixed list of values.
func fixedCompletion(values ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// load returns the catalogue (built-in rules and --rules folders) and the
// rules the flags select from it.
func (f *ruleFlags) load() (*rules.Catalogue, []*rules.Rule, error) {
	all, err := f.all()
	if err != nil {
		return nil, nil, err
	}
	cat, err := rules.NewCatalogue(all)
	if err != nil {
		return nil, nil, usageErr(err)
	}
	selected, err := f.selectFrom(cat)
	if err != nil {
		return nil, nil, err
	}
	return cat, selected, nil
}

// all returns the built-in rules (unless --no-builtin) and the custom ones.
func (f *ruleFlags) all() ([]*rules.Rule, error) {
	var all []*rules.Rule
	if !f.noBuiltin {
		b, err := rules.Builtin()
		if err != nil {
			return nil, fmt.Errorf("built-in rules: %w", err)
		}
		all = b
	}
	for _, d := range f.dirs {
		custom, err := rules.LoadDir(d)
		if err != nil {
			return nil, usageErr(err)
		}
		if all, err = rules.Merge(all, custom); err != nil {
			return nil, usageErr(err)
		}
	}
	settings, err := configFrom(ctxOf(f.cmd)).paramSettings(f.params)
	if err != nil {
		return nil, usageErr(err)
	}
	if all, err = rules.SetParams(all, settings); err != nil {
		return nil, usageErr(err)
	}
	return all, nil
}

// selectFrom applies the selection flags to the catalogue.
func (f *ruleFlags) selectFrom(cat *rules.Catalogue) ([]*rules.Rule, error) {
	sev, err := finding.ParseSeverity(f.minSeverity)
	if err != nil {
		return nil, usageErr(fmt.Errorf("--min-severity: %w", err))
	}
	for _, fw := range f.frameworks {
		if !knownFramework(fw) {
			return nil, usageErr(fmt.Errorf("--framework %q: want one of CIS, NSA, NIST-800-190, PSS or a custom rule's framework", fw))
		}
	}
	ids := make([]string, len(f.ids))
	for i, id := range f.ids {
		ids[i] = strings.ToUpper(strings.TrimSpace(id))
		if _, ok := cat.Lookup(ids[i]); !ok {
			return nil, usageErr(fmt.Errorf("--rule %s: no such rule (see kordon rules list)", id))
		}
	}
	selected := cat.Select(rules.Filter{Frameworks: f.frameworks, Tags: f.tags, IDs: ids, MinSeverity: sev})
	if len(selected) == 0 {
		return nil, usageErr(fmt.Errorf("no rule matches the selection flags"))
	}
	return selected, nil
}

// knownFramework accepts the four built-in frameworks (in any case) and any
// other name, which custom rules may define; only obviously malformed names
// are refused.
func knownFramework(fw string) bool {
	return fw != "" && !strings.ContainsAny(fw, ": ")
}

func usageErr(err error) error { return &exitError{code: exitUsage, err: err} }
