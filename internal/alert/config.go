package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"

	"sigs.k8s.io/yaml"

	"github.com/kordon-dev/kordon/internal/k8s"
	"github.com/kordon-dev/kordon/internal/store"
	"github.com/kordon-dev/kordon/internal/store/query"
)

// Config is the alerts file of `kordon server --alerts` (docs/server.md).
type Config struct {
	Rules     []RuleSpec       `json:"rules"`
	Notifiers []NotifierConfig `json:"notifiers"`
}

// NotifierConfig configures one notifier: exactly one field is set.
type NotifierConfig struct {
	Webhook *struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers,omitempty"`
	} `json:"webhook,omitempty"`
	Slack *struct {
		URL string `json:"url"`
	} `json:"slack,omitempty"`
	Teams *struct {
		URL string `json:"url"`
	} `json:"teams,omitempty"`
	Email *struct {
		Address  string   `json:"address"`
		From     string   `json:"from"`
		To       []string `json:"to"`
		Username string   `json:"username,omitempty"`
		// PasswordFile holds the SMTP password (kept out of the alerts file).
		PasswordFile  string `json:"passwordFile,omitempty"`
		InsecureNoTLS bool   `json:"insecureNoTLS,omitempty"`
	} `json:"email,omitempty"`
	Kafka *struct {
		Brokers []string `json:"brokers"`
		Topic   string   `json:"topic"`
	} `json:"kafka,omitempty"`
	PolicyReport *struct {
		// Kubeconfig and Context choose the cluster (default: in-cluster,
		// then $KUBECONFIG or ~/.kube/config).
		Kubeconfig string `json:"kubeconfig,omitempty"`
		Context    string `json:"context,omitempty"`
		MaxResults int    `json:"maxResults,omitempty"`
	} `json:"policyReport,omitempty"`
	Syslog *struct {
		Network  string `json:"network"`
		Address  string `json:"address"`
		Format   string `json:"format,omitempty"`
		Facility int    `json:"facility,omitempty"`
	} `json:"syslog,omitempty"`
}

// LoadConfig reads an alerts file (YAML or JSON; unknown fields are
// errors) and builds its rules and notifiers.
func LoadConfig(path string, env *query.Env) (*Engine, []Notifier, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	e, err := NewEngine(env, c.Rules)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var ns []Notifier
	for i, n := range c.Notifiers {
		set := 0
		for _, p := range []bool{n.Webhook != nil, n.Slack != nil, n.Teams != nil, n.Email != nil, n.Kafka != nil, n.PolicyReport != nil, n.Syslog != nil} {
			if p {
				set++
			}
		}
		if set != 1 {
			return nil, nil, fmt.Errorf("%s: notifiers[%d]: set exactly one of webhook, slack, teams, email, kafka, policyReport, syslog", path, i)
		}
		switch {
		case n.Slack != nil:
			if n.Slack.URL == "" {
				return nil, nil, fmt.Errorf("%s: notifiers[%d].slack.url: missing", path, i)
			}
			ns = append(ns, &Slack{URL: n.Slack.URL})
		case n.Teams != nil:
			if n.Teams.URL == "" {
				return nil, nil, fmt.Errorf("%s: notifiers[%d].teams.url: missing", path, i)
			}
			ns = append(ns, &Teams{URL: n.Teams.URL})
		case n.Email != nil:
			m := n.Email
			if m.Address == "" || m.From == "" || len(m.To) == 0 {
				return nil, nil, fmt.Errorf("%s: notifiers[%d].email: address, from and to are required", path, i)
			}
			if _, _, err := net.SplitHostPort(m.Address); err != nil {
				return nil, nil, fmt.Errorf("%s: notifiers[%d].email.address: %w", path, i, err)
			}
			e := &Email{Address: m.Address, From: m.From, To: m.To, Username: m.Username, InsecureNoTLS: m.InsecureNoTLS}
			if m.PasswordFile != "" {
				pw, err := os.ReadFile(m.PasswordFile)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: notifiers[%d].email.passwordFile: %w", path, i, err)
				}
				e.Password = strings.TrimSpace(string(pw))
			}
			ns = append(ns, e)
		case n.PolicyReport != nil:
			pr := n.PolicyReport
			cc, err := k8s.LoadClientConfig(k8s.ClientOptions{Kubeconfig: pr.Kubeconfig, Context: pr.Context, InClusterFirst: true})
			if err != nil {
				return nil, nil, fmt.Errorf("%s: notifiers[%d].policyReport: %w", path, i, err)
			}
			p, err := NewPolicyReport(cc.REST)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: notifiers[%d]: %w", path, i, err)
			}
			p.MaxResults = pr.MaxResults
			ns = append(ns, p)
		case n.Kafka != nil:
			if len(n.Kafka.Brokers) == 0 || n.Kafka.Topic == "" {
				return nil, nil, fmt.Errorf("%s: notifiers[%d].kafka: brokers and topic are required", path, i)
			}
			k, err := NewKafka(n.Kafka.Brokers, n.Kafka.Topic)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: notifiers[%d]: %w", path, i, err)
			}
			ns = append(ns, k)
		case n.Webhook != nil:
			if n.Webhook.URL == "" {
				return nil, nil, fmt.Errorf("%s: notifiers[%d].webhook.url: missing", path, i)
			}
			ns = append(ns, &Webhook{URL: n.Webhook.URL, Headers: n.Webhook.Headers})
		default:
			s := n.Syslog
			switch {
			case s.Network != "udp" && s.Network != "tcp" && s.Network != "tls":
				return nil, nil, fmt.Errorf("%s: notifiers[%d].syslog.network %q: want udp, tcp or tls", path, i, s.Network)
			case s.Format != "" && s.Format != "cef" && s.Format != "leef":
				return nil, nil, fmt.Errorf("%s: notifiers[%d].syslog.format %q: want cef or leef", path, i, s.Format)
			case s.Address == "":
				return nil, nil, fmt.Errorf("%s: notifiers[%d].syslog.address: missing", path, i)
			}
			ns = append(ns, &Syslog{Network: s.Network, Address: s.Address, Format: s.Format, Facility: s.Facility})
		}
	}
	if len(c.Rules) > 0 && len(ns) == 0 {
		return nil, nil, errors.New(path + ": rules without notifiers")
	}
	return e, ns, nil
}

// Dispatcher evaluates rules on stored records and sends the alerts from
// a bounded queue, so that slow notifiers never hold up ingest. Observe
// is safe for concurrent use; Run runs once.
type Dispatcher struct {
	engine    *Engine
	notifiers []Notifier
	log       *slog.Logger
	queue     chan Alert
	dropped   atomic.Int64
}

// queueSize bounds the alerts waiting to be sent.
const queueSize = 1000

// NewDispatcher returns a dispatcher of an engine's alerts.
func NewDispatcher(e *Engine, ns []Notifier, log *slog.Logger) *Dispatcher {
	return &Dispatcher{engine: e, notifiers: ns, log: log, queue: make(chan Alert, queueSize)}
}

// Observe evaluates the rules on stored records and queues their alerts;
// when the queue is full an alert is dropped and logged.
func (d *Dispatcher) Observe(ctx context.Context, recs []store.Record) {
	for _, a := range d.engine.Observe(ctx, recs) {
		select {
		case d.queue <- a:
		default:
			n := d.dropped.Add(1)
			if d.log != nil {
				d.log.Error("alert dropped: the notifiers are behind", "rule", a.Rule, "dropped", n)
			}
		}
	}
}

// Run sends queued alerts until ctx is done.
func (d *Dispatcher) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-d.queue:
			_ = NotifyAll(ctx, d.notifiers, a, d.log)
		}
	}
}
