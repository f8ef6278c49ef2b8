package loadtest

import (
	"encoding/json"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
)

// Floor is the trivial webhook the benchmarks compare kordon with: the
// least any Go webhook does with a review — read it with encoding/json
// into the API types, admit it, answer with its uid — served by the same
// TLS server, so that a run on a busy machine measures kordon's cost
// relative to it rather than absolute times the other jobs decide.
var Floor http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 7<<20)).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
		return
	}
	review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	review.Request = nil
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&review)
})
