package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/pipeline"
	"github.com/kordon-dev/kordon/internal/report"
	"github.com/kordon-dev/kordon/internal/rules"
)

// reportFlags are the flags of every command that reports findings: the
// format and destination of the report, exceptions, and the gate that sets
// the exit code. Each command builds a pipeline.Input; these flags do the
// rest the same way for all.
type reportFlags struct {
	output        string
	outFile       string
	color         string
	failOn        string
	minScore      float64
	exceptions    []string
	noAnnotations bool

	// cmd is the command the flags belong to, whose context holds the
	// configuration file's exceptions.
	cmd *cobra.Command

	// parsed by prepare
	gate pipeline.Gate
	list []finding.Exception
}

func (f *reportFlags) register(cmd *cobra.Command, defaultFailOn string) {
	f.cmd = cmd
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "table", "report format: "+strings.Join(report.Formats(), ", "))
	fl.StringVar(&f.outFile, "output-file", "", "write the report to this file instead of standard output")
	fl.StringVar(&f.color, "color", "auto", "colour the table: auto (on a terminal, unless NO_COLOR is set), always, never")
	fl.StringVar(&f.failOn, "fail-on", defaultFailOn, "exit 1 when a finding is at or above this severity (info, low, medium, high, critical) or none")
	fl.Float64Var(&f.minScore, "min-score", 0, "exit 1 when a framework's compliance score is below this (0-100); with --framework, only those frameworks' scores")
	fl.StringArrayVar(&f.exceptions, "exceptions", nil, "exceptions file (repeatable); see docs/scanning.md#exceptions")
	fl.BoolVar(&f.noAnnotations, "no-annotation-exceptions", false, "ignore exceptions.kordon.io annotations on objects (owners may not exempt themselves)")
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletion(report.Formats()...))
	_ = cmd.RegisterFlagCompletionFunc("color", fixedCompletion("auto", "always", "never"))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", fixedCompletion("none", "info", "low", "medium", "high", "critical"))
	_ = cmd.MarkFlagFilename("exceptions", "yaml", "yml")
}

// prepare validates the flags and reads the exceptions files, before any
// work is done. frameworks are the frameworks the user selected, whose
// scores --min-score judges.
func (f *reportFlags) prepare(frameworks []string) error {
	if !slices.Contains(report.Formats(), f.output) {
		return usageErr(fmt.Errorf("--output %q: want one of %s", f.output, strings.Join(report.Formats(), ", ")))
	}
	switch f.color {
	case "auto", "always", "never":
	default:
		return usageErr(fmt.Errorf("--color %q: want auto, always or never", f.color))
	}
	sev, never, err := pipeline.ParseFailOn(f.failOn)
	if err != nil {
		return usageErr(err)
	}
	if f.minScore < 0 || f.minScore > 100 {
		return usageErr(fmt.Errorf("--min-score %v: want 0 to 100", f.minScore))
	}
	f.gate = pipeline.Gate{FailOn: sev, Never: never, MinScore: f.minScore, Frameworks: frameworks}
	// The configuration file's exceptions come first, then those of
	// --exceptions: an exception applies wherever it is written.
	f.list = nil
	files := f.exceptions
	if cfg := configFrom(ctxOf(f.cmd)).cfg; cfg != nil {
		f.list = append(f.list, cfg.Exceptions...)
		files = append(slices.Clone(cfg.ExceptionFiles), files...)
	}
	for _, file := range files {
		ex, err := finding.LoadExceptions(file)
		if err != nil {
			return usageErr(err)
		}
		f.list = append(f.list, ex...)
	}
	return nil
}

// options returns the pipeline options; cat resolves check aliases.
func (f *reportFlags) options(cat *rules.Catalogue) pipeline.Options {
	return pipeline.Options{Exceptions: f.list, UseAnnotations: !f.noAnnotations, Names: cat.Names}
}

// finish builds the report, writes it and returns the gate's verdict as the
// command's error (nil when clean).
func (f *reportFlags) finish(cmd *cobra.Command, cat *rules.Catalogue, in pipeline.Input, target string) error {
	rep := pipeline.Build(in, f.options(cat))
	out := cmd.OutOrStdout()
	color := wantColor(f.color, out)
	if f.outFile != "" {
		file, err := os.Create(f.outFile)
		if err != nil {
			return usageErr(fmt.Errorf("--output-file: %w", err))
		}
		defer file.Close()
		out, color = file, f.color == "always"
	}
	bw := bufio.NewWriter(out)
	wd, _ := os.Getwd()
	err := report.Write(bw, f.output, rep, report.Options{
		Color: color, Now: time.Now(), Width: terminalWidth(out), Target: target,
		Config:  configFrom(ctxOf(f.cmd)).source(),
		BaseDir: wd, Rules: ruleDocs(cat),
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return verdictErr(f.gate.Judge(rep))
}

// verdictErr turns a gate's verdict into the command's exit.
func verdictErr(v pipeline.Verdict) error {
	if v.Code == pipeline.ExitClean {
		return nil
	}
	var err error
	if v.Reason != "" {
		err = fmt.Errorf("%s", v.Reason)
	}
	return &exitError{code: v.Code, err: err}
}

func wantColor(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	file, ok := w.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

func terminalWidth(w io.Writer) int {
	if file, ok := w.(*os.File); ok {
		if width, _, err := term.GetSize(int(file.Fd())); err == nil && width > 0 {
			return width
		}
	}
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil {
		return c
	}
	return 0
}

// ruleDocs gives report formats that link or describe rules (SARIF, HTML)
// each check's description and first reference, and the formats that group
// findings by root cause (table, HTML) its cause, under every ID it has.
func ruleDocs(cat *rules.Catalogue) map[string]report.RuleDoc {
	rs := cat.Rules()
	out := make(map[string]report.RuleDoc, len(rs))
	causes := map[*rules.Cause]*report.Cause{}
	for _, r := range rs {
		doc := report.RuleDoc{Description: r.Description}
		if len(r.References) > 0 {
			doc.HelpURI = r.References[0]
		}
		if c, ok := cat.Cause(r.ID); ok {
			if causes[c] == nil {
				causes[c] = &report.Cause{ID: c.ID, Title: c.Title, Explanation: c.Explanation, Remediation: c.Remediation}
			}
			doc.Cause = causes[c]
		}
		for _, id := range r.IDs() {
			out[id] = doc
		}
	}
	return out
}
