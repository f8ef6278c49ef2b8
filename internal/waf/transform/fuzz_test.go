package transform

import "testing"

// The fuzz targets are differential: each feeds its input to Coraza through the capture operator
// and compares, with and without multiMatch. Their seeds (hostile cases and a sample of CRS
// regression payloads) also run as tests. Run one for a while with, e.g.,
//
//	go test -run '^$' -fuzz '^FuzzURLDecodeUni$' -fuzztime 10s ./internal/waf/transform

// fuzzChains runs a differential fuzz target for the given t: lists.
func fuzzChains(f *testing.F, lists [][]string) {
	for _, v := range hostileValues() {
		f.Add(v)
	}
	if reg := regressionValues(f); len(reg) > 0 {
		for i := 0; i < len(reg); i += 40 { // a sample, to keep the seed run short
			f.Add(reg[i])
		}
	}
	o := newOracle(f, lists)
	f.Fuzz(func(t *testing.T, v string) {
		o.check(t, v)
	})
}

// FuzzChains compares every t: list of CRS v4.25.0 with Coraza.
func FuzzChains(f *testing.F) {
	lists, _ := crsChains(f)
	fuzzChains(f, lists)
}

func FuzzBase64Decode(f *testing.F) { fuzzChains(f, [][]string{{"base64Decode"}}) }

func FuzzBase64DecodeExt(f *testing.F) { fuzzChains(f, [][]string{{"base64DecodeExt"}}) }

func FuzzBase64Encode(f *testing.F) { fuzzChains(f, [][]string{{"base64Encode"}}) }

func FuzzCmdLine(f *testing.F) { fuzzChains(f, [][]string{{"cmdLine"}}) }

func FuzzCompressWhitespace(f *testing.F) { fuzzChains(f, [][]string{{"compressWhitespace"}}) }

func FuzzCSSDecode(f *testing.F) { fuzzChains(f, [][]string{{"cssDecode"}}) }

func FuzzEscapeSeqDecode(f *testing.F) { fuzzChains(f, [][]string{{"escapeSeqDecode"}}) }

func FuzzHexDecode(f *testing.F) { fuzzChains(f, [][]string{{"hexDecode"}}) }

func FuzzHexEncode(f *testing.F) { fuzzChains(f, [][]string{{"hexEncode"}}) }

func FuzzHtmlEntityDecode(f *testing.F) { fuzzChains(f, [][]string{{"htmlEntityDecode"}}) }

func FuzzJsDecode(f *testing.F) { fuzzChains(f, [][]string{{"jsDecode"}}) }

func FuzzLength(f *testing.F) { fuzzChains(f, [][]string{{"length"}}) }

func FuzzLowercase(f *testing.F) { fuzzChains(f, [][]string{{"lowercase"}}) }

func FuzzMD5(f *testing.F) { fuzzChains(f, [][]string{{"md5"}}) }

func FuzzNormalizePath(f *testing.F) { fuzzChains(f, [][]string{{"normalizePath"}}) }

func FuzzNormalizePathWin(f *testing.F) { fuzzChains(f, [][]string{{"normalizePathWin"}}) }

func FuzzRemoveComments(f *testing.F) { fuzzChains(f, [][]string{{"removeComments"}}) }

func FuzzRemoveCommentsChar(f *testing.F) { fuzzChains(f, [][]string{{"removeCommentsChar"}}) }

func FuzzRemoveNulls(f *testing.F) { fuzzChains(f, [][]string{{"removeNulls"}}) }

func FuzzRemoveWhitespace(f *testing.F) { fuzzChains(f, [][]string{{"removeWhitespace"}}) }

func FuzzReplaceComments(f *testing.F) { fuzzChains(f, [][]string{{"replaceComments"}}) }

func FuzzReplaceNulls(f *testing.F) { fuzzChains(f, [][]string{{"replaceNulls"}}) }

func FuzzSHA1(f *testing.F) { fuzzChains(f, [][]string{{"sha1"}}) }

func FuzzTrim(f *testing.F) { fuzzChains(f, [][]string{{"trim"}}) }

func FuzzTrimLeft(f *testing.F) { fuzzChains(f, [][]string{{"trimLeft"}}) }

func FuzzTrimRight(f *testing.F) { fuzzChains(f, [][]string{{"trimRight"}}) }

func FuzzUppercase(f *testing.F) { fuzzChains(f, [][]string{{"uppercase"}}) }

func FuzzURLDecode(f *testing.F) { fuzzChains(f, [][]string{{"urlDecode"}}) }

func FuzzURLDecodeUni(f *testing.F) { fuzzChains(f, [][]string{{"urlDecodeUni"}}) }

func FuzzURLEncode(f *testing.F) { fuzzChains(f, [][]string{{"urlEncode"}}) }

func FuzzUTF8toUnicode(f *testing.F) { fuzzChains(f, [][]string{{"utf8toUnicode"}}) }
