package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/store/httpapi"
	"github.com/kordon-dev/kordon/internal/store/postgres"
	"github.com/kordon-dev/kordon/internal/store/query"
)

type queryFlags struct {
	db        string
	server    string
	tokenFile string
	since     string
	from, to  string
	groupBy   []string
	count     bool
	limit     int
	output    string
	explain   bool
	timeout   time.Duration
}

func newQueryCmd() *cobra.Command {
	f := &queryFlags{}
	cmd := &cobra.Command{
		Use:   "query [FILTER]",
		Short: "Query the stored findings and events",
		Long: `query runs a query on a kordon server's store (--server) or on its store
directly (--db: the SQLite file, or the postgres:// URL of its PostgreSQL
server). FILTER is a CEL expression over a record's fields
(docs/server.md lists them), for example

  engine == "admission" && action == "denied" && severityRank >= 3
  resource.namespace in ["shop", "pay"] && ruleID.startsWith("KOR-POD")
  engine == "flow" && attributes.verdict == "DROPPED"

Without FILTER every record matches. --since or --from/--to bound the time;
--count counts instead of listing, and --group-by counts by fields (type,
engine, action, ruleID, severity, resource.namespace, resource.kind,
resource.name, attributes.KEY). Conditions on time, type, engine, action,
ruleID, severity and the resource's namespace, kind and name joined by &&
are answered from the store's indexes; --explain shows which.`,
		Example: `  kordon query --db kordon.db --since 24h --count 'resource.namespace == "shop"'
  kordon query --server https://kordon:7443 --since 7d --group-by ruleID,severity 'type == "finding"'
  kordon query --db kordon.db --since 1h -o json 'engine == "waf"'
  kordon query --db "postgres://kordon@db:5432/kordon?sslmode=require" --since 24h --group-by engine,action`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			filter := ""
			if len(args) == 1 {
				filter = args[0]
			}
			return runQuery(cmd, f, filter)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.db, "db", "", dbHelp)
	fl.StringVar(&f.server, "server", "", "URL of a kordon server (token from --token-file or $"+tokenEnv+")")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the server's API token")
	fl.StringVar(&f.since, "since", "", "only records of the last DURATION (24h, 90m; d for days: 7d)")
	fl.StringVar(&f.from, "from", "", "only records at or after this time (RFC 3339)")
	fl.StringVar(&f.to, "to", "", "only records before this time (RFC 3339)")
	fl.StringSliceVar(&f.groupBy, "group-by", nil, "count by these fields (comma-separated or repeated)")
	fl.BoolVar(&f.count, "count", false, "count the matching records instead of listing them")
	fl.IntVar(&f.limit, "limit", query.DefaultLimit, fmt.Sprintf("most records to list (at most %d)", query.MaxLimit))
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table or json (docs/server.md)")
	fl.BoolVar(&f.explain, "explain", false, "print which conditions the store answers from its indexes")
	fl.DurationVar(&f.timeout, "timeout", time.Minute, "longest the query may run")
	return cmd
}

// parseSince reads a Go duration, also accepting whole days ("7d").
func parseSince(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err == nil && n > 0 && fmt.Sprint(n) == days {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--since %q: want a positive duration such as 24h, 90m or 7d", s)
	}
	return d, nil
}

func runQuery(cmd *cobra.Command, f *queryFlags, filter string) error {
	if (f.db == "") == (f.server == "") {
		return usageErr(errors.New("give one of --db FILE or --server URL"))
	}
	if f.output != "table" && f.output != "json" {
		return usageErr(fmt.Errorf("--output %q: want table or json", f.output))
	}
	req := httpapi.QueryRequest{Spec: query.Spec{Filter: filter, GroupBy: f.groupBy, Count: f.count, Limit: f.limit}}
	now := time.Now().UTC()
	for _, p := range []struct {
		name, val string
		dst       *time.Time
	}{{"from", f.from, &req.From}, {"to", f.to, &req.To}} {
		if p.val == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, p.val)
		if err != nil {
			return usageErr(fmt.Errorf("--%s: %w", p.name, err))
		}
		*p.dst = t
	}
	if f.since != "" {
		if f.from != "" {
			return usageErr(errors.New("--since and --from: give one"))
		}
		d, err := parseSince(f.since)
		if err != nil {
			return usageErr(err)
		}
		req.From = now.Add(-d)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	var res *query.Result
	if f.server != "" {
		tok, err := readToken(f.tokenFile)
		if err != nil {
			return err
		}
		cl := &httpapi.Client{BaseURL: f.server, Token: tok}
		if res, err = cl.Query(ctx, req); err != nil {
			return err
		}
	} else {
		if !postgres.IsURL(f.db) {
			if _, err := os.Stat(f.db); err != nil {
				return usageErr(fmt.Errorf("--db: %w", err))
			}
		}
		env, err := query.NewEnv()
		if err != nil {
			return err
		}
		q, err := query.Compile(env, req.Spec)
		if err != nil {
			return usageErr(err)
		}
		st, err := openStore(ctx, f.db)
		if err != nil {
			return usageErr(fmt.Errorf("--db: %w", err))
		}
		defer st.Close()
		if res, err = q.Run(ctx, st); err != nil {
			return err
		}
	}
	out := cmd.OutOrStdout()
	if f.output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(res)
	}
	writeQueryTable(out, res, req.Spec, f.explain)
	if res.EvalErrors > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: the filter failed on %d records, which did not match (first: %s)\n", res.EvalErrors, res.FirstEvalError)
	}
	return nil
}

func writeQueryTable(out io.Writer, res *query.Result, spec query.Spec, explain bool) {
	if explain {
		fmt.Fprintf(out, "pushed down: %s\n", strings.Join(res.Plan.PushedDown, " AND "))
		fmt.Fprintf(out, "CEL on each record: %v; grouped by the store: %v\n\n", res.Plan.Residual, res.Plan.NativeGroups)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	switch {
	case len(spec.GroupBy) > 0:
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(spec.GroupBy, "\t"))+"\tCOUNT")
		for _, g := range res.Groups {
			for _, k := range spec.GroupBy {
				v := g.Key[k]
				if v == "" {
					v = "-"
				}
				fmt.Fprint(tw, v, "\t")
			}
			fmt.Fprintln(tw, g.Count)
		}
		fmt.Fprintf(tw, "total\t%s%d\n", strings.Repeat("\t", len(spec.GroupBy)-1), res.Count)
	case spec.Count:
		fmt.Fprintln(tw, res.Count)
	default:
		fmt.Fprintln(tw, "TIME\tTYPE\tENGINE\tACTION\tSEVERITY\tRULE\tRESOURCE\tMESSAGE")
		for _, r := range res.Records {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Time.Format(time.RFC3339), r.Type, r.Engine, dash(r.Action),
				r.Severity, dash(r.RuleID), r.Resource.String(), oneLine(r.Message))
		}
		if res.Truncated {
			fmt.Fprintf(tw, "(more records match: raise --limit or narrow the filter)\n")
		}
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
