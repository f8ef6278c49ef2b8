package admission

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	networkinglisters "k8s.io/client-go/listers/networking/v1"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/kordon-dev/kordon/internal/admission/config"
)

// post sends body to the webhook and returns the status and the response
// (nil unless HTTP 200).
func post(t *testing.T, w http.Handler, url, body string) (int, *admissionv1.AdmissionResponse) {
	t.Helper()
	rec := httptest.NewRecorder()
	w.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, url, strings.NewReader(body)))
	if rec.Code != http.StatusOK {
		return rec.Code, nil
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("HTTP 200 without a response: %v %s", err, rec.Body)
	}
	return rec.Code, out.Response
}

// reviewJSON is an AdmissionReview with a request of the given fields.
func reviewJSON(fields string) string {
	return `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{` + fields + `}}`
}

const (
	podKind       = `"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"}`
	privilegedObj = `{"metadata":{"name":"p","namespace":"shop"},"spec":{"containers":[{"name":"c","image":"nginx:1","securityContext":{"privileged":true}}]}}`
)

func TestMalformedReviewsAreRefused(t *testing.T) {
	f := newFixture(t)
	f.metricsR = NewMetrics(newRegistry())
	w := f.webhook(pssConfig)
	base := `"uid":"u1",` + podKind + `,"namespace":"shop","name":"p","userInfo":{"username":"mallory"},`
	tests := []struct {
		name, fields string
		status       int    // HTTP status
		refused      string // when 200: the refusal's message must contain this
	}{
		{"no uid", podKind + `,"operation":"CREATE","object":` + privilegedObj, 400, ""},
		{"empty uid", `"uid":"",` + podKind + `,"operation":"CREATE","object":` + privilegedObj, 400, ""},
		{"object says ConfigMap", base + `"operation":"CREATE","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"x","securityContext":{"privileged":true}}]}}`, 200, "request.object.kind ConfigMap is not request.kind Pod"},
		{"object in another apiVersion", base + `"operation":"CREATE","object":{"apiVersion":"v2","kind":"Pod"}`, 200, "apiVersion"},
		{"object not a map", base + `"operation":"CREATE","object":"privileged"`, 200, "not an object"},
		{"object is a list", base + `"operation":"CREATE","object":[1,2]`, 200, "not an object"},
		{"create without object", base + `"operation":"CREATE"`, 200, "CREATE without request.object"},
		{"create with null object", base + `"operation":"CREATE","object":null`, 200, "CREATE without request.object"},
		{"update without old object", base + `"operation":"UPDATE","object":` + privilegedObj, 200, "UPDATE without request.oldObject"},
		{"update with another old object", base + `"operation":"UPDATE","object":` + privilegedObj + `,"oldObject":{"metadata":{"name":"other","namespace":"shop"}}`, 200, "oldObject.metadata.name"},
		{"update with another uid", base + `"operation":"UPDATE","object":{"metadata":{"name":"p","uid":"a"}},"oldObject":{"metadata":{"name":"p","uid":"b"}}`, 200, "different objects"},
		{"object in another namespace", base + `"operation":"CREATE","object":{"metadata":{"name":"p","namespace":"kube-system"}}`, 200, "metadata.namespace"},
		{"unknown operation", base + `"operation":"PATCH","object":` + privilegedObj, 200, "request.operation"},
		{"no kind", `"uid":"u1","operation":"CREATE","object":` + privilegedObj, 200, "request.kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, resp := post(t, w, ValidatePath, reviewJSON(tt.fields))
			if code != tt.status {
				t.Fatalf("HTTP %d, want %d", code, tt.status)
			}
			if code != http.StatusOK {
				return
			}
			if resp.Allowed || resp.UID != "u1" || resp.Result == nil || resp.Result.Code != http.StatusBadRequest || !strings.Contains(resp.Result.Message, tt.refused) {
				t.Errorf("got %+v %+v, want refused (uid u1, code 400) with %q", resp, resp.Result, tt.refused)
			}
		})
	}
	if got := counter(t, f.metricsR.responses.WithLabelValues(resultMalformed)); got != float64(len(tests)) {
		t.Errorf("malformed reviews counted: got %v, want %d", got, len(tests))
	}

	// The request, not the object, says what is judged: a privileged Pod
	// without kind and apiVersion is judged as the Pod it is.
	code, resp := post(t, w, ValidatePath, reviewJSON(base+`"operation":"CREATE","object":`+privilegedObj))
	if code != http.StatusOK || resp.Allowed || resp.UID != "u1" || !strings.Contains(resp.Result.Message, "KOR-POD-001") {
		t.Errorf("privileged pod without kind: HTTP %d %+v, want denied by KOR-POD-001", code, resp)
	}
}

// blockingLister blocks every NetworkPolicy lookup until release is closed.
type blockingLister struct {
	release chan struct{}
	entered chan struct{}
}

func (b blockingLister) List(labels.Selector) ([]*networkingv1.NetworkPolicy, error) {
	b.entered <- struct{}{}
	<-b.release
	return nil, nil
}

func (b blockingLister) NetworkPolicies(string) networkinglisters.NetworkPolicyNamespaceLister {
	return blockingNamespaced(b)
}

type blockingNamespaced blockingLister

func (b blockingNamespaced) List(s labels.Selector) ([]*networkingv1.NetworkPolicy, error) {
	return blockingLister(b).List(s)
}

func (b blockingNamespaced) Get(string) (*networkingv1.NetworkPolicy, error) { return nil, nil }

func blockingWebhook(t *testing.T, cfgYAML string, limits Limits) (*Webhook, blockingLister) {
	t.Helper()
	f := newFixture(t)
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	bl := blockingLister{release: make(chan struct{}), entered: make(chan struct{}, 100)}
	t.Cleanup(func() { close(bl.release) })
	w, _, err := New(Options{Config: cfg, Catalogue: f.catalog, NetworkPolicies: bl, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	return w, bl
}

const restrictedReview = `"uid":"u1",` + podKind + `,"namespace":"shop","name":"web","operation":"CREATE","userInfo":{"username":"alice"},` +
	`"object":{"metadata":{"name":"web","namespace":"shop"},"spec":{"containers":[{"name":"c","image":"nginx:1"}]}}`

// TestDeadlineIsHeld checks that a review whose evaluation does not end
// (a check stuck on a cache) is answered per failureAction when the
// budget runs out, not when the check returns.
func TestDeadlineIsHeld(t *testing.T) {
	for _, action := range []string{"deny", "allow"} {
		t.Run(action, func(t *testing.T) {
			w, bl := blockingWebhook(t, "timeout: 200ms\nfailureAction: "+action+"\ngovernance: {requireNetworkPolicy: {action: enforce}}\n", Limits{})
			code, resp := post(t, w, ValidatePath, reviewJSON(restrictedReview))
			<-bl.entered
			if code != http.StatusOK || resp.UID != "u1" {
				t.Fatalf("HTTP %d %+v, want a response for u1", code, resp)
			}
			switch action {
			case "deny":
				if resp.Allowed || !strings.Contains(resp.Result.Message, "no decision within 200ms") {
					t.Errorf("got %+v, want denied: no decision within 200ms", resp.Result)
				}
			case "allow":
				if !resp.Allowed || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "no decision within 200ms") {
					t.Errorf("got %+v, want admitted with a warning", resp)
				}
			}
		})
	}
	// The API server's own timeout (?timeout=) shortens the budget to four
	// fifths of it.
	w, _ := blockingWebhook(t, "timeout: 20s\ngovernance: {requireNetworkPolicy: {action: enforce}}\n", Limits{})
	if _, resp := post(t, w, ValidatePath+"?timeout=500ms", reviewJSON(restrictedReview)); resp == nil || resp.Allowed || !strings.Contains(resp.Result.Message, "no decision within 400ms") {
		t.Errorf("?timeout=500ms: got %+v, want denied within 400ms", resp)
	}
}

// TestOverloadIsShed fills every evaluation slot with stuck reviews and
// checks that the next review is refused with 429 at once, and that a
// body over MaxReviewBytes is refused unread.
func TestOverloadIsShed(t *testing.T) {
	w, bl := blockingWebhook(t, "timeout: 20s\ngovernance: {requireNetworkPolicy: {action: enforce}}\n", Limits{MaxConcurrent: 2, Wait: 10 * time.Millisecond})
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			w.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, ValidatePath, strings.NewReader(reviewJSON(restrictedReview))))
		}()
		<-bl.entered
	}
	rec := httptest.NewRecorder()
	w.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, ValidatePath, strings.NewReader(reviewJSON(restrictedReview))))
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "overloaded") || rec.Header().Get("Retry-After") == "" {
		t.Errorf("third review: HTTP %d %q, want 429 overloaded with Retry-After", rec.Code, rec.Body)
	}
	bl.release <- struct{}{}
	bl.release <- struct{}{}
	wg.Wait()

	big := httptest.NewRequest(http.MethodPost, ValidatePath, strings.NewReader(strings.Repeat(" ", MaxReviewBytes+1)))
	rec = httptest.NewRecorder()
	w.ServeHTTP(rec, big)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over MaxReviewBytes: HTTP %d, want 413", rec.Code)
	}
}

// hostileReview is an UPDATE of a ConfigMap whose object and old object
// are each about size bytes of small entries (the costliest shape to
// decode), under MaxReviewBytes in all.
func hostileReview(uid string, size int) []byte {
	var data bytes.Buffer
	for i := 0; data.Len() < size; i++ {
		fmt.Fprintf(&data, `"k%d":"v",`, i)
	}
	obj := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"shop"},"data":{` + strings.TrimSuffix(data.String(), ",") + `}}`
	return []byte(reviewJSON(`"uid":"` + uid + `","kind":{"group":"","version":"v1","kind":"ConfigMap"},"namespace":"shop","name":"c","operation":"UPDATE",` +
		`"userInfo":{"username":"mallory"},"object":` + obj + `,"oldObject":` + obj))
}

// TestHeapStaysBoundedUnderLargeReviews is a direct attack: many
// concurrent reviews of nearly MaxReviewBytes each. The limiter holds at
// most Limits.MaxBytes of bodies at once, so the heap stays bounded
// whatever the number of attackers; the rest are shed with 429.
func TestHeapStaysBoundedUnderLargeReviews(t *testing.T) {
	if testing.Short() {
		t.Skip("large allocations")
	}
	f := newFixture(t)
	w := f.webhook("rules: [{name: cm, select: {packs: [secrets]}, action: enforce}]\n")
	body := hostileReview("u", MaxObjectBytes-64<<10)
	if len(body) > MaxReviewBytes {
		t.Fatalf("review of %d bytes is over MaxReviewBytes", len(body))
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	const attackers = 16
	codes := make([]int, attackers)
	var wg sync.WaitGroup
	for i := 0; i < attackers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, ValidatePath, bytes.NewReader(body))
			w.ServeHTTP(rec, r)
			codes[i] = rec.Code
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	answered := 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			answered++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("HTTP %d, want 200 or 429", c)
		}
	}
	if answered == 0 {
		t.Errorf("no review answered")
	}
	// The bodies the attackers hold (16 × len(body), in the test's
	// requests) are not the webhook's: budget the webhook's share from the
	// limiter (2 reviews at once) times the decoding overhead.
	grown := int64(peak.Load()) - int64(base.HeapAlloc)
	limit := int64(len(body)) + 2*30*int64(len(body))
	t.Logf("%d of %d answered; heap grew by %d MiB at peak (limit %d MiB)", answered, attackers, grown>>20, limit>>20)
	if grown > limit {
		t.Errorf("heap grew by %d MiB, want at most %d MiB", grown>>20, limit>>20)
	}
}

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

func counter(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	return testutil.ToFloat64(c)
}
