package intel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
)

// Feed is one configured source of indicators: a file, or a URL (fetched
// only because it is configured).
type Feed struct {
	Name     string
	File     string
	URL      string
	Format   string
	Severity finding.Severity
	// Refresh is how often the feed is read again; 0 reads it once.
	Refresh time.Duration
}

// ParseFeed reads a feed from its flag form, comma-separated key=value
// pairs: name=abuse,url=https://example/ips.txt,format=list,severity=high,refresh=1h
// (file= instead of url=; format defaults to list, severity to high,
// refresh to 0 for files and 1h for URLs).
func ParseFeed(s string) (Feed, error) {
	f := Feed{Format: FormatList, Severity: finding.High, Refresh: -1}
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || v == "" {
			return f, fmt.Errorf("feed %q: %q is not key=value", s, kv)
		}
		switch k {
		case "name":
			f.Name = v
		case "file":
			f.File = v
		case "url":
			if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
				return f, fmt.Errorf("feed %q: url %q: want http:// or https://", s, v)
			}
			f.URL = v
		case "format":
			f.Format = v
		case "severity":
			sev, err := finding.ParseSeverity(v)
			if err != nil {
				return f, fmt.Errorf("feed %q: %w", s, err)
			}
			f.Severity = sev
		case "refresh":
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Minute {
				return f, fmt.Errorf("feed %q: refresh %q: want a duration of at least 1m", s, v)
			}
			f.Refresh = d
		default:
			return f, fmt.Errorf("feed %q: unknown key %q (want name, file, url, format, severity, refresh)", s, k)
		}
	}
	switch {
	case f.Name == "":
		return f, fmt.Errorf("feed %q: name missing", s)
	case (f.File == "") == (f.URL == ""):
		return f, fmt.Errorf("feed %q: give one of file= or url=", s)
	}
	if _, err := Load(strings.NewReader(""), f.Name, f.Format, f.Severity); err != nil && strings.Contains(err.Error(), "want one of") {
		return f, err
	}
	if f.Refresh < 0 {
		f.Refresh = 0
		if f.URL != "" {
			f.Refresh = time.Hour
		}
	}
	return f, nil
}

// maxFeedBytes bounds one feed read.
const maxFeedBytes = 512 << 20

// Read reads the feed once.
func (f Feed) Read(ctx context.Context, client *http.Client) (*Loaded, error) {
	var r io.Reader
	if f.File != "" {
		fh, err := os.Open(f.File)
		if err != nil {
			return nil, fmt.Errorf("feed %s: %w", f.Name, err)
		}
		defer fh.Close()
		r = fh
	} else {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
		if err != nil {
			return nil, fmt.Errorf("feed %s: %w", f.Name, err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("feed %s: %w", f.Name, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("feed %s: %s: %s", f.Name, f.URL, resp.Status)
		}
		r = resp.Body
	}
	lr := &io.LimitedReader{R: r, N: maxFeedBytes + 1}
	l, err := Load(lr, f.Name, f.Format, f.Severity)
	if err != nil {
		return nil, err
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("feed %s: over %d bytes", f.Name, maxFeedBytes)
	}
	return l, nil
}

// Feeds keeps an Enricher's set current: it reads every feed, then each
// again when its refresh interval has passed, and replaces the set with
// the union of the latest good read of each feed (a feed that fails keeps
// its previous indicators and is tried again at its next refresh). Load
// and Run must not be called concurrently.
type Feeds struct {
	Feeds    []Feed
	Enricher *Enricher
	Client   *http.Client
	Log      *slog.Logger

	latest map[string][]Indicator // the last good read of each feed
	last   map[string]time.Time   // when each feed was last read
}

// Load reads every feed once and replaces the set; it returns the errors
// of the feeds that failed (joined), having loaded the others.
func (fs *Feeds) Load(ctx context.Context) error {
	_, err := fs.round(ctx, time.Now(), true)
	return err
}

func (fs *Feeds) round(ctx context.Context, now time.Time, all bool) (bool, error) {
	if fs.latest == nil {
		fs.latest, fs.last = map[string][]Indicator{}, map[string]time.Time{}
	}
	latest, last := fs.latest, fs.last
	client := fs.Client
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Minute}
	}
	var errs []error
	changed := false
	for _, f := range fs.Feeds {
		t, seen := last[f.Name]
		if !all && seen && (f.Refresh == 0 || now.Sub(t) < f.Refresh) {
			continue
		}
		last[f.Name] = now
		l, err := f.Read(ctx, client)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if fs.Log != nil {
			fs.Log.Info("intel feed loaded", "feed", f.Name, "indicators", len(l.Indicators), "skipped", l.Skipped)
			for _, u := range l.Unsupported {
				fs.Log.Warn("intel feed entry left out", "feed", f.Name, "entry", u)
			}
		}
		latest[f.Name] = l.Indicators
		changed = true
	}
	if changed {
		s := NewSet()
		for _, f := range fs.Feeds {
			for _, ind := range latest[f.Name] {
				s.Add(ind)
			}
		}
		fs.Enricher.Replace(s)
	}
	return changed, errors.Join(errs...)
}

// Run refreshes the feeds on their schedules (checked every minute; a
// feed never read yet is read at once) until ctx is done, logging failures
// (the previous indicators stay in use).
func (fs *Feeds) Run(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if _, err := fs.round(ctx, time.Now(), false); err != nil && ctx.Err() == nil && fs.Log != nil {
			fs.Log.Error("intel feeds", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
