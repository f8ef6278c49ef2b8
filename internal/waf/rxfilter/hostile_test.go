package rxfilter

import (
	"math/rand"
	"strings"
	"testing"
)

// hostilePatterns are large or deeply nested patterns; Required must
// finish on them (bounded work) and stay sound.
func hostilePatterns() []string {
	words := make([]string, 20000)
	for i := range words {
		words[i] = string([]byte{byte('a' + i%26), byte('a' + i/26%26), byte('a' + i/676%26), byte('a' + i/17576%26), 'z'})
	}
	return []string{
		strings.Repeat("(?:a|b|", 300) + strings.Repeat(")", 300),
		strings.Repeat("(", 900) + "x" + strings.Repeat(")", 900),
		"(?:" + strings.Join(words, "|") + ")",
		"(?i)(?:" + strings.Join(words, "|") + "){2}",
		"[a-h][a-h][a-h][a-h][a-h][a-h][a-h][a-h][a-h][a-h]",
		"(?i)" + strings.Repeat("sk", 500),
		"(?:(?:(?:ab){10}){10}){10}",
		strings.Repeat("[ks](?i:k)?", 300),
		strings.Repeat("\\pL", 1000),
	}
}

func TestRequiredHostile(t *testing.T) {
	for i, p := range hostilePatterns() {
		lits, ok, err := Required(p)
		if err != nil {
			t.Logf("pattern %d: %v", i, err)
			continue
		}
		checkLits(t, p, lits)
		t.Logf("pattern %d (%d bytes): ok=%v, %d literals", i, len(p), ok, len(lits))
		if ok {
			soundOn(t, rand.New(rand.NewSource(int64(i))), p, lits, sample(200), nil)
		}
	}
}
