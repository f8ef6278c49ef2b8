package main

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/waf/apischema"
	"github.com/kordon-dev/kordon/internal/waf/traffic"
)

func newWafReplayCmd() *cobra.Command {
	var specFile, unknown, format string
	cmd := &cobra.Command{
		Use:   "replay --openapi SPEC TRAFFIC...",
		Short: "Check recorded traffic against an OpenAPI specification, offline",
		Long: `Replay judges recorded HTTP requests (HAR files or Kordon's JSON Lines, as
kordon waf learn reads them) against an OpenAPI 3.0 or 3.1 specification, as
kordon waf serve --openapi would, without sending anything: a way to see
which real requests a specification would block before enforcing it.

Each request that would be blocked is reported with its file and line (or
HAR entry), route and violations. The exit code is 0 when none would be
blocked, 1 when some would, and 2 for unusable input (an invalid
specification, an unreadable file).`,
		Example: `  kordon waf replay --openapi openapi.yaml session.har
  kordon waf replay --openapi openapi.yaml --unknown-route log -o json traffic.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if specFile == "" {
				return usageErr(fmt.Errorf("--openapi SPEC is required"))
			}
			if format != "text" && format != "json" {
				return usageErr(fmt.Errorf("-o %s: want text or json", format))
			}
			data, err := readSpec(specFile)
			if err != nil {
				return usageErr(err)
			}
			schema, err := apischema.Load(data, specFile, apischema.Options{UnknownRoute: apischema.UnknownRoute(unknown)})
			if err != nil {
				return usageErr(err)
			}
			out := cmd.OutOrStdout()
			enc := json.NewEncoder(out)
			var total, blocked, logged, problems int
			for _, file := range args {
				index := 0
				err := readTraffic(cmd, file, func(r traffic.Record) error {
					index++
					total++
					req, err := recordRequest(cmd, r)
					if err != nil {
						problems++
						fmt.Fprintf(cmd.ErrOrStderr(), "kordon: warning: %s: request %d: %v\n", file, index, err)
						return nil
					}
					v := schema.Check(req, r.Body)
					if len(v.Violations) == 0 {
						return nil
					}
					if v.Block {
						blocked++
					} else {
						logged++
					}
					if format == "json" {
						return enc.Encode(struct {
							File    string `json:"file"`
							Request int    `json:"request"`
							Method  string `json:"method"`
							URL     string `json:"url"`
							apischema.Verdict
						}{file, index, r.Method, r.URL.String(), v})
					}
					action := "blocked"
					if !v.Block {
						action = "logged"
					}
					fmt.Fprintf(out, "%s: request %d: %s %s %s\n", file, index, r.Method, r.URL.RequestURI(), action)
					for _, vi := range v.Violations {
						where := vi.In
						if vi.Field != "" {
							where += " " + vi.Field
						}
						fmt.Fprintf(out, "  %s (%s): %s\n", vi.Kind, where, vi.Message)
					}
					return nil
				}, func(p *traffic.Problem) error {
					problems++
					fmt.Fprintln(cmd.ErrOrStderr(), "kordon: warning:", p)
					return nil
				})
				if err != nil {
					return usageErr(err)
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "kordon: %d requests: %d would be blocked, %d logged, %d unreadable\n", total, blocked, logged, problems)
			switch {
			case total == 0:
				return usageErr(fmt.Errorf("no request read from %d file(s)", len(args)))
			case problems > 0:
				return &exitError{code: exitUsage}
			case blocked > 0:
				return &exitError{code: exitFindings}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&specFile, "openapi", "", "OpenAPI 3.0 or 3.1 specification (YAML or JSON)")
	fl.StringVar(&unknown, "unknown-route", "block", "what a request for a route the specification lacks does: block or log")
	fl.StringVarP(&format, "output", "o", "text", "output format: text or json (one JSON object per request with violations)")
	return cmd
}

// readSpec reads an API specification, refusing what is not a regular
// file or larger than apischema.MaxSpecSize.
func readSpec(file string) ([]byte, error) {
	data, err := k8s.ReadRegularFile(file, apischema.MaxSpecSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return data, nil
}

// recordRequest makes the request a record describes, for judging.
func recordRequest(cmd *cobra.Command, r traffic.Record) (*http.Request, error) {
	req, err := http.NewRequestWithContext(cmd.Context(), r.Method, r.URL.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	return req, nil
}
