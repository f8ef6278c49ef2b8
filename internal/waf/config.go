package waf

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Mode is what the engine does with a request the rules judge malicious.
type Mode string

// Modes.
const (
	// ModeBlock refuses requests (and responses) whose anomaly score
	// reaches the thresholds, with 403.
	ModeBlock Mode = "block"
	// ModeDetect evaluates and logs every rule and blocks nothing.
	ModeDetect Mode = "detect"
)

// Defaults.
const (
	DefaultParanoia          = 1
	DefaultInboundThreshold  = 5
	DefaultOutboundThreshold = 4
	// DefaultRequestBodyLimit is the largest request body inspected and
	// forwarded (larger ones get 413).
	DefaultRequestBodyLimit = 10 << 20
	// DefaultResponseBodyLimit is how much of a response body is
	// inspected; the rest is passed on uninspected.
	DefaultResponseBodyLimit = 512 << 10
	// DefaultInspectTimeout bounds the engine time of a request's
	// inspection (a benign request takes about 2 ms of CPU).
	DefaultInspectTimeout = 5 * time.Second
	// DefaultMaxOverdue is how many overrunning inspections may still be
	// running before new requests are refused uninspected.
	DefaultMaxOverdue = 4
	// DefaultGCPercent is the Go garbage collector's GOGC for a process
	// serving the engine (kordon waf serve --gc-percent): CRS allocates
	// about 230 KB per request over a live heap of about 26 MB, so Go's
	// default (100) collects every hundred requests or so; 400 spends
	// less CPU per request for about 100 MB more heap (docs/benchmarks.md,
	// WAF).
	DefaultGCPercent = 400
)

// Config configures an Engine. The zero value of a field means its
// default.
type Config struct {
	// Paranoia is CRS's blocking and detection paranoia level, 1 to 4.
	Paranoia int
	// InboundThreshold and OutboundThreshold are CRS's anomaly score
	// thresholds.
	InboundThreshold, OutboundThreshold int
	// Mode is block (default) or detect.
	Mode Mode
	// TestMode applies CRS's regression-test settings (rule 900005 of
	// CRS's tests/regression/README.md, but not its engine mode) and
	// makes the proxy report matched rule IDs in a response header. A
	// testing aid, never for production.
	TestMode bool
	// RequestBodyLimit and ResponseBodyLimit bound the bodies inspected.
	RequestBodyLimit, ResponseBodyLimit int
	// Exclusions remove CRS rules on chosen routes.
	Exclusions []Exclusion `json:"exclusions"`
	// InspectTimeout bounds the time the engine spends on a request's
	// headers, body and stages together, and again on a response body.
	// Coraza cannot be interrupted: at the bound the request is treated as
	// an engine failure (KOR-WAF-003: refused with 503, or passed with
	// fail-open) and the evaluation finishes in the background.
	InspectTimeout time.Duration
	// MaxOverdue is how many such background evaluations may run at
	// once; beyond it new requests fail the same way without being
	// inspected, which bounds the CPU an attacker can make the engine
	// burn with expensive requests.
	MaxOverdue int
	// NoScreen evaluates every CRS rule in Coraza for every request.
	// By default Kordon's rule screen first proves, for most requests,
	// that none of CRS's attack-detection rules can match, and Coraza then
	// runs without them (the verdict is the same; docs/waf.md): NoScreen
	// is slower and meant for diagnosis.
	NoScreen bool

	// screen replaces the screen New builds (tests).
	screen Screen
	// baseline leaves out the engine's speed settings (directives): the
	// reference the equivalence test and the benchmarks compare with.
	baseline bool
	// extra are directives added after the speed settings (tests).
	extra string
}

// Exclusion removes CRS rules for requests whose path starts with
// PathPrefix (and, when Methods is set, whose method is one of them): the
// usual cure for a false positive on one route.
type Exclusion struct {
	PathPrefix string   `json:"pathPrefix"`
	Methods    []string `json:"methods,omitempty"`
	// Rules are CRS rule IDs ("942100") or inclusive ranges
	// ("942000-942999").
	Rules []string `json:"rules"`
}

// FileConfig is the YAML configuration file of kordon waf serve --config.
type FileConfig struct {
	Exclusions []Exclusion `json:"exclusions"`
}

// LoadFile reads a configuration file. Errors name the file and the
// entry at fault.
func LoadFile(path string) (*FileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fc FileConfig
	if err := yaml.UnmarshalStrict(data, &fc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, e := range fc.Exclusions {
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("%s: exclusions[%d]: %w", path, i, err)
		}
	}
	return &fc, nil
}

func (e Exclusion) validate() error {
	if !strings.HasPrefix(e.PathPrefix, "/") {
		return fmt.Errorf("pathPrefix %q: want a path starting with /", e.PathPrefix)
	}
	if strings.ContainsAny(e.PathPrefix, "\"'\\ \n\r\t") {
		return fmt.Errorf("pathPrefix %q: quotes, backslashes and white space are not allowed", e.PathPrefix)
	}
	for _, m := range e.Methods {
		if m == "" || strings.ToUpper(m) != m || strings.ContainsAny(m, "\"'\\ |") {
			return fmt.Errorf("methods: %q is not an upper-case HTTP method", m)
		}
	}
	if len(e.Rules) == 0 {
		return errors.New("rules: name at least one CRS rule ID or range")
	}
	for _, r := range e.Rules {
		lo, hi, ok := strings.Cut(r, "-")
		if _, err := strconv.ParseUint(lo, 10, 32); err != nil {
			return fmt.Errorf("rules: %q is not a rule ID or a range like 942000-942999", r)
		}
		if ok {
			if _, err := strconv.ParseUint(hi, 10, 32); err != nil {
				return fmt.Errorf("rules: %q is not a rule ID or a range like 942000-942999", r)
			}
		}
	}
	return nil
}

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Paranoia == 0 {
		c.Paranoia = DefaultParanoia
	}
	if c.Paranoia < 1 || c.Paranoia > 4 {
		return c, fmt.Errorf("paranoia %d: want 1 to 4", c.Paranoia)
	}
	if c.InboundThreshold == 0 {
		c.InboundThreshold = DefaultInboundThreshold
	}
	if c.OutboundThreshold == 0 {
		c.OutboundThreshold = DefaultOutboundThreshold
	}
	if c.InboundThreshold < 1 || c.OutboundThreshold < 1 {
		return c, fmt.Errorf("anomaly thresholds %d/%d: want positive numbers", c.InboundThreshold, c.OutboundThreshold)
	}
	switch c.Mode {
	case "":
		c.Mode = ModeBlock
	case ModeBlock, ModeDetect:
	default:
		return c, fmt.Errorf("mode %q: want block or detect", c.Mode)
	}
	if c.RequestBodyLimit == 0 {
		c.RequestBodyLimit = DefaultRequestBodyLimit
	}
	if c.ResponseBodyLimit == 0 {
		c.ResponseBodyLimit = DefaultResponseBodyLimit
	}
	if c.RequestBodyLimit < 0 || c.ResponseBodyLimit < 0 {
		return c, errors.New("body limits: want positive sizes")
	}
	if c.InspectTimeout == 0 {
		c.InspectTimeout = DefaultInspectTimeout
	}
	if c.MaxOverdue == 0 {
		c.MaxOverdue = DefaultMaxOverdue
	}
	if c.InspectTimeout < 0 || c.MaxOverdue < 0 {
		return c, errors.New("inspection bound: want a positive time and number of overdue inspections")
	}
	for i, e := range c.Exclusions {
		if err := e.validate(); err != nil {
			return c, fmt.Errorf("exclusions[%d]: %w", i, err)
		}
	}
	return c, nil
}
