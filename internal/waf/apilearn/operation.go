package apilearn

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kordon-dev/kordon/internal/waf/traffic"
)

// Limits of one operation: query and header parameters, and media types.
const (
	maxParams     = 64
	maxMediaTypes = 8
)

// paramStats summarises one query or header parameter of an operation.
type paramStats struct {
	present  int // requests that carried it
	repeated bool
	values   valueStats
}

func (p *paramStats) merge(o *paramStats) {
	p.present += o.present
	p.repeated = p.repeated || o.repeated
	p.values.merge(&o.values)
}

// opStats summarises the requests of one method on one route.
type opStats struct {
	count   int
	query   map[string]*paramStats
	headers map[string]*paramStats
	bodies  map[string]*shape // by media type; an empty shape for bodies not described
	noBody  int
	auth    map[string]int // "bearer", "basic"
	status  map[int]int
}

func newOpStats() *opStats {
	return &opStats{query: map[string]*paramStats{}, headers: map[string]*paramStats{}, bodies: map[string]*shape{}, auth: map[string]int{}, status: map[int]int{}}
}

// ignoredHeaders are headers of the transport, the browser or proxies,
// not of the API.
var ignoredHeaders = map[string]bool{
	"Accept": true, "Accept-Charset": true, "Accept-Encoding": true, "Accept-Language": true,
	"Authorization": true, "Cache-Control": true, "Connection": true, "Content-Length": true,
	"Content-Type": true, "Cookie": true, "Dnt": true, "Expect": true, "Forwarded": true, "Host": true,
	"If-Match": true, "If-Modified-Since": true, "If-None-Match": true, "If-Range": true,
	"If-Unmodified-Since": true, "Keep-Alive": true, "Origin": true, "Pragma": true, "Priority": true,
	"Proxy-Authorization": true, "Range": true, "Referer": true, "Te": true, "Trailer": true,
	"Transfer-Encoding": true, "Upgrade": true, "Upgrade-Insecure-Requests": true, "User-Agent": true,
	"Via": true, "X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Port": true,
	"X-Forwarded-Proto": true, "X-Real-Ip": true, "X-Request-Id": true, "Traceparent": true,
	"Tracestate": true, "Baggage": true, "X-Envoy-Attempt-Count": true, "X-Envoy-Expected-Rq-Timeout-Ms": true,
	"X-Envoy-Internal": true, "X-Envoy-Decorator-Operation": true, "X-Envoy-Peer-Metadata": true,
	"X-Envoy-Peer-Metadata-Id": true, "X-B3-Traceid": true, "X-B3-Spanid": true, "X-B3-Parentspanid": true,
	"X-B3-Sampled": true, "X-B3-Flags": true, "B3": true, "X-Amzn-Trace-Id": true, "X-Cloud-Trace-Context": true,
}

func ignoredHeader(name string) bool {
	return ignoredHeaders[name] || strings.HasPrefix(name, "Sec-") || strings.HasPrefix(name, "X-Envoy-") || strings.HasPrefix(name, "X-Kordon-")
}

func (op *opStats) add(s traffic.Record, l *Learner) {
	op.count++
	if s.Status > 0 {
		op.status[s.Status]++
	}
	for name, vals := range s.URL.Query() {
		addParam(op.query, name, vals)
	}
	for name, vals := range s.Header {
		name = http.CanonicalHeaderKey(name)
		if !ignoredHeader(name) {
			addParam(op.headers, name, vals)
		}
	}
	if a := s.Header.Get("Authorization"); a != "" {
		scheme, _, _ := strings.Cut(a, " ")
		if strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "basic") {
			op.auth[strings.ToLower(scheme)]++
		}
	}
	if len(s.Body) == 0 {
		op.noBody++
		return
	}
	mt := mediaTypeOf(s.Header)
	sh, ok := op.bodies[mt]
	if !ok {
		if len(op.bodies) >= maxMediaTypes {
			l.stats.BodiesNotDescribed++
			return
		}
		sh = &shape{}
		op.bodies[mt] = sh
	}
	if len(s.Body) > l.opts.MaxBody {
		l.stats.BodiesNotDescribed++
		sh.open = true
		return
	}
	v, ok := decodeBody(mt, s.Body)
	if !ok {
		if mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "application/x-www-form-urlencoded" {
			l.stats.BodiesNotDescribed++
		}
		sh.open = true
		return
	}
	sh.add(v, 0)
}

func addParam(m map[string]*paramStats, name string, vals []string) {
	p, ok := m[name]
	if !ok {
		if len(m) >= maxParams {
			return
		}
		p = &paramStats{}
		m[name] = p
	}
	p.present++
	p.repeated = p.repeated || len(vals) > 1
	for _, v := range vals {
		p.values.add(v)
	}
}

func (op *opStats) merge(o *opStats) {
	op.count += o.count
	op.noBody += o.noBody
	for k, p := range o.query {
		if q, ok := op.query[k]; ok {
			q.merge(p)
		} else {
			op.query[k] = p
		}
	}
	for k, p := range o.headers {
		if q, ok := op.headers[k]; ok {
			q.merge(p)
		} else {
			op.headers[k] = p
		}
	}
	for k, b := range o.bodies {
		if c, ok := op.bodies[k]; ok {
			c.merge(b)
		} else {
			op.bodies[k] = b
		}
	}
	for k, n := range o.auth {
		op.auth[k] += n
	}
	for k, n := range o.status {
		op.status[k] += n
	}
}

// operation writes the operation: its parameters (required when every
// request carried them), its body by media type (required when every
// request had one), its security when every request authenticated, and
// the statuses seen.
func (op *opStats) operation(schemes map[string]bool) omap {
	var out omap
	var params []omap
	for _, in := range []struct {
		where string
		m     map[string]*paramStats
	}{{"query", op.query}, {"header", op.headers}} {
		names := make([]string, 0, len(in.m))
		for k := range in.m {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, name := range names {
			p := in.m[name]
			// Header values are never enumerated: they may be keys.
			sch := scalarSchema(&p.values, name, in.where == "query")
			if p.repeated {
				sch = omap{{"type", "array"}, {"items", sch}}
			}
			param := omap{{"name", name}, {"in", in.where}}
			if p.present == op.count {
				param.set("required", true)
			}
			param.set("schema", sch)
			params = append(params, param)
		}
	}
	if len(params) > 0 {
		out.set("parameters", params)
	}
	if len(op.bodies) > 0 {
		types := make([]string, 0, len(op.bodies))
		for k := range op.bodies {
			types = append(types, k)
		}
		slices.Sort(types)
		var content omap
		for _, t := range types {
			var media omap
			if sch := op.bodies[t]; sch.count > 0 {
				media.set("schema", sch.schema(""))
			}
			content.set(t, media)
		}
		rb := omap{{"content", content}}
		if op.noBody == 0 {
			rb = append(omap{{"required", true}}, rb...)
		}
		out.set("requestBody", rb)
	}
	for _, scheme := range []string{"bearer", "basic"} {
		if op.auth[scheme] == op.count {
			schemes[scheme] = true
			out.set("security", []omap{{{scheme + "Auth", []string{}}}})
			break
		}
	}
	responses := omap{}
	codes := make([]int, 0, len(op.status))
	for c := range op.status {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		responses.set(strconv.Itoa(c), omap{{"description", "seen " + strconv.Itoa(op.status[c]) + " times"}})
	}
	if len(codes) == 0 {
		responses.set("default", omap{{"description", "no status was recorded"}})
	}
	out.set("responses", responses)
	out.set("x-kordon-samples", op.count)
	return out
}
