package cvss

import (
	"strings"
	"testing"
)

// TestBaseScoreV2 checks scores against NVD's published v2 base scores.
func TestBaseScoreV2(t *testing.T) {
	for vector, want := range map[string]float64{
		"AV:N/AC:L/Au:N/C:P/I:P/A:P":           7.5,  // CVE-2014-0160 era web RCEs
		"AV:N/AC:L/Au:N/C:C/I:C/A:C":           10.0, // CVE-2014-6271 (Shellshock)
		"AV:N/AC:L/Au:N/C:P/I:N/A:N":           5.0,  // CVE-2014-0160 (Heartbleed)
		"AV:N/AC:M/Au:N/C:N/I:P/A:N":           4.3,
		"AV:L/AC:L/Au:N/C:C/I:C/A:C":           7.2,
		"AV:N/AC:M/Au:N/C:C/I:C/A:C":           9.3,
		"AV:N/AC:L/Au:S/C:P/I:P/A:P":           6.5,
		"AV:L/AC:H/Au:N/C:N/I:N/A:N":           0,
		"(AV:N/AC:L/Au:N/C:N/I:N/A:P)":         5.0,
		"AV:N/AC:L/Au:N/C:N/I:N/A:P/E:F/RL:OF": 5.0,
		"CVSS:2.0/AV:A/AC:L/Au:N/C:P/I:P/A:P":  5.8,
	} {
		got, err := BaseScoreV2(vector)
		if err != nil || got != want {
			t.Errorf("BaseScoreV2(%s) = %v, %v; want %v", vector, got, err, want)
		}
	}
	for vector, want := range map[string]string{
		"AV:N/AC:L/Au:N/C:P/I:P":          `metric A=""`,
		"AV:X/AC:L/Au:N/C:P/I:P/A:P":      `metric AV="X"`,
		"AV:N/AC:L/Au:N/C:P/I:P/A:P/Z":    `bad metric "Z"`,
		"AV:N/AV:N/AC:L/Au:N/C:P/I:P/A:P": "metric AV twice",
		"AV:N/AC:L/AU:N/C:P/I:P/A:P":      "unknown metric AU",
	} {
		if _, err := BaseScoreV2(vector); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("BaseScoreV2(%q): got %v, want an error containing %q", vector, err, want)
		}
	}
	if RatingV2(10) != "high" || RatingV2(4) != "medium" || RatingV2(3.9) != "low" {
		t.Error("RatingV2")
	}
}
