// Package flowlog turns network flow logs — Hubble's JSON flows, Kordon's
// JSON-lines and CSV flows (read by internal/netpol/flow) and AWS VPC flow
// logs (versions 2 to 5, text) — into one kind of Event (engine "flow"),
// attributed to the pods and workloads at each end by an IP → pod history
// that knows when each pod held its address, so that a flow from an
// address a pod has since given up is attributed to the pod that held it
// at the time. The Flow event is documented in docs/server.md.
package flowlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Pod is who held an address.
type Pod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"pod"`
	// Workload is the owning workload as Kind/name, when known.
	Workload string `json:"workload,omitempty"`
}

// span is one pod's hold of an address, from From until To (zero: still).
type span struct {
	from, to time.Time
	pod      Pod
}

// History maps addresses to the pods that held them over time. It is safe
// for concurrent use.
type History struct {
	mu   sync.RWMutex
	byIP map[netip.Addr][]span // sorted by from
}

// NewHistory returns an empty history.
func NewHistory() *History { return &History{byIP: map[netip.Addr][]span{}} }

// Add records that pod held ip from from until to (zero: still holds it).
// A pod seen again with the same address extends its span.
func (h *History) Add(ip netip.Addr, pod Pod, from, to time.Time) {
	ip = ip.Unmap()
	h.mu.Lock()
	defer h.mu.Unlock()
	spans := h.byIP[ip]
	for i := range spans {
		s := &spans[i]
		if s.pod == pod && (s.from.Equal(from) || (s.to.IsZero() && !from.Before(s.from))) {
			if !to.IsZero() && (s.to.IsZero() || to.After(s.to)) {
				s.to = to
			}
			return
		}
	}
	i, _ := slices.BinarySearchFunc(spans, from, func(s span, t time.Time) int { return s.from.Compare(t) })
	h.byIP[ip] = slices.Insert(spans, i, span{from: from, to: to, pod: pod})
}

// Lookup returns the pod that held ip at t: the one whose span began last
// at or before t and had not ended by t.
func (h *History) Lookup(ip netip.Addr, t time.Time) (Pod, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	spans := h.byIP[ip.Unmap()]
	i, _ := slices.BinarySearchFunc(spans, t, func(s span, t time.Time) int {
		if s.from.After(t) {
			return 1
		}
		return -1
	})
	for j := i - 1; j >= 0; j-- {
		if s := spans[j]; s.to.IsZero() || t.Before(s.to) {
			return s.pod, true
		}
	}
	return Pod{}, false
}

// Prune forgets the spans that ended before t, and returns how many it
// forgot; a long-running server calls it so that the history does not grow
// without bound as pods come and go.
func (h *History) Prune(t time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for ip, spans := range h.byIP {
		kept := spans[:0]
		for _, s := range spans {
			if !s.to.IsZero() && s.to.Before(t) {
				n++
				continue
			}
			kept = append(kept, s)
		}
		if len(kept) == 0 {
			delete(h.byIP, ip)
		} else {
			clear(spans[len(kept):])
			h.byIP[ip] = kept
		}
	}
	return n
}

// Len returns the number of addresses in the history.
func (h *History) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.byIP)
}

// historyLine is one line of a history file.
type historyLine struct {
	IP string `json:"ip"`
	Pod
	From time.Time  `json:"from"`
	To   *time.Time `json:"to,omitempty"`
}

// LoadHistory adds to h what r holds: either a Kubernetes pod list (the
// output of `kubectl get pods -A -o json`: each pod's status.podIPs from
// its status.startTime, or creation, until its deletionTimestamp), or
// Kordon's history format, one JSON object a line:
//
//	{"ip": "10.0.1.5", "namespace": "shop", "pod": "web-1", "workload": "Deployment/web", "from": "2026-03-01T10:00:00Z", "to": "2026-03-01T12:00:00Z"}
//
// name is used in errors, which give the line.
func (h *History) LoadHistory(r io.Reader, name string) error {
	br := bufio.NewReaderSize(r, 1<<20)
	first, err := br.Peek(1)
	skippedLines := 0
	for err == nil && len(first) == 1 && strings.ContainsRune(" \t\r\n", rune(first[0])) {
		if first[0] == '\n' {
			skippedLines++
		}
		br.ReadByte()
		first, err = br.Peek(1)
	}
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if first[0] == '{' {
		// A pod list is one object that starts with its kind or apiVersion;
		// a history file is one object a line.
		head, _ := br.Peek(min(br.Buffered(), 4096))
		if isPodList(head) {
			return h.loadPodList(br, name)
		}
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := skippedLines
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		var l historyLine
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		ip, err := netip.ParseAddr(l.IP)
		if err != nil {
			return fmt.Errorf("%s:%d: ip: %w", name, line, err)
		}
		if l.Namespace == "" || l.Name == "" || l.From.IsZero() {
			return fmt.Errorf("%s:%d: want ip, namespace, pod and from", name, line)
		}
		var to time.Time
		if l.To != nil {
			to = l.To.UTC()
			if !to.After(l.From) {
				return fmt.Errorf("%s:%d: to is not after from", name, line)
			}
		}
		h.Add(ip, l.Pod, l.From.UTC(), to)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: line %d: %w", name, line+1, err)
	}
	return nil
}

// isPodList tells a Kubernetes list (which has items) from a history line
// (which never does) by the start of the input.
func isPodList(head []byte) bool {
	return bytes.Contains(head, []byte(`"items"`)) || bytes.Contains(head, []byte(`"apiVersion"`))
}

type podList struct {
	Items []struct {
		Metadata struct {
			Namespace         string     `json:"namespace"`
			Name              string     `json:"name"`
			CreationTimestamp time.Time  `json:"creationTimestamp"`
			DeletionTimestamp *time.Time `json:"deletionTimestamp"`
			OwnerReferences   []struct {
				Kind       string `json:"kind"`
				Name       string `json:"name"`
				Controller *bool  `json:"controller"`
			} `json:"ownerReferences"`
		} `json:"metadata"`
		Status struct {
			StartTime *time.Time `json:"startTime"`
			PodIP     string     `json:"podIP"`
			PodIPs    []struct {
				IP string `json:"ip"`
			} `json:"podIPs"`
		} `json:"status"`
	} `json:"items"`
}

func (h *History) loadPodList(r io.Reader, name string) error {
	var l podList
	if err := json.NewDecoder(r).Decode(&l); err != nil {
		return fmt.Errorf("%s: pod list: %w", name, err)
	}
	for i, p := range l.Items {
		m := p.Metadata
		pod := Pod{Namespace: m.Namespace, Name: m.Name}
		for _, o := range m.OwnerReferences {
			if o.Controller != nil && *o.Controller {
				pod.Workload = o.Kind + "/" + o.Name
			}
		}
		from := m.CreationTimestamp
		if p.Status.StartTime != nil {
			from = *p.Status.StartTime
		}
		var to time.Time
		if m.DeletionTimestamp != nil {
			to = m.DeletionTimestamp.UTC()
		}
		ips := []string{p.Status.PodIP}
		for _, a := range p.Status.PodIPs {
			ips = append(ips, a.IP)
		}
		for _, s := range ips {
			if s == "" {
				continue
			}
			ip, err := netip.ParseAddr(s)
			if err != nil {
				return fmt.Errorf("%s: items[%d] (%s/%s): pod IP: %w", name, i, m.Namespace, m.Name, err)
			}
			h.Add(ip, pod, from.UTC(), to)
		}
	}
	return nil
}
