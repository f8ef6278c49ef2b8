package cvss

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// v4Allowed lists each CVSS v4.0 metric's values: the eleven base metrics
// (mandatory), then the threat, environmental and supplemental ones
// (optional; X is Not Defined).
var v4Allowed = map[string][]string{
	"AV": {"N", "A", "L", "P"}, "AC": {"L", "H"}, "AT": {"N", "P"}, "PR": {"N", "L", "H"}, "UI": {"N", "P", "A"},
	"VC": {"H", "L", "N"}, "VI": {"H", "L", "N"}, "VA": {"H", "L", "N"},
	"SC": {"H", "L", "N"}, "SI": {"H", "L", "N"}, "SA": {"H", "L", "N"},
	"E":  {"X", "A", "P", "U"},
	"CR": {"X", "H", "M", "L"}, "IR": {"X", "H", "M", "L"}, "AR": {"X", "H", "M", "L"},
	"MAV": {"X", "N", "A", "L", "P"}, "MAC": {"X", "L", "H"}, "MAT": {"X", "N", "P"}, "MPR": {"X", "N", "L", "H"}, "MUI": {"X", "N", "P", "A"},
	"MVC": {"X", "H", "L", "N"}, "MVI": {"X", "H", "L", "N"}, "MVA": {"X", "H", "L", "N"},
	"MSC": {"X", "H", "L", "N"}, "MSI": {"X", "S", "H", "L", "N"}, "MSA": {"X", "S", "H", "L", "N"},
	"S": {"X", "N", "P"}, "AU": {"X", "N", "Y"}, "R": {"X", "A", "U", "I"}, "V": {"X", "D", "C"},
	"RE": {"X", "L", "M", "H"}, "U": {"X", "Clear", "Green", "Amber", "Red"},
}

var v4Base = []string{"AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"}

// v4Level is each metric value's severity level in steps of 0.1 from the
// most severe (0), for the severity distance of section 8.3.
var v4Level = map[string]map[string]int{
	"AV": {"N": 0, "A": 1, "L": 2, "P": 3}, "PR": {"N": 0, "L": 1, "H": 2}, "UI": {"N": 0, "P": 1, "A": 2},
	"AC": {"L": 0, "H": 1}, "AT": {"N": 0, "P": 1},
	"VC": {"H": 0, "L": 1, "N": 2}, "VI": {"H": 0, "L": 1, "N": 2}, "VA": {"H": 0, "L": 1, "N": 2},
	"SC": {"H": 1, "L": 2, "N": 3}, "SI": {"S": 0, "H": 1, "L": 2, "N": 3}, "SA": {"S": 0, "H": 1, "L": 2, "N": 3},
	"CR": {"H": 0, "M": 1, "L": 2}, "IR": {"H": 0, "M": 1, "L": 2}, "AR": {"H": 0, "M": 1, "L": 2},
}

// v4Highest lists, per equivalence class and level, the highest-severity
// vectors of its MacroVectors (specification section 8.3); EQ3 and EQ6
// are joint, indexed [EQ3][EQ6].
var (
	v4HighestEQ1 = [][]string{{"AV:N/PR:N/UI:N"}, {"AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"}, {"AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"}}
	v4HighestEQ2 = [][]string{{"AC:L/AT:N"}, {"AC:H/AT:N", "AC:L/AT:P"}}
	v4HighestEQ3 = [3][2][]string{
		{{"VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"}, {"VC:H/VI:H/VA:L/CR:M/IR:M/AR:H", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M"}},
		{{"VC:L/VI:H/VA:H/CR:H/IR:H/AR:H", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H"},
			{"VC:L/VI:H/VA:L/CR:H/IR:M/AR:H", "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M", "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M", "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H", "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M"}},
		{nil, {"VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"}},
	}
	v4HighestEQ4 = [][]string{{"SC:H/SI:S/SA:S"}, {"SC:H/SI:H/SA:H"}, {"SC:L/SI:L/SA:L"}}
)

// v4Depth is the maximal severity distance (+1, in steps of 0.1) inside
// the MacroVectors of each equivalence class level (section 8.3).
var (
	v4DepthEQ1 = []int{1, 4, 5}
	v4DepthEQ2 = []int{1, 2}
	v4DepthEQ3 = [3][2]int{{7, 6}, {8, 8}, {0, 10}}
	v4DepthEQ4 = []int{6, 5, 4}
)

// ScoreV4 returns the score of a CVSS v4.0 vector as the FIRST
// specification (section 8) computes it: the vector's MacroVector (six
// equivalence classes) gives a score from the expert-ranked lookup table,
// lowered by the vector's severity distance from the MacroVector's
// highest-severity vectors, interpolated against the next lower
// MacroVector of each class. With base metrics only it is the CVSS-B
// score; threat (E) and environmental (CR, IR, AR, M*) metrics, when the
// vector has them, apply as the specification says (CVSS-BT, -BE, -BTE);
// supplemental metrics do not change the score.
func ScoreV4(vector string) (float64, error) {
	m, err := parseV4(vector)
	if err != nil {
		return 0, err
	}
	eff := func(k string) string {
		if v, ok := m["M"+k]; ok && v != "X" {
			return v
		}
		switch v := m[k]; {
		case k == "E" && (v == "" || v == "X"):
			return "A"
		case (k == "CR" || k == "IR" || k == "AR") && (v == "" || v == "X"):
			return "H"
		default:
			return v
		}
	}
	impact := []string{eff("VC"), eff("VI"), eff("VA"), eff("SC"), eff("SI"), eff("SA")}
	if !slices.ContainsFunc(impact, func(v string) bool { return v != "N" }) {
		return 0, nil
	}
	eq := v4EQs(eff)
	value := v4Table(eq)
	// The next lower MacroVector of each class (NaN when there is none).
	lower := [5]float64{
		v4Table(with(eq, 0, eq[0]+1)),
		v4Table(with(eq, 1, eq[1]+1)),
		math.NaN(), // EQ3 and EQ6 together, below
		v4Table(with(eq, 3, eq[3]+1)),
		v4Table(with(eq, 4, eq[4]+1)),
	}
	switch e3, e6 := eq[2], eq[5]; {
	case e3 == 0 && e6 == 0:
		// Two lower neighbours: the higher-scoring one.
		lower[2] = math.Max(v4Table(with(eq, 5, 1)), v4Table(with(eq, 2, 1)))
	case e6 == 0: // e3 == 1
		lower[2] = v4Table(with(eq, 5, 1))
	default:
		lower[2] = v4Table(with(eq, 2, e3+1))
	}
	// The first highest-severity vector that the vector is not more severe
	// than in any metric gives the severity distances.
	var dist map[string]int
	for _, a := range v4HighestEQ1[eq[0]] {
		for _, b := range v4HighestEQ2[eq[1]] {
			for _, c := range v4HighestEQ3[eq[2]][eq[5]] {
				for _, d := range v4HighestEQ4[eq[3]] {
					if dist == nil {
						dist = v4Distances(eff, a+"/"+b+"/"+c+"/"+d)
					}
				}
			}
		}
	}
	if dist == nil {
		return 0, fmt.Errorf("cvss %q: no highest-severity vector below the vector (specification data)", vector)
	}
	current := [5]int{
		dist["AV"] + dist["PR"] + dist["UI"],
		dist["AC"] + dist["AT"],
		dist["VC"] + dist["VI"] + dist["VA"] + dist["CR"] + dist["IR"] + dist["AR"],
		dist["SC"] + dist["SI"] + dist["SA"],
		0,
	}
	depth := [5]int{v4DepthEQ1[eq[0]], v4DepthEQ2[eq[1]], v4DepthEQ3[eq[2]][eq[5]], v4DepthEQ4[eq[3]], 1}
	n, sum := 0, 0.0
	for i := range lower {
		if math.IsNaN(lower[i]) {
			continue
		}
		n++
		sum += (value - lower[i]) * float64(current[i]) / float64(depth[i])
	}
	if n > 0 {
		value -= sum / float64(n)
	}
	value = math.Min(math.Max(value, 0), 10)
	return math.Floor(value*10+0.5+1e-6) / 10, nil
}

// with returns eq with class i set to v.
func with(eq [6]int, i, v int) [6]int {
	eq[i] = v
	return eq
}

// v4EQs returns the six equivalence classes of a vector (section 8.1).
func v4EQs(eff func(string) string) [6]int {
	var eq [6]int
	av, pr, ui := eff("AV"), eff("PR"), eff("UI")
	switch {
	case av == "N" && pr == "N" && ui == "N":
		eq[0] = 0
	case (av == "N" || pr == "N" || ui == "N") && av != "P":
		eq[0] = 1
	default:
		eq[0] = 2
	}
	if eff("AC") != "L" || eff("AT") != "N" {
		eq[1] = 1
	}
	vc, vi, va := eff("VC"), eff("VI"), eff("VA")
	switch {
	case vc == "H" && vi == "H":
		eq[2] = 0
	case vc == "H" || vi == "H" || va == "H":
		eq[2] = 1
	default:
		eq[2] = 2
	}
	sc, si, sa := eff("SC"), eff("SI"), eff("SA")
	switch {
	case si == "S" || sa == "S":
		eq[3] = 0
	case sc == "H" || si == "H" || sa == "H":
		eq[3] = 1
	default:
		eq[3] = 2
	}
	switch eff("E") {
	case "P":
		eq[4] = 1
	case "U":
		eq[4] = 2
	}
	if !(eff("CR") == "H" && vc == "H" || eff("IR") == "H" && vi == "H" || eff("AR") == "H" && va == "H") {
		eq[5] = 1
	}
	return eq
}

// v4Table returns a MacroVector's score, NaN when it does not exist.
func v4Table(eq [6]int) float64 {
	var b [6]byte
	for i, e := range eq {
		b[i] = byte('0' + e)
	}
	if s, ok := v4Scores[string(b[:])]; ok {
		return float64(s) / 10
	}
	return math.NaN()
}

// v4Distances returns the vector's severity distance from a
// highest-severity vector per metric, or nil when the vector is more
// severe in some metric.
func v4Distances(eff func(string) string, highest string) map[string]int {
	out := map[string]int{}
	for _, p := range strings.Split(highest, "/") {
		k, v, _ := strings.Cut(p, ":")
		d := v4Level[k][eff(k)] - v4Level[k][v]
		if d < 0 {
			return nil
		}
		out[k] = d
	}
	return out
}

// parseV4 checks a vector's syntax: the CVSS:4.0 prefix, every base metric
// once, known metrics with valid values, none twice.
func parseV4(vector string) (map[string]string, error) {
	parts := strings.Split(vector, "/")
	if parts[0] != "CVSS:4.0" {
		return nil, fmt.Errorf("cvss %q: not a CVSS v4.0 vector", vector)
	}
	m := map[string]string{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, ":")
		if !ok {
			return nil, fmt.Errorf("cvss %q: bad metric %q", vector, p)
		}
		allowed, known := v4Allowed[k]
		if !known {
			return nil, fmt.Errorf("cvss %q: unknown metric %s", vector, k)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("cvss %q: metric %s twice", vector, k)
		}
		if !slices.Contains(allowed, v) {
			return nil, fmt.Errorf("cvss %q: metric %s=%q is not one of %s", vector, k, v, strings.Join(allowed, ", "))
		}
		m[k] = v
	}
	for _, k := range v4Base {
		if _, ok := m[k]; !ok {
			return nil, fmt.Errorf("cvss %q: base metric %s missing", vector, k)
		}
	}
	return m, nil
}

// v4Scores are the scores of the 270 CVSS v4.0 MacroVectors (digits EQ1..EQ6),
// in tenths: FIRST's expert-ranked lookup table (CVSS v4.0 specification,
// section 8.2; the data of FIRST's reference calculator, BSD-2-Clause,
// github.com/RedHatProductSecurity/cvss-v4-calculator).
var v4Scores = map[string]int{
	"000000": 100, "000001": 99, "000010": 98, "000011": 95, "000020": 95, "000021": 92, "000100": 100, "000101": 96,
	"000110": 93, "000111": 87, "000120": 91, "000121": 81, "000200": 93, "000201": 90, "000210": 89, "000211": 80,
	"000220": 81, "000221": 68, "001000": 98, "001001": 95, "001010": 95, "001011": 92, "001020": 90, "001021": 84,
	"001100": 93, "001101": 92, "001110": 89, "001111": 81, "001120": 81, "001121": 65, "001200": 88, "001201": 80,
	"001210": 78, "001211": 70, "001220": 69, "001221": 48, "002001": 92, "002011": 82, "002021": 72, "002101": 79,
	"002111": 69, "002121": 50, "002201": 69, "002211": 55, "002221": 27, "010000": 99, "010001": 97, "010010": 95,
	"010011": 92, "010020": 92, "010021": 85, "010100": 95, "010101": 91, "010110": 90, "010111": 83, "010120": 84,
	"010121": 71, "010200": 92, "010201": 81, "010210": 82, "010211": 71, "010220": 72, "010221": 53, "011000": 95,
	"011001": 93, "011010": 92, "011011": 85, "011020": 85, "011021": 73, "011100": 92, "011101": 82, "011110": 80,
	"011111": 72, "011120": 70, "011121": 59, "011200": 84, "011201": 70, "011210": 71, "011211": 52, "011220": 50,
	"011221": 30, "012001": 86, "012011": 75, "012021": 52, "012101": 71, "012111": 52, "012121": 29, "012201": 63,
	"012211": 29, "012221": 17, "100000": 98, "100001": 95, "100010": 94, "100011": 87, "100020": 91, "100021": 81,
	"100100": 94, "100101": 89, "100110": 86, "100111": 74, "100120": 77, "100121": 64, "100200": 87, "100201": 75,
	"100210": 74, "100211": 63, "100220": 63, "100221": 49, "101000": 94, "101001": 89, "101010": 88, "101011": 77,
	"101020": 76, "101021": 67, "101100": 86, "101101": 76, "101110": 74, "101111": 58, "101120": 59, "101121": 50,
	"101200": 72, "101201": 57, "101210": 57, "101211": 52, "101220": 52, "101221": 25, "102001": 83, "102011": 70,
	"102021": 54, "102101": 65, "102111": 58, "102121": 26, "102201": 53, "102211": 21, "102221": 13, "110000": 95,
	"110001": 90, "110010": 88, "110011": 76, "110020": 76, "110021": 70, "110100": 90, "110101": 77, "110110": 75,
	"110111": 62, "110120": 61, "110121": 53, "110200": 77, "110201": 66, "110210": 68, "110211": 59, "110220": 52,
	"110221": 30, "111000": 89, "111001": 78, "111010": 76, "111011": 67, "111020": 62, "111021": 58, "111100": 74,
	"111101": 59, "111110": 57, "111111": 57, "111120": 47, "111121": 23, "111200": 61, "111201": 52, "111210": 57,
	"111211": 29, "111220": 24, "111221": 16, "112001": 71, "112011": 59, "112021": 30, "112101": 58, "112111": 26,
	"112121": 15, "112201": 23, "112211": 13, "112221": 6, "200000": 93, "200001": 87, "200010": 86, "200011": 72,
	"200020": 75, "200021": 58, "200100": 86, "200101": 74, "200110": 74, "200111": 61, "200120": 56, "200121": 34,
	"200200": 70, "200201": 54, "200210": 52, "200211": 40, "200220": 40, "200221": 22, "201000": 85, "201001": 75,
	"201010": 74, "201011": 55, "201020": 62, "201021": 51, "201100": 72, "201101": 57, "201110": 55, "201111": 41,
	"201120": 46, "201121": 19, "201200": 53, "201201": 36, "201210": 34, "201211": 19, "201220": 19, "201221": 8,
	"202001": 64, "202011": 51, "202021": 20, "202101": 47, "202111": 21, "202121": 11, "202201": 24, "202211": 9,
	"202221": 4, "210000": 88, "210001": 75, "210010": 73, "210011": 53, "210020": 60, "210021": 50, "210100": 73,
	"210101": 55, "210110": 59, "210111": 40, "210120": 41, "210121": 20, "210200": 54, "210201": 43, "210210": 45,
	"210211": 22, "210220": 20, "210221": 11, "211000": 75, "211001": 55, "211010": 58, "211011": 45, "211020": 40,
	"211021": 21, "211100": 61, "211101": 51, "211110": 48, "211111": 18, "211120": 20, "211121": 9, "211200": 46,
	"211201": 18, "211210": 17, "211211": 7, "211220": 8, "211221": 2, "212001": 53, "212011": 24, "212021": 14,
	"212101": 24, "212111": 12, "212121": 5, "212201": 10, "212211": 3, "212221": 1,
}
