package intel

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"

	"github.com/kordon-dev/kordon/internal/finding"
)

// Feed formats.
const (
	FormatList = "list" // one IP, CIDR, domain or URL a line; # comments
	FormatSTIX = "stix" // a STIX 2.1 bundle
	FormatMISP = "misp" // MISP event JSON (one event, a list, or {"response": [...]})
)

// Formats lists the feed formats.
func Formats() []string { return []string{FormatList, FormatSTIX, FormatMISP} }

// Loaded is what one feed file held.
type Loaded struct {
	Indicators []Indicator
	// Unsupported describes entries left out (a STIX pattern beyond the
	// simple forms, a MISP attribute type that is not an address or name),
	// at most maxNotes of them; Skipped counts them all.
	Unsupported []string
	Skipped     int
}

const maxNotes = 20

func (l *Loaded) skip(format string, args ...any) {
	l.Skipped++
	if len(l.Unsupported) < maxNotes {
		l.Unsupported = append(l.Unsupported, fmt.Sprintf(format, args...))
	}
}

// Load reads a feed of the given format. Every indicator gets the feed's
// name and severity (MISP threat levels override the severity). Errors
// name the feed and, for lists, the line.
func Load(r io.Reader, feed, format string, sev finding.Severity) (*Loaded, error) {
	switch format {
	case FormatList:
		return loadList(r, feed, sev)
	case FormatSTIX:
		return loadSTIX(r, feed, sev)
	case FormatMISP:
		return loadMISP(r, feed, sev)
	}
	return nil, fmt.Errorf("feed %s: format %q: want one of %s", feed, format, strings.Join(Formats(), ", "))
}

var domainRE = regexp.MustCompile(`^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$`)

// classify returns the indicator type of a plain value, or "".
func classify(v string) string {
	switch {
	case strings.Contains(v, "://"):
		return TypeURL
	case strings.Contains(v, "/"):
		if _, err := netip.ParsePrefix(v); err == nil {
			return TypeCIDR
		}
		return ""
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return TypeIP
	}
	if domainRE.MatchString(normDomain(v)) {
		return TypeDomain
	}
	return ""
}

func loadList(r io.Reader, feed string, sev finding.Severity) (*Loaded, error) {
	out := &Loaded{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		v := strings.TrimSpace(sc.Text())
		if i := strings.IndexAny(v, "#;"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		if v == "" {
			continue
		}
		typ := classify(v)
		if typ == "" {
			out.skip("%s:%d: %q is not an IP address, CIDR range, domain or URL", feed, line, v)
			continue
		}
		out.Indicators = append(out.Indicators, Indicator{Type: typ, Value: v, Feed: feed, Severity: sev})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("feed %s: line %d: %w", feed, line+1, err)
	}
	return out, nil
}

// stixComparison is one comparison of the simple STIX patterns Kordon
// takes: [ipv4-addr:value = '198.51.100.7'], ipv6-addr, domain-name, url.
var stixComparison = regexp.MustCompile(`^\[\s*(ipv4-addr|ipv6-addr|domain-name|url):value\s*=\s*'((?:[^'\\]|\\.)*)'\s*\]$`)

// stixPattern reads a pattern of simple comparisons joined by OR.
func stixPattern(p string) ([]Indicator, bool) {
	var out []Indicator
	for part := range strings.SplitSeq(p, " OR ") {
		m := stixComparison.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			return nil, false
		}
		v := strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(m[2])
		var typ string
		switch m[1] {
		case "ipv4-addr", "ipv6-addr":
			typ = TypeIP
			if strings.Contains(v, "/") {
				typ = TypeCIDR
			}
		case "domain-name":
			typ = TypeDomain
		case "url":
			typ = TypeURL
		}
		if typ != TypeURL && classify(v) != typ {
			return nil, false
		}
		out = append(out, Indicator{Type: typ, Value: v})
	}
	return out, len(out) > 0
}

func loadSTIX(r io.Reader, feed string, sev finding.Severity) (*Loaded, error) {
	var bundle struct {
		Type    string `json:"type"`
		Objects []struct {
			Type        string `json:"type"`
			ID          string `json:"id"`
			Name        string `json:"name"`
			Pattern     string `json:"pattern"`
			PatternType string `json:"pattern_type"`
			Revoked     bool   `json:"revoked"`
		} `json:"objects"`
	}
	if err := json.NewDecoder(r).Decode(&bundle); err != nil {
		return nil, fmt.Errorf("feed %s: STIX bundle: %w", feed, err)
	}
	if bundle.Type != "bundle" {
		return nil, fmt.Errorf("feed %s: STIX: type %q, want bundle", feed, bundle.Type)
	}
	out := &Loaded{}
	for _, o := range bundle.Objects {
		if o.Type != "indicator" || o.Revoked {
			continue
		}
		if o.PatternType != "" && o.PatternType != "stix" {
			out.skip("%s: %s: pattern type %q", feed, o.ID, o.PatternType)
			continue
		}
		inds, ok := stixPattern(o.Pattern)
		if !ok {
			out.skip("%s: %s: pattern %q is not a simple comparison of ipv4-addr, ipv6-addr, domain-name or url values", feed, o.ID, o.Pattern)
			continue
		}
		for _, ind := range inds {
			ind.Feed, ind.Severity, ind.Description = feed, sev, o.Name
			out.Indicators = append(out.Indicators, ind)
		}
	}
	return out, nil
}

type mispEvent struct {
	Info          string          `json:"info"`
	ThreatLevelID json.RawMessage `json:"threat_level_id"`
	Attribute     []mispAttribute `json:"Attribute"`
	Object        []struct {
		Attribute []mispAttribute `json:"Attribute"`
	} `json:"Object"`
}

type mispAttribute struct {
	Type    string `json:"type"`
	Value   string `json:"value"`
	ToIDS   *bool  `json:"to_ids"`
	Comment string `json:"comment"`
}

func loadMISP(r io.Reader, feed string, sev finding.Severity) (*Loaded, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("feed %s: %w", feed, err)
	}
	var events []mispEvent
	var one struct {
		Event    *mispEvent `json:"Event"`
		Response []struct {
			Event mispEvent `json:"Event"`
		} `json:"response"`
	}
	var list []struct {
		Event mispEvent `json:"Event"`
	}
	switch {
	case json.Unmarshal(data, &one) == nil && (one.Event != nil || one.Response != nil):
		if one.Event != nil {
			events = append(events, *one.Event)
		}
		for _, e := range one.Response {
			events = append(events, e.Event)
		}
	case json.Unmarshal(data, &list) == nil:
		for _, e := range list {
			events = append(events, e.Event)
		}
	default:
		return nil, fmt.Errorf("feed %s: MISP: want {\"Event\": ...}, {\"response\": [...]} or a list of {\"Event\": ...}", feed)
	}
	out := &Loaded{}
	for _, e := range events {
		esev := sev
		switch strings.Trim(string(e.ThreatLevelID), `"`) {
		case "1":
			esev = finding.High
		case "2":
			esev = finding.Medium
		case "3":
			esev = finding.Low
		}
		attrs := e.Attribute
		for _, o := range e.Object {
			attrs = append(attrs, o.Attribute...)
		}
		for _, a := range attrs {
			if a.ToIDS != nil && !*a.ToIDS {
				continue // MISP's flag for values not meant for detection
			}
			v := a.Value
			var typ string
			switch a.Type {
			case "ip-src", "ip-dst":
				typ = classify(v)
			case "ip-src|port", "ip-dst|port":
				v, _, _ = strings.Cut(v, "|")
				typ = classify(v)
			case "domain", "hostname":
				typ = TypeDomain
			case "domain|ip":
				d, ip, _ := strings.Cut(v, "|")
				out.Indicators = append(out.Indicators, Indicator{Type: TypeIP, Value: ip, Feed: feed, Severity: esev, Description: e.Info})
				v, typ = d, TypeDomain
			case "url":
				typ = TypeURL
			default:
				out.skip("%s: MISP attribute type %q (%s)", feed, a.Type, a.Value)
				continue
			}
			if typ == "" || (typ != TypeURL && classify(v) != typ && !(typ == TypeIP && classify(v) == TypeCIDR)) {
				out.skip("%s: MISP %s value %q is not valid", feed, a.Type, a.Value)
				continue
			}
			out.Indicators = append(out.Indicators, Indicator{Type: typ, Value: v, Feed: feed, Severity: esev, Description: e.Info})
		}
	}
	return out, nil
}
