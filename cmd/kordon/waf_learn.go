package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/waf/apilearn"
	"github.com/kordon-dev/kordon/internal/waf/traffic"
)

func newWafLearnCmd() *cobra.Command {
	var opts apilearn.Options
	var outFile string
	cmd := &cobra.Command{
		Use:   "learn TRAFFIC...",
		Short: "Draft an OpenAPI specification from recorded traffic",
		Long: `Learn reads recorded HTTP requests and writes a draft OpenAPI 3.1
specification of the API they use: the start of a positive security model,
to review and then enforce with kordon waf serve --openapi.

TRAFFIC is a HAR file (exported by browsers' developer tools, mitmproxy,
Charles, Postman, k6…) or Kordon's JSON Lines format (docs/waf.md), or - for
standard input; several may be given. Requests are not kept, only
statistics, so traffic of any size can be learned.

What the draft holds:
  - routes, with identifiers in paths (numbers, UUIDs, hexadecimal strings,
    tokens) turned into parameters named after the segment before them
    (/pets/{petId}); a path position that takes more than --max-literals
    names becomes a parameter too;
  - query and header parameters, required when every request sent them,
    typed (integer, number, boolean, uuid, date, date-time, string), an
    enumeration for query values that took five or fewer values often;
    header values are never written (they may be keys);
  - JSON and form bodies as closed JSON Schemas (additionalProperties:
    false), a field required when every body had it, strings limited to
    twice the longest value seen (at least 64);
  - bearer or basic authentication when every request of an operation had it;
  - the statuses seen, and x-kordon-samples, the requests behind each
    operation.

Read the draft before enforcing it: what the clients did not do in the
recording is absent, so it is narrower than the API.`,
		Example: `  kordon waf learn --base-path /api/v1 session.har > openapi.yaml
  kordon waf learn traffic-*.jsonl --output-file openapi.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l := apilearn.New(opts)
			var problems int
			for _, file := range args {
				err := readTraffic(cmd, file, func(r traffic.Record) error {
					l.Add(r)
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
			st := l.Stats()
			if st.Learned == 0 {
				return usageErr(fmt.Errorf("no request learned from %d file(s) (%d requests read, %d unreadable): nothing to draft", len(args), st.Requests, problems))
			}
			out, err := l.YAML()
			if err != nil {
				return err
			}
			if err := writeTo(cmd.OutOrStdout(), outFile, out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "kordon: learned %d routes, %d operations from %d of %d requests\n", st.Routes, st.Operations, st.Learned, st.Requests)
			reasons := make([]string, 0, len(st.NotLearned))
			for r := range st.NotLearned {
				reasons = append(reasons, r)
			}
			sort.Strings(reasons)
			for _, r := range reasons {
				fmt.Fprintf(cmd.ErrOrStderr(), "kordon: %d requests not learned: %s\n", st.NotLearned[r], r)
			}
			if st.BodiesNotDescribed > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "kordon: %d bodies not described (not valid for their content type, or larger than the limit)\n", st.BodiesNotDescribed)
			}
			if problems > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "kordon: %d records could not be read (see the warnings above)\n", problems)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.BasePath, "base-path", "", "path the API is served under (such as /api/v1): the server URL of the draft; requests outside it are not learned")
	fl.StringVar(&opts.Title, "title", "Learned API", "info.title of the draft")
	fl.IntVar(&opts.MaxRoutes, "max-routes", 2000, "most routes learned; requests for more are counted and reported")
	fl.IntVar(&opts.MaxLiterals, "max-literals", 20, "distinct names one path position may take before it becomes a parameter")
	fl.StringVar(&outFile, "output-file", "", "write the draft to this file instead of standard output")
	return cmd
}

// readTraffic reads one traffic file (or - for standard input). Only
// regular files are read: a FIFO or a device is refused.
func readTraffic(cmd *cobra.Command, file string, fn func(traffic.Record) error, problem func(*traffic.Problem) error) error {
	var r io.Reader
	if file == "-" {
		r = cmd.InOrStdin()
	} else {
		f, err := k8s.OpenRegular(file)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		defer f.Close()
		r = f
	}
	return traffic.Read(r, file, fn, problem)
}
