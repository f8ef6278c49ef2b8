package crstest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxUpstreamBody bounds what the test backend reads of a request.
const maxUpstreamBody = 4 << 20

// Upstream is an http.Handler that behaves like CRS's test backend
// (albedo): POST /reflect answers with the status, headers and body a
// JSON document in the request asks for, so that response rules can be
// tested; every other request gets 200 and a short text body.
func Upstream() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxUpstreamBody))
		if err != nil {
			http.Error(w, "failed to read the request body", http.StatusBadRequest)
			return
		}
		if r.URL.Path == "/reflect" {
			reflect(w, body)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "Hello from the test backend\n")
	})
}

type reflection struct {
	Status      int               `json:"status"`
	Headers     map[string]string `json:"headers"`
	Body        string            `json:"body"`
	EncodedBody string            `json:"encodedBody"`
}

func reflect(w http.ResponseWriter, body []byte) {
	var spec reflection
	if err := json.Unmarshal(body, &spec); err != nil {
		http.Error(w, "invalid JSON in request body", http.StatusBadRequest)
		return
	}
	if spec.Status != 0 && (spec.Status < 100 || spec.Status >= 600) {
		http.Error(w, fmt.Sprintf("invalid status code: %d", spec.Status), http.StatusBadRequest)
		return
	}
	out := spec.Body
	if out == "" && spec.EncodedBody != "" {
		b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, strings.NewReader(spec.EncodedBody)))
		if err != nil {
			http.Error(w, "invalid base64 encoding of response body", http.StatusBadRequest)
			return
		}
		out = string(b)
	}
	for k, v := range spec.Headers {
		w.Header().Add(k, v)
	}
	status := spec.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, out)
}
