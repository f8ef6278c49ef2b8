package flow

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/netpol/portset"
)

// End is one end of a flow. Any field may be empty; Namespace and Name
// together name a workload or a pod.
type End struct {
	Namespace string
	Name      string
	// Workload and Kind name the owning workload when the source knows it
	// (Hubble's workloads field).
	Workload string
	Kind     string
	Labels   map[string]string
	IP       netip.Addr
	// World is true for an end Hubble marks as outside the cluster.
	World bool
}

// String returns namespace/name, or the address.
func (e End) String() string {
	if e.Name != "" {
		return e.Namespace + "/" + e.Name
	}
	if e.IP.IsValid() {
		return e.IP.String()
	}
	return "unknown"
}

// Flow is one observed connection.
type Flow struct {
	Src, Dst End
	Protocol portset.Protocol
	Port     int32
	// Time is when the flow was seen; zero when the source does not say
	// (Kordon's format without its optional time field).
	Time time.Time
	// Verdict is Hubble's verdict (FORWARDED, DROPPED, AUDIT, ...); empty
	// for Kordon's format.
	Verdict string
	// Line is where the flow was read (1-based).
	Line int
}

// Result is what a flow file held.
type Result struct {
	Flows []Flow
	// Skipped counts entries left out on purpose: replies, dropped flows,
	// flows without a transport port (such as ICMP or DNS-only L7 records).
	Skipped int
}

// ErrFormat is returned for input that is neither Hubble JSON nor Kordon's
// flow format.
var ErrFormat = errors.New("unknown flow format")

// Read parses all flows of r. name is used in errors and picks the format:
// CSV for names ending in .csv, JSON lines (Hubble or Kordon) otherwise.
// It holds every flow in memory; Reader reads one at a time.
func Read(r io.Reader, name string) (*Result, error) {
	fr := NewReader(r, name)
	res := &Result{}
	for {
		f, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		res.Flows = append(res.Flows, f)
	}
	res.Skipped = fr.Skipped()
	return res, nil
}

// Reader reads the flows of a flow file one at a time, holding one line
// (or CSV record) in memory, so that files of any length can be read. A
// Reader is not safe for concurrent use.
type Reader struct {
	name    string
	csv     bool
	sc      *bufio.Scanner
	cr      *csv.Reader
	col     map[string]int // CSV column of each header name
	line    int
	skipped int
	err     error

	keepDropped bool
}

// Options change what a Reader returns.
type Options struct {
	// KeepDropped returns Hubble's dropped and errored flows too (with
	// their Verdict) rather than skipping them: an event store records
	// them, a policy generator must not learn from them.
	KeepDropped bool
}

// NewReader returns a Reader of r. name is used in errors and picks the
// format: CSV for names ending in .csv, JSON lines (Hubble or Kordon)
// otherwise.
func NewReader(r io.Reader, name string) *Reader { return NewReaderWith(r, name, Options{}) }

// NewReaderWith is NewReader with options.
func NewReaderWith(r io.Reader, name string, o Options) *Reader {
	fr := &Reader{name: name, keepDropped: o.KeepDropped}
	if strings.HasSuffix(strings.ToLower(name), ".csv") {
		fr.csv = true
		fr.cr = csv.NewReader(r)
		fr.cr.Comment = '#'
		fr.cr.TrimLeadingSpace = true
		fr.cr.ReuseRecord = true
		return fr
	}
	fr.sc = bufio.NewScanner(r)
	fr.sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	return fr
}

// Skipped counts the entries left out on purpose so far: replies, dropped
// flows, flows without a transport port.
func (r *Reader) Skipped() int { return r.skipped }

// Next returns the next flow, or io.EOF after the last one. Any other error
// names the file and line, and Next returns it again from then on.
func (r *Reader) Next() (Flow, error) {
	if r.err != nil {
		return Flow{}, r.err
	}
	var f Flow
	if r.csv {
		f, r.err = r.nextCSV()
	} else {
		f, r.err = r.nextJSON()
	}
	return f, r.err
}

func (r *Reader) nextJSON() (Flow, error) {
	for r.sc.Scan() {
		r.line++
		text := bytes.TrimSpace(r.sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(text, &raw); err != nil {
			return Flow{}, fmt.Errorf("%s:%d: %w", r.name, r.line, err)
		}
		var f *Flow
		var err error
		switch {
		case raw["flow"] != nil:
			f, err = hubble(raw["flow"], r.keepDropped)
		case raw["source"] != nil || raw["l4"] != nil || raw["IP"] != nil:
			f, err = hubble(text, r.keepDropped)
		case raw["src"] != nil:
			f, err = simple(text)
		default:
			if raw["node_name"] != nil || raw["lost_events"] != nil {
				continue // other records of hubble observe
			}
			err = ErrFormat
		}
		if err != nil {
			return Flow{}, fmt.Errorf("%s:%d: %w", r.name, r.line, err)
		}
		if f == nil {
			r.skipped++
			continue
		}
		f.Line = r.line
		return *f, nil
	}
	if err := r.sc.Err(); err != nil {
		return Flow{}, fmt.Errorf("read %s: %w", r.name, err)
	}
	return Flow{}, io.EOF
}

type hubbleEndpoint struct {
	Namespace string   `json:"namespace"`
	PodName   string   `json:"pod_name"`
	Labels    []string `json:"labels"`
	Workloads []struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
	} `json:"workloads"`
}

type hubblePorts struct {
	DestinationPort int32 `json:"destination_port"`
}

type hubbleFlow struct {
	Time    time.Time `json:"time"`
	Verdict string    `json:"verdict"`
	IsReply *bool     `json:"is_reply"`
	IP      struct {
		Source      string `json:"source"`
		Destination string `json:"destination"`
	} `json:"IP"`
	L4 struct {
		TCP  *hubblePorts `json:"TCP"`
		UDP  *hubblePorts `json:"UDP"`
		SCTP *hubblePorts `json:"SCTP"`
	} `json:"l4"`
	Source      hubbleEndpoint `json:"source"`
	Destination hubbleEndpoint `json:"destination"`
}

func hubble(data []byte, keepDropped bool) (*Flow, error) {
	var h hubbleFlow
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("hubble flow: %w", err)
	}
	if (!keepDropped && (h.Verdict == "DROPPED" || h.Verdict == "ERROR")) || (h.IsReply != nil && *h.IsReply) {
		return nil, nil
	}
	f := &Flow{Time: h.Time.UTC(), Verdict: h.Verdict}
	switch {
	case h.L4.TCP != nil:
		f.Protocol, f.Port = portset.TCP, h.L4.TCP.DestinationPort
	case h.L4.UDP != nil:
		f.Protocol, f.Port = portset.UDP, h.L4.UDP.DestinationPort
	case h.L4.SCTP != nil:
		f.Protocol, f.Port = portset.SCTP, h.L4.SCTP.DestinationPort
	default:
		return nil, nil
	}
	if f.Port < 1 || f.Port > 65535 {
		return nil, nil
	}
	f.Src = hubbleEnd(h.Source, h.IP.Source)
	f.Dst = hubbleEnd(h.Destination, h.IP.Destination)
	return f, nil
}

func hubbleEnd(e hubbleEndpoint, ip string) End {
	out := End{Namespace: e.Namespace, Name: e.PodName}
	if a, err := netip.ParseAddr(ip); err == nil {
		out.IP = a
	}
	for _, l := range e.Labels {
		source, kv, ok := strings.Cut(l, ":")
		if !ok {
			kv, source = l, "k8s"
		}
		if source == "reserved" && kv == "world" {
			out.World = true
			continue
		}
		if source != "k8s" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "io.kubernetes.pod.namespace") || strings.HasPrefix(k, "io.cilium.") || strings.HasPrefix(k, "io.kubernetes.pod.serviceaccount") {
			continue // Cilium's own identity labels, not pod labels
		}
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		out.Labels[k] = v
	}
	if len(e.Workloads) > 0 {
		out.Workload, out.Kind = e.Workloads[0].Name, e.Workloads[0].Kind
	}
	return out
}

type simpleFlow struct {
	Src      string          `json:"src"`
	Dst      string          `json:"dst"`
	Protocol string          `json:"protocol"`
	Port     json.RawMessage `json:"port"`
	Time     string          `json:"time"`
}

func simple(data []byte) (*Flow, error) {
	var s simpleFlow
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("flow: %w", err)
	}
	port := strings.Trim(string(s.Port), `"`)
	return simpleFields(s.Src, s.Dst, s.Protocol, port, s.Time)
}

func simpleFields(src, dst, proto, port, at string) (*Flow, error) {
	var t time.Time
	if at = strings.TrimSpace(at); at != "" {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return nil, fmt.Errorf("flow: time %q: want RFC 3339", at)
		}
		t = t.UTC()
	}
	p, err := portset.ParseProtocol(strings.TrimSpace(proto))
	if err != nil {
		return nil, fmt.Errorf("flow: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(port))
	if err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("flow: port %q is not a number from 1 to 65535", port)
	}
	s, err := parseEnd(src)
	if err != nil {
		return nil, fmt.Errorf("flow: src: %w", err)
	}
	d, err := parseEnd(dst)
	if err != nil {
		return nil, fmt.Errorf("flow: dst: %w", err)
	}
	return &Flow{Src: s, Dst: d, Protocol: p, Port: int32(n), Time: t}, nil
}

func parseEnd(s string) (End, error) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return End{IP: a}, nil
	}
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" {
		return End{}, fmt.Errorf("%q: want namespace/name or an IP address", s)
	}
	return End{Namespace: ns, Name: name}, nil
}

func (r *Reader) nextCSV() (Flow, error) {
	if r.col == nil {
		header, err := r.cr.Read()
		if err != nil {
			return Flow{}, fmt.Errorf("read %s: %w", r.name, err)
		}
		r.col = map[string]int{}
		for i, h := range header {
			r.col[strings.ToLower(strings.TrimSpace(h))] = i
		}
		for _, want := range []string{"src", "dst", "port"} {
			if _, ok := r.col[want]; !ok {
				return Flow{}, fmt.Errorf("%s: header lacks column %q (want src,dst,protocol,port)", r.name, want)
			}
		}
	}
	rec, err := r.cr.Read()
	if err == io.EOF {
		return Flow{}, io.EOF
	}
	line, _ := r.cr.FieldPos(0)
	if err != nil {
		return Flow{}, fmt.Errorf("%s:%d: %w", r.name, line, err)
	}
	proto := ""
	if i, ok := r.col["protocol"]; ok {
		proto = rec[i]
	}
	at := ""
	if i, ok := r.col["time"]; ok {
		at = rec[i]
	}
	f, err := simpleFields(rec[r.col["src"]], rec[r.col["dst"]], proto, rec[r.col["port"]], at)
	if err != nil {
		return Flow{}, fmt.Errorf("%s:%d: %w", r.name, line, err)
	}
	f.Line = line
	return *f, nil
}
