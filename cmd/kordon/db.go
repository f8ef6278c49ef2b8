package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kordon-dev/kordon/internal/image/dbcache"
)

type dbFlags struct {
	cacheDir   string
	ecosystems []string
	baseURL    string
	offline    bool
	timeout    time.Duration
}

func (f *dbFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.cacheDir, "cache-dir", "", "folder of the downloaded vulnerability data (default $XDG_CACHE_HOME/kordon/osv)")
}

func (f *dbFlags) dir() (string, error) {
	if f.cacheDir != "" {
		return f.cacheDir, nil
	}
	return dbcache.DefaultDir()
}

func newDBCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Download and inspect the vulnerability data kordon image scan reads",
		Long: `kordon image scan matches packages against OSV records offline. kordon db
update downloads osv.dev's per-ecosystem zip files into a cache folder that
image scan reads when no --db is given; kordon db status shows their age.

See docs/image.md.`,
	}
	cmd.AddCommand(newDBUpdateCmd(), newDBStatusCmd())
	return cmd
}

func newDBUpdateCmd() *cobra.Command {
	f := &dbFlags{}
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Download osv.dev's vulnerability zip files into the cache",
		Long: `Download BASE/ECOSYSTEM/all.zip for each ecosystem into the cache folder. A
copy is downloaded again only when the server has a newer one; a failed or
corrupt download never replaces the cached copy. With --offline nothing is
downloaded and the cache's status is shown.

Exit codes: 0 every ecosystem is up to date; 2 one or more failed (the
others are still updated).`,
		Example: `  kordon db update
  kordon db update --ecosystem Debian --ecosystem Go
  kordon db update --url https://mirror.internal/osv --cache-dir /var/cache/kordon/osv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDBUpdate(cmd, f) },
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.ecosystems, "ecosystem", nil, "ecosystem to download (repeatable; default "+strings.Join(dbcache.DefaultEcosystems, ", ")+")")
	fl.StringVar(&f.baseURL, "url", dbcache.DefaultBaseURL, "base URL of the per-ecosystem zip files")
	fl.BoolVar(&f.offline, "offline", false, "do not use the network: show the cache's status")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "give up on the whole download after this long")
	return cmd
}

func newDBStatusCmd() *cobra.Command {
	f := &dbFlags{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the cached vulnerability data and its age",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := f.dir()
			if err != nil {
				return err
			}
			return printDBStatus(cmd.OutOrStdout(), dir)
		},
	}
	f.register(cmd)
	return cmd
}

func runDBUpdate(cmd *cobra.Command, f *dbFlags) error {
	dir, err := f.dir()
	if err != nil {
		return err
	}
	if f.offline {
		return printDBStatus(cmd.OutOrStdout(), dir)
	}
	ecos := f.ecosystems
	if len(ecos) == 0 {
		ecos = dbcache.DefaultEcosystems
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client := &http.Client{Timeout: f.timeout}
	entries, errs := dbcache.Update(ctx, client, f.baseURL, dir, ecos)
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ECOSYSTEM\tSIZE\tAGE\t")
	for _, e := range entries {
		state := "up to date"
		if e.Updated {
			state = "downloaded"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.Ecosystem, size(e.Size), age(time.Since(e.Modified)), state)
	}
	w.Flush()
	fmt.Fprintf(cmd.OutOrStdout(), "cache: %s\n", dir)
	if len(errs) > 0 {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Error())
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("db update: %s", strings.Join(msgs, "; "))}
	}
	return nil
}

func printDBStatus(out io.Writer, dir string) error {
	entries, err := dbcache.Status(dir)
	if err != nil {
		return fmt.Errorf("no vulnerability data in %s (run kordon db update): %w", dir, err)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ECOSYSTEM\tSIZE\tAGE")
	for _, e := range entries {
		fmt.Fprintf(w, "%s\t%s\t%s\n", e.Ecosystem, size(e.Size), age(time.Since(e.Modified)))
	}
	w.Flush()
	fmt.Fprintf(out, "cache: %s\n", dir)
	return nil
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
