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

// Read parses flows. name is used in errors and picks the format: CSV for
// names ending in .csv, JSON lines (Hubble or Kordon) otherwise.
func Read(r io.Reader, name string) (*Result, error) {
	if strings.HasSuffix(strings.ToLower(name), ".csv") {
		return readCSV(r, name)
	}
	res := &Result{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(text, &raw); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		var f *Flow
		var err error
		switch {
		case raw["flow"] != nil:
			f, err = hubble(raw["flow"])
		case raw["source"] != nil || raw["l4"] != nil || raw["IP"] != nil:
			f, err = hubble(text)
		case raw["src"] != nil:
			f, err = simple(text)
		default:
			if raw["node_name"] != nil || raw["lost_events"] != nil {
				continue // other records of hubble observe
			}
			err = ErrFormat
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if f == nil {
			res.Skipped++
			continue
		}
		f.Line = line
		res.Flows = append(res.Flows, *f)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return res, nil
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
	Verdict string `json:"verdict"`
	IsReply *bool  `json:"is_reply"`
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

func hubble(data []byte) (*Flow, error) {
	var h hubbleFlow
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("hubble flow: %w", err)
	}
	if h.Verdict == "DROPPED" || h.Verdict == "ERROR" || (h.IsReply != nil && *h.IsReply) {
		return nil, nil
	}
	f := &Flow{}
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
}

func simple(data []byte) (*Flow, error) {
	var s simpleFlow
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("flow: %w", err)
	}
	port := strings.Trim(string(s.Port), `"`)
	return simpleFields(s.Src, s.Dst, s.Protocol, port)
}

func simpleFields(src, dst, proto, port string) (*Flow, error) {
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
	return &Flow{Src: s, Dst: d, Protocol: p, Port: int32(n)}, nil
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

func readCSV(r io.Reader, name string) (*Result, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, want := range []string{"src", "dst", "port"} {
		if _, ok := col[want]; !ok {
			return nil, fmt.Errorf("%s: header lacks column %q (want src,dst,protocol,port)", name, want)
		}
	}
	res := &Result{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		proto := ""
		if i, ok := col["protocol"]; ok {
			proto = rec[i]
		}
		f, err := simpleFields(rec[col["src"]], rec[col["dst"]], proto, rec[col["port"]])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		f.Line = line
		res.Flows = append(res.Flows, *f)
	}
	return res, nil
}
