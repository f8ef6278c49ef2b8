package admission

import (
	"bytes"
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/kordon-dev/kordon/internal/admission/governance"
)

// requestFrom builds the policy view of an AdmissionRequest, decoding the
// objects as internal/k8s does (whole numbers int64).
func requestFrom(ar *admissionv1.AdmissionRequest) (*governance.Request, error) {
	obj, err := decodeRaw(ar.Object.Raw)
	if err != nil {
		return nil, fmt.Errorf("object: %w", err)
	}
	old, err := decodeRaw(ar.OldObject.Raw)
	if err != nil {
		return nil, fmt.Errorf("oldObject: %w", err)
	}
	return requestFromObjects(ar, obj, old), nil
}

// decodeRaw decodes one object's JSON; nil for an absent object.
func decodeRaw(raw []byte) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return m, nil
}
