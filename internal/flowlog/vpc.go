package flowlog

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// VPCRecord is one record of an AWS VPC flow log.
type VPCRecord struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort int
	// Protocol is the IANA protocol number (6 TCP, 17 UDP, 1 ICMP).
	Protocol       int
	Packets, Bytes int64
	Start, End     time.Time
	Action         string // ACCEPT or REJECT
	InterfaceID    string
	FlowDirection  string // ingress or egress (v5), empty before
	Line           int
}

// vpcDefault is the field order of the default (version 2) format, used
// when a file has no header line.
var vpcDefault = []string{"version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
	"protocol", "packets", "bytes", "start", "end", "action", "log-status"}

// VPCReader reads AWS VPC flow logs in the text format, versions 2 to 5:
// space-separated fields named by a header line (as in the files flow logs
// write to S3), or in the default version 2 order without one. Missing
// values are "-". Records with log-status NODATA or SKIPDATA carry no
// flow and are counted as skipped. For EKS pods with their own addresses,
// pkt-srcaddr and pkt-dstaddr (version 3 and later), when present, are the
// pods' addresses and are used instead of srcaddr and dstaddr. It is not
// safe for concurrent use.
type VPCReader struct {
	name    string
	sc      *bufio.Scanner
	col     map[string]int
	line    int
	skipped int
}

// NewVPCReader returns a reader of r; name is used in errors.
func NewVPCReader(r io.Reader, name string) *VPCReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &VPCReader{name: name, sc: sc}
}

// RecordError is a record of a VPC flow log that could not be read; the
// records after it can still be.
type RecordError struct {
	File string
	Line int
	Msg  string
}

func (e *RecordError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

func (v *VPCReader) bad(format string, args ...any) error {
	return &RecordError{File: v.name, Line: v.line, Msg: fmt.Sprintf(format, args...)}
}

// Skipped counts the records without a flow (NODATA, SKIPDATA) so far.
func (v *VPCReader) Skipped() int { return v.skipped }

func columns(names []string) map[string]int {
	m := make(map[string]int, len(names))
	for i, n := range names {
		m[n] = i
	}
	return m
}

// Next returns the next record, or io.EOF after the last. Errors name the
// file, line and field.
func (v *VPCReader) Next() (VPCRecord, error) {
	for v.sc.Scan() {
		v.line++
		fields := strings.Fields(v.sc.Text())
		if len(fields) == 0 {
			continue
		}
		if v.col == nil {
			if fields[0] == "version" {
				v.col = columns(fields)
				for _, want := range []string{"srcaddr", "dstaddr", "start"} {
					if _, ok := v.col[want]; !ok {
						return VPCRecord{}, fmt.Errorf("%s:%d: header lacks the field %q", v.name, v.line, want)
					}
				}
				continue
			}
			v.col = columns(vpcDefault)
		}
		if len(fields) != len(v.col) {
			return VPCRecord{}, v.bad("%d fields, want %d", len(fields), len(v.col))
		}
		get := func(name string) string {
			if i, ok := v.col[name]; ok && fields[i] != "-" {
				return fields[i]
			}
			return ""
		}
		if st := get("log-status"); st == "NODATA" || st == "SKIPDATA" {
			v.skipped++
			continue
		}
		rec := VPCRecord{Line: v.line, Action: get("action"), InterfaceID: get("interface-id"), FlowDirection: get("flow-direction")}
		if ver := get("version"); ver != "" {
			if n, err := strconv.Atoi(ver); err != nil || n < 2 || n > 5 {
				return VPCRecord{}, v.bad("version %q: want 2 to 5", ver)
			}
		}
		addr := func(field, pkt string) (netip.Addr, error) {
			s := get(pkt)
			if s == "" {
				s = get(field)
			}
			a, err := netip.ParseAddr(s)
			if err != nil {
				return a, v.bad("%s %q: not an IP address", field, s)
			}
			return a, nil
		}
		var err error
		if rec.Src, err = addr("srcaddr", "pkt-srcaddr"); err != nil {
			return rec, err
		}
		if rec.Dst, err = addr("dstaddr", "pkt-dstaddr"); err != nil {
			return rec, err
		}
		for _, n := range []struct {
			field string
			dst   *int64
			max   int64
		}{{"srcport", nil, 65535}, {"dstport", nil, 65535}, {"protocol", nil, 255}, {"packets", &rec.Packets, 1 << 62}, {"bytes", &rec.Bytes, 1 << 62}} {
			s := get(n.field)
			if s == "" {
				continue
			}
			x, err := strconv.ParseInt(s, 10, 64)
			if err != nil || x < 0 || x > n.max {
				return rec, v.bad("%s %q: want a number from 0 to %d", n.field, s, n.max)
			}
			switch n.field {
			case "srcport":
				rec.SrcPort = int(x)
			case "dstport":
				rec.DstPort = int(x)
			case "protocol":
				rec.Protocol = int(x)
			default:
				*n.dst = x
			}
		}
		for _, t := range []struct {
			field string
			dst   *time.Time
		}{{"start", &rec.Start}, {"end", &rec.End}} {
			s := get(t.field)
			if s == "" {
				continue
			}
			x, err := strconv.ParseInt(s, 10, 64)
			if err != nil || x < 0 || x > 1<<40 {
				return rec, v.bad("%s %q: want Unix seconds", t.field, s)
			}
			*t.dst = time.Unix(x, 0).UTC()
		}
		if rec.Start.IsZero() {
			return rec, v.bad("start: missing")
		}
		return rec, nil
	}
	if err := v.sc.Err(); err != nil {
		return VPCRecord{}, fmt.Errorf("read %s: line %d: %w", v.name, v.line+1, err)
	}
	return VPCRecord{}, io.EOF
}
