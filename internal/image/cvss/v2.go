package cvss

import (
	"fmt"
	"math"
	"strings"
)

var v2Weights = map[string]map[string]float64{
	"AV": {"L": 0.395, "A": 0.646, "N": 1.0},
	"AC": {"H": 0.35, "M": 0.61, "L": 0.71},
	"Au": {"M": 0.45, "S": 0.56, "N": 0.704},
	"C":  {"N": 0, "P": 0.275, "C": 0.660},
	"I":  {"N": 0, "P": 0.275, "C": 0.660},
	"A":  {"N": 0, "P": 0.275, "C": 0.660},
}

// v2Temporal are the temporal and environmental metrics a v2 vector may
// carry; they do not change the base score.
var v2Temporal = map[string]bool{"E": true, "RL": true, "RC": true, "CDP": true, "TD": true, "CR": true, "IR": true, "AR": true}

// BaseScoreV2 returns the base score of a CVSS v2 vector
// ("AV:N/AC:L/Au:N/C:P/I:P/A:P" → 7.5, optionally in parentheses or with
// a "CVSS:2.0/" prefix) with the equations of the CVSS v2 guide (section
// 3.2.1), rounded to one decimal.
func BaseScoreV2(vector string) (float64, error) {
	s := strings.TrimSuffix(strings.TrimPrefix(vector, "("), ")")
	s = strings.TrimPrefix(s, "CVSS:2.0/")
	m := map[string]string{}
	for _, p := range strings.Split(s, "/") {
		k, v, ok := strings.Cut(p, ":")
		if !ok {
			return 0, fmt.Errorf("cvss %q: bad metric %q", vector, p)
		}
		if _, dup := m[k]; dup {
			return 0, fmt.Errorf("cvss %q: metric %s twice", vector, k)
		}
		if _, base := v2Weights[k]; !base && !v2Temporal[k] {
			return 0, fmt.Errorf("cvss %q: unknown metric %s", vector, k)
		}
		m[k] = v
	}
	var w [6]float64
	for i, k := range []string{"AV", "AC", "Au", "C", "I", "A"} {
		x, ok := v2Weights[k][m[k]]
		if !ok {
			return 0, fmt.Errorf("cvss %q: metric %s=%q missing or invalid", vector, k, m[k])
		}
		w[i] = x
	}
	impact := 10.41 * (1 - (1-w[3])*(1-w[4])*(1-w[5]))
	expl := 20 * w[0] * w[1] * w[2]
	f := 1.176
	if impact == 0 {
		f = 0
	}
	score := (0.6*impact + 0.4*expl - 1.5) * f
	return math.Max(0, math.Floor(score*10+0.5+1e-9)/10), nil
}

// RatingV2 names a v2 score as NVD does: low (0.0-3.9), medium (4.0-6.9),
// high (7.0-10.0); v2 has no critical.
func RatingV2(score float64) string {
	switch {
	case score < 4:
		return "low"
	case score < 7:
		return "medium"
	}
	return "high"
}
