package flowlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/kordon-dev/kordon/internal/finding"
	"github.com/kordon-dev/kordon/internal/netpol/flow"
)

// Formats of flow logs.
const (
	FormatAuto   = "auto"
	FormatHubble = "hubble"       // hubble observe -o json
	FormatJSONL  = "kordon-jsonl" // Kordon's flows, JSON lines
	FormatCSV    = "kordon-csv"   // Kordon's flows, CSV
	FormatVPC    = "aws-vpc"      // AWS VPC flow logs, text, v2 to v5
)

// Formats lists the formats ReadEvents takes.
func Formats() []string { return []string{FormatAuto, FormatHubble, FormatJSONL, FormatCSV, FormatVPC} }

// Normalizer turns flows into Flow events, attributing their ends with a
// History. Hubble flows that name their pods also teach the history. It is
// safe for concurrent use.
type Normalizer struct {
	History *History
	// Now stamps flows whose source gives no time.
	Now func() time.Time
}

// end is one side of a flow as the normalizer attributes it.
type end struct {
	ip       netip.Addr
	port     int
	pod      Pod
	attested bool // the flow itself named the pod
}

func (n *Normalizer) attribute(e *end, t time.Time) {
	if e.pod.Name != "" || !e.ip.IsValid() || n.History == nil {
		return
	}
	if p, ok := n.History.Lookup(e.ip, t); ok {
		e.pod = p
	}
}

// event builds the Flow event of one flow.
func (n *Normalizer) event(t time.Time, src, dst end, proto, verdict, source string, extra map[string]string) finding.Event {
	n.attribute(&src, t)
	n.attribute(&dst, t)
	action := finding.ActionObserved
	switch verdict {
	case "DROPPED", "REJECT", "ERROR":
		action = finding.ActionDenied
	}
	res := finding.Resource{APIVersion: "v1", Kind: "Pod"}
	switch {
	case src.pod.Name != "":
		res.Namespace, res.Name = src.pod.Namespace, src.pod.Name
	case dst.pod.Name != "":
		res.Namespace, res.Name = dst.pod.Namespace, dst.pod.Name
	default:
		res = finding.Resource{}
	}
	attrs := map[string]string{"source": source, "protocol": proto}
	side := func(prefix string, e end) string {
		s := "?"
		if e.ip.IsValid() {
			s = e.ip.String()
			attrs[prefix] = s
		}
		if e.port > 0 {
			attrs[prefix+"Port"] = strconv.Itoa(e.port)
		}
		if e.pod.Name != "" {
			attrs[prefix+"Pod"] = e.pod.Namespace + "/" + e.pod.Name
			s += " (" + e.pod.Namespace + "/" + e.pod.Name + ")"
		}
		if e.pod.Workload != "" {
			attrs[prefix+"Workload"] = e.pod.Workload
		}
		return s
	}
	from := side("src", src)
	to := side("dst", dst)
	if verdict != "" {
		attrs["verdict"] = verdict
	}
	for k, v := range extra {
		if v != "" {
			attrs[k] = v
		}
	}
	msg := fmt.Sprintf("%s -> %s %s", from, to, proto)
	if dst.port > 0 {
		msg = fmt.Sprintf("%s -> %s port %d/%s", from, to, dst.port, proto)
	}
	if verdict != "" {
		msg += " " + verdict
	}
	return finding.Event{Time: t, Engine: "flow", Action: action,
		Finding: finding.Finding{Severity: finding.Info, Controls: []string{}, Resource: res, Message: msg}, Attributes: attrs}
}

func (n *Normalizer) now() time.Time {
	if n.Now != nil {
		return n.Now().UTC()
	}
	return time.Now().UTC()
}

// FromFlow returns the Flow event of a flow read by internal/netpol/flow.
func (n *Normalizer) FromFlow(f flow.Flow, source string) finding.Event {
	t := f.Time
	if t.IsZero() {
		t = n.now()
	}
	mk := func(e flow.End) end {
		out := end{ip: e.IP, pod: Pod{Namespace: e.Namespace, Name: e.Name}}
		if e.Workload != "" {
			out.pod.Workload = e.Kind + "/" + e.Workload
		}
		if out.pod.Name != "" {
			out.attested = true
			if e.IP.IsValid() && n.History != nil {
				n.History.Add(e.IP, out.pod, t, time.Time{})
			}
		}
		return out
	}
	src, dst := mk(f.Src), mk(f.Dst)
	dst.port = int(f.Port)
	return n.event(t, src, dst, f.Protocol.String(), f.Verdict, source, nil)
}

var ianaProtocols = map[int]string{1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6", 132: "SCTP"}

// FromVPC returns the Flow event of an AWS VPC flow log record.
func (n *Normalizer) FromVPC(r VPCRecord) finding.Event {
	proto, ok := ianaProtocols[r.Protocol]
	if !ok {
		proto = strconv.Itoa(r.Protocol)
	}
	extra := map[string]string{"interface": r.InterfaceID, "direction": r.FlowDirection}
	if r.Bytes > 0 || r.Packets > 0 {
		extra["bytes"] = strconv.FormatInt(r.Bytes, 10)
		extra["packets"] = strconv.FormatInt(r.Packets, 10)
	}
	return n.event(r.Start, end{ip: r.Src, port: r.SrcPort}, end{ip: r.Dst, port: r.DstPort}, proto, r.Action, FormatVPC, extra)
}

// DetectFormat guesses a flow log's format from its name and first bytes:
// .csv is Kordon's CSV, a first line starting with "version" or a digit an
// AWS VPC flow log, JSON with a "flow" or "source" key Hubble's, other
// JSON Kordon's JSON lines.
func DetectFormat(name string, head []byte) string {
	if strings.HasSuffix(strings.ToLower(name), ".csv") {
		return FormatCSV
	}
	head = bytes.TrimSpace(head)
	switch {
	case bytes.HasPrefix(head, []byte("version")) || (len(head) > 0 && head[0] >= '0' && head[0] <= '9'):
		return FormatVPC
	case bytes.Contains(head, []byte(`"flow"`)) || bytes.Contains(head, []byte(`"source"`)) || bytes.Contains(head, []byte(`"l4"`)):
		return FormatHubble
	}
	return FormatJSONL
}

// Result says what ReadEvents read.
type Result struct {
	Flows int `json:"flows"`
	// Skipped counts entries without a flow to record: Hubble replies and
	// flows without a transport port, VPC NODATA and SKIPDATA records.
	Skipped int `json:"skipped"`
	// Errors are the entries that could not be read, by file and line.
	Errors []string `json:"errors"`
}

// maxErrors bounds the errors one read reports.
const maxErrors = 100

// ReadEvents reads a flow log of the given format (FormatAuto detects it),
// normalises each flow and passes its event to fn. A VPC record that
// cannot be read is reported and the next one read; in the Hubble and
// Kordon formats the first unreadable line ends the read (the flows
// before it are passed on). An error from fn ends the read and is
// returned.
func (n *Normalizer) ReadEvents(r io.Reader, name, format string, fn func(finding.Event) error) (Result, error) {
	res := Result{Errors: []string{}}
	br := bufio.NewReaderSize(r, 64<<10)
	if format == "" || format == FormatAuto {
		head, _ := br.Peek(4096)
		format = DetectFormat(name, head)
	}
	switch format {
	case FormatVPC:
		vr := NewVPCReader(br, name)
		for {
			rec, err := vr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var re *RecordError
				if !errors.As(err, &re) {
					return res, err // a read error, not a bad record
				}
				if len(res.Errors) < maxErrors {
					res.Errors = append(res.Errors, err.Error())
				}
				continue
			}
			res.Flows++
			if err := fn(n.FromVPC(rec)); err != nil {
				return res, err
			}
		}
		res.Skipped = vr.Skipped()
		return res, nil
	case FormatHubble, FormatJSONL, FormatCSV:
		readName := name
		if format == FormatCSV && !strings.HasSuffix(strings.ToLower(name), ".csv") {
			readName = name + ".csv" // the reader picks CSV by the name
		}
		fr := flow.NewReaderWith(br, readName, flow.Options{KeepDropped: true})
		source := FormatHubble
		if format != FormatHubble {
			source = format
		}
		for {
			f, err := fr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				res.Errors = append(res.Errors, err.Error())
				break
			}
			res.Flows++
			if err := fn(n.FromFlow(f, source)); err != nil {
				return res, err
			}
		}
		res.Skipped = fr.Skipped()
		return res, nil
	}
	return res, fmt.Errorf("flow log format %q: want one of %s", format, strings.Join(Formats(), ", "))
}
