package finding

// Report is everything one run of an engine produced: what every report
// format (table, JSON, SARIF, JUnit, HTML, PolicyReport) renders.
type Report struct {
	Tool Tool `json:"tool"`
	// Findings are the problems that count (not suppressed by an exception).
	Findings []Finding `json:"findings"`
	// Suppressed are findings an exception applies to.
	Suppressed []Finding `json:"suppressed"`
	// ExpiredExceptions are exceptions past their expiry date; the findings
	// they would have suppressed are in Findings.
	ExpiredExceptions []Exception `json:"expiredExceptions"`
	// Scores are the per-framework compliance scores.
	Scores []FrameworkScore `json:"scores"`
	// Errors are inputs that could not be read and rule evaluations that
	// failed; each is also reflected in the exit code.
	Errors []Problem `json:"errors"`
	// Warnings are things skipped on purpose, such as YAML documents that
	// are not Kubernetes objects.
	Warnings []Problem `json:"warnings"`
	Summary  Summary   `json:"summary"`
}

// Tool names the program that made the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Problem is an error or warning about the input or a rule, not about the
// security of a resource.
type Problem struct {
	File     string    `json:"file,omitempty"`
	Line     int       `json:"line,omitempty"`
	RuleID   string    `json:"ruleID,omitempty"`
	Resource *Resource `json:"resource,omitempty"`
	Message  string    `json:"message"`
}

// Summary counts what was checked and found.
type Summary struct {
	Resources int `json:"resources"`
	// NotJudged counts the loaded resources that no selected check applies
	// to (unknown or custom kinds, kinds the selection leaves out); the
	// warnings say which and why.
	NotJudged int `json:"notJudged"`
	// Excluded counts the files and folders left out by --exclude globs;
	// a warning names each.
	Excluded   int            `json:"excluded"`
	Rules      int            `json:"rules"`
	Findings   int            `json:"findings"`
	Suppressed int            `json:"suppressed"`
	BySeverity map[string]int `json:"bySeverity"`
}

// Summarize fills r.Summary from the findings; resources and rules are the
// counts of what was evaluated.
func (r *Report) Summarize(resources, rules int) {
	r.Summary = Summary{
		Resources:  resources,
		Rules:      rules,
		Findings:   len(r.Findings),
		Suppressed: len(r.Suppressed),
		BySeverity: map[string]int{},
	}
	for _, s := range Severities() {
		r.Summary.BySeverity[s.String()] = 0
	}
	for _, f := range r.Findings {
		r.Summary.BySeverity[f.Severity.String()]++
	}
}

// MaxSeverity returns the worst severity among the findings, and false when
// there are none.
func (r *Report) MaxSeverity() (Severity, bool) {
	if len(r.Findings) == 0 {
		return 0, false
	}
	max := Info
	for _, f := range r.Findings {
		if f.Severity > max {
			max = f.Severity
		}
	}
	return max, true
}
