// Package cvss computes CVSS scores from vectors as the FIRST
// specifications define them, and names their qualitative ratings:
// v4.0 (ScoreV4: MacroVector equivalence classes, the expert-ranked
// lookup table and severity-distance interpolation), v3.0 and v3.1
// (BaseScore: section 7.1 and Appendix A's Roundup) and v2 (BaseScoreV2:
// the v2 guide's base equations).
package cvss

import (
	"fmt"
	"math"
	"strings"
)

var weights = map[string]map[string]float64{
	"AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
	"AC": {"L": 0.77, "H": 0.44},
	"UI": {"N": 0.85, "R": 0.62},
	"C":  {"H": 0.56, "L": 0.22, "N": 0},
	"I":  {"H": 0.56, "L": 0.22, "N": 0},
	"A":  {"H": 0.56, "L": 0.22, "N": 0},
}

// BaseScore returns the base score of a v3.x vector.
func BaseScore(vector string) (float64, error) {
	parts := strings.Split(vector, "/")
	if len(parts) == 0 || (parts[0] != "CVSS:3.1" && parts[0] != "CVSS:3.0") {
		return 0, fmt.Errorf("cvss %q: not a CVSS v3.0 or v3.1 vector", vector)
	}
	v31 := parts[0] == "CVSS:3.1"
	m := map[string]string{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, ":")
		if !ok {
			return 0, fmt.Errorf("cvss %q: bad metric %q", vector, p)
		}
		if _, dup := m[k]; dup {
			return 0, fmt.Errorf("cvss %q: metric %s twice", vector, k)
		}
		m[k] = v
	}
	val := func(k string) (float64, error) {
		w, ok := weights[k][m[k]]
		if !ok {
			return 0, fmt.Errorf("cvss %q: metric %s=%q missing or invalid", vector, k, m[k])
		}
		return w, nil
	}
	scope := m["S"]
	if scope != "U" && scope != "C" {
		return 0, fmt.Errorf("cvss %q: metric S=%q missing or invalid", vector, scope)
	}
	var pr float64
	switch m["PR"] {
	case "N":
		pr = 0.85
	case "L":
		pr = map[bool]float64{false: 0.62, true: 0.68}[scope == "C"]
	case "H":
		pr = map[bool]float64{false: 0.27, true: 0.5}[scope == "C"]
	default:
		return 0, fmt.Errorf("cvss %q: metric PR=%q missing or invalid", vector, m["PR"])
	}
	var w [6]float64
	for i, k := range []string{"AV", "AC", "UI", "C", "I", "A"} {
		x, err := val(k)
		if err != nil {
			return 0, err
		}
		w[i] = x
	}
	av, ac, ui, c, in, a := w[0], w[1], w[2], w[3], w[4], w[5]
	iss := 1 - (1-c)*(1-in)*(1-a)
	var impact float64
	if scope == "U" {
		impact = 6.42 * iss
	} else {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	}
	expl := 8.22 * av * ac * pr * ui
	if impact <= 0 {
		return 0, nil
	}
	s := impact + expl
	if scope == "C" {
		s *= 1.08
	}
	return roundup(math.Min(s, 10), v31), nil
}

// roundup is the specification's: v3.1's Appendix A avoids floating
// point surprises; v3.0 rounds up to one decimal.
func roundup(x float64, v31 bool) float64 {
	if !v31 {
		return math.Ceil(x*10) / 10
	}
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return float64(i/10000+1) / 10
}

// Rating names a score: none (0), low (0.1-3.9), medium (4.0-6.9),
// high (7.0-8.9), critical (9.0-10.0).
func Rating(score float64) string {
	switch {
	case score == 0:
		return "none"
	case score < 4:
		return "low"
	case score < 7:
		return "medium"
	case score < 9:
		return "high"
	}
	return "critical"
}
