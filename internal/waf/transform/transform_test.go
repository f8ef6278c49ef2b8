package transform

import (
	"strings"
	"testing"
)

// allInputs are the regression, hostile and random values the differential tests use.
func allInputs(t testing.TB, random int) []string {
	vs := append(regressionValues(t), hostileValues()...)
	return append(vs, randomValues(1, random)...)
}

// TestSinglesMatchCoraza compares every transformation, alone, with Coraza's on every input,
// with and without multiMatch (which observes the changed flag).
func TestSinglesMatchCoraza(t *testing.T) {
	o := newOracle(t, singles())
	inputs := allInputs(t, 3000)
	n := 0
	for _, v := range inputs {
		n += o.check(t, v)
		if t.Failed() && n > 200 {
			break
		}
	}
	t.Logf("%d inputs, %d comparisons", len(inputs), n)
}

// TestCRSChainsMatchCoraza compares every t: list of CRS v4.25.0 with Coraza on every input,
// with and without multiMatch.
func TestCRSChainsMatchCoraza(t *testing.T) {
	lists, multi := crsChains(t)
	if len(lists) < 20 {
		t.Fatalf("found only %d t: lists in CRS; the rough parse is broken", len(lists))
	}
	o := newOracle(t, lists)
	inputs := allInputs(t, 1000)
	n := 0
	for _, v := range inputs {
		n += o.check(t, v)
	}
	// The same inputs again, 16 to a request.
	for i := 0; i < len(inputs); i += 16 {
		n += o.checkBatch(t, inputs[i:min(i+16, len(inputs))])
	}
	t.Logf("%d CRS t: lists (%d with multiMatch), %d inputs, %d comparisons", len(lists), multi, len(inputs), n)
}

// TestCRSChainsCompile checks that every t: list of CRS v4.25.0 compiles.
func TestCRSChainsCompile(t *testing.T) {
	lists, _ := crsChains(t)
	keys := map[string]bool{}
	for _, l := range lists {
		c, err := Compile(l)
		if err != nil {
			t.Errorf("Compile(%q): %v", l, err)
			continue
		}
		keys[c.String()] = true
	}
	t.Logf("%d t: lists, %d distinct chains", len(lists), len(keys))
}

// TestMixedChainsMatchCoraza compares odd t: lists (none in the middle, repeats, aliases and
// odd case, failing steps) with Coraza.
func TestMixedChainsMatchCoraza(t *testing.T) {
	lists := [][]string{
		{"lowercase", "none", "urlDecodeUni"},
		{"urlDecodeUni", "urlDecodeUni", "urlDecodeUni"},
		{"hexDecode", "lowercase"},
		{"lowercase", "hexDecode", "base64Decode", "hexDecode"},
		{"URLDECODEUNI", "LowerCase", "normalisePath", "normalisePathWin", "None"},
		{"length", "length"},
		{"base64DecodeExt", "htmlEntityDecode", "jsDecode", "cssDecode"},
		{"utf8toUnicode", "urlDecodeUni", "removeWhitespace", "compressWhitespace", "trim"},
		{"removeComments", "replaceComments", "removeCommentsChar", "cmdLine", "escapeSeqDecode", "replaceNulls", "removeNulls"},
		{"urlDecode", "none"},
	}
	o := newOracle(t, lists)
	for _, v := range allInputs(t, 500) {
		o.check(t, v)
	}
}

// TestUnicodeEscapesMatchCoraza compares urlDecodeUni and jsDecode with Coraza on the escape
// of every 16-bit code point, which covers the whole best-fit table.
func TestUnicodeEscapesMatchCoraza(t *testing.T) {
	o := newOracle(t, [][]string{{"urlDecodeUni"}, {"jsDecode"}})
	const hexdigits = "0123456789abcdef"
	for _, prefix := range []string{"%u", `\u`} {
		var sb strings.Builder
		for code := 0; code < 0x10000; code++ {
			sb.WriteString(prefix)
			for shift := 12; shift >= 0; shift -= 4 {
				sb.WriteByte(hexdigits[code>>shift&0xf])
			}
		}
		o.check(t, sb.String())
		o.check(t, strings.ToUpper(sb.String()))
	}
}

func TestLookup(t *testing.T) {
	for _, name := range []string{"urlDecodeUni", "urldecodeuni", "URLDECODEUNI", "normalisePath", "normalizePathWin", "none"} {
		if _, ok := Lookup(name); !ok {
			t.Errorf("Lookup(%q): not found", name)
		}
	}
	none, _ := Lookup("None")
	if out, changed, err := none("a\x00b"); out != "a\x00b" || changed || err != nil {
		t.Errorf("none(%q) = %q, %v, %v", "a\x00b", out, changed, err)
	}
	for _, name := range []string{"sqlHexDecode", "base64", "normalise", "lower", "urlDecodeUni ", ""} {
		if _, ok := Lookup(name); ok {
			t.Errorf("Lookup(%q): found, want not implemented", name)
		}
	}
}

func TestCompile(t *testing.T) {
	tests := []struct {
		names   []string
		want    string
		wantErr bool
	}{
		{names: nil, want: ""},
		{names: []string{"none"}, want: ""},
		{names: []string{"lowercase", "none", "urlDecodeUni"}, want: "urlDecodeUni"},
		{names: []string{"LOWERCASE", "None", "normalisePath"}, want: "lowercase,normalizePath"},
		{names: []string{"lowercase", "sqlHexDecode"}, wantErr: true},
	}
	for _, tt := range tests {
		c, err := Compile(tt.names)
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), "sqlHexDecode") {
				t.Errorf("Compile(%q) error = %v, want one naming sqlHexDecode", tt.names, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.names, err)
			continue
		}
		if got := c.String(); got != tt.want {
			t.Errorf("Compile(%q).String() = %q, want %q", tt.names, got, tt.want)
		}
		wantLen := 0
		if tt.want != "" {
			wantLen = strings.Count(tt.want, ",") + 1
		}
		if got := c.Len(); got != wantLen {
			t.Errorf("Compile(%q).Len() = %d, want %d", tt.names, got, wantLen)
		}
	}
}

// TestApplyReturnsInputUnchanged checks that Apply hands back s itself (no copy) when no
// transformation changes it.
func TestApplyReturnsInputUnchanged(t *testing.T) {
	c, err := Compile([]string{"utf8toUnicode", "urlDecodeUni", "htmlEntityDecode", "jsDecode", "cssDecode", "lowercase", "removeNulls", "cmdLine", "compressWhitespace", "removeWhitespace", "replaceComments", "removeCommentsChar", "escapeSeqDecode", "normalizePath", "normalizePathWin"})
	if err != nil {
		t.Fatal(err)
	}
	s := "mozilla5.0x11linuxx86_64rv109.0gecko20100101firefox115.0"
	allocs := testing.AllocsPerRun(100, func() { _ = c.Apply(s) })
	if allocs != 0 {
		t.Errorf("Apply on a value no transformation changes allocates %v times, want 0", allocs)
	}
	if got := c.Apply(s); got != s {
		t.Errorf("Apply(%q) = %q", s, got)
	}
}
