package admission

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

// FuzzServeHTTP posts arbitrary bodies with every policy on: the webhook
// must never panic, and must answer 400 or 200 with a response for the
// request's UID.
func FuzzServeHTTP(f *testing.F) {
	for _, seed := range []string{
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"shop","name":"p","userInfo":{"username":"u","groups":["g"]},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"shop","labels":{"app":"x"}},"spec":{"containers":[{"name":"c","image":"nginx","securityContext":{"privileged":true}}]}}}}`,
		`{"request":{"uid":"2","kind":{"group":"apps","version":"v1","kind":"Deployment"},"operation":"UPDATE","namespace":"shop","object":{"spec":{"template":{"metadata":{"labels":{"network.kordon.io/internet":"allowed"}},"spec":{"containers":[{"image":7}]}}}},"oldObject":{"metadata":{"labels":{"a":1}}}}}`,
		`{"request":{"uid":"3","kind":{"kind":"Namespace"},"operation":"UPDATE","name":"n","object":{"metadata":{"name":"n","labels":{"network.kordon.io/internet":"allowed"}}},"oldObject":null}}`,
		`{"request":{"uid":"4","kind":{"kind":"CronJob","group":"batch"},"operation":"CREATE","namespace":"lab","userInfo":{"groups":["team-a"]},"object":{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"initContainers":[{"name":"i","image":"@"}]}}}}}}}}`,
		`{"request":{}}`, `{}`, `[]`, `null`, `{"request":{"object":[1,2]}}`, `{"request":{"uid":"5","kind":{"kind":"Pod"},"object":{"spec":{"containers":"x"}}}}`,
	} {
		f.Add([]byte(seed))
	}
	fx := newFixture(f)
	w := fx.webhook(pssConfig + governanceConfig)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, ValidatePath, bytes.NewReader(body)))
		switch rec.Code {
		case http.StatusBadRequest:
			return
		case http.StatusOK:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		var out admissionv1.AdmissionReview
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
			t.Fatalf("response %q: %v", rec.Body.Bytes(), err)
		}
		if !out.Response.Allowed && out.Response.Result == nil {
			t.Errorf("denied without a status for %q", body)
		}
	})
}
