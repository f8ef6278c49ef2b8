package bot

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"html/template"
	"math/bits"
	"net/netip"
	"strings"
	"time"
)

// CookieName is the cookie that carries a solved challenge.
const CookieName = "kordon_bot"

// challenger issues and verifies proof-of-work challenges. A challenge is
// base64url(expiry ‖ 12 random bytes ‖ HMAC-SHA256(key, expiry ‖ random ‖
// client address ‖ user agent)); a solution is the challenge, ".", and a
// nonce such that SHA-256(challenge "." nonce) starts with Difficulty zero
// bits. The browser finds the nonce with the script of the challenge page
// and sends it back as a cookie.
type challenger struct {
	key        []byte
	difficulty int
	ttl        time.Duration
}

const challengeLen = 8 + 12 + sha256.Size

func (c *challenger) mac(exp, random []byte, ip netip.Addr, ua string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(exp)
	m.Write(random)
	m.Write([]byte(clientKey(ip)))
	m.Write([]byte{0})
	m.Write([]byte(ua))
	return m.Sum(nil)
}

// issue makes a challenge for the client.
func (c *challenger) issue(now time.Time, ip netip.Addr, ua string) string {
	buf := make([]byte, 8, challengeLen)
	binary.BigEndian.PutUint64(buf, uint64(now.Add(c.ttl).Unix()))
	random := make([]byte, 12)
	_, _ = rand.Read(random)
	buf = append(buf, random...)
	buf = append(buf, c.mac(buf[:8], random, ip, ua)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// verify checks a cookie's solution for the client at now; it returns why
// it fails, or "".
func (c *challenger) verify(cookie string, now time.Time, ip netip.Addr, ua string) string {
	chal, nonce, ok := strings.Cut(cookie, ".")
	if !ok || len(nonce) == 0 || len(nonce) > 32 {
		return "malformed challenge cookie"
	}
	raw, err := base64.RawURLEncoding.DecodeString(chal)
	if err != nil || len(raw) != challengeLen {
		return "malformed challenge cookie"
	}
	if !hmac.Equal(raw[20:], c.mac(raw[:8], raw[8:20], ip, ua)) {
		return "challenge cookie of another client or key"
	}
	if exp := int64(binary.BigEndian.Uint64(raw[:8])); now.Unix() > exp {
		return "challenge cookie expired"
	}
	if leadingZeroBits(sha256.Sum256([]byte(chal+"."+nonce))) < c.difficulty {
		return "challenge not solved"
	}
	return ""
}

func leadingZeroBits(sum [sha256.Size]byte) int {
	n := 0
	for _, b := range sum {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}

// solve finds a nonce for a challenge, as the page's script does: for
// tests and for documentation of the protocol.
func solve(chal string, difficulty int) string {
	for i := 0; ; i++ {
		nonce := fmt.Sprint(i)
		if leadingZeroBits(sha256.Sum256([]byte(chal+"."+nonce))) >= difficulty {
			return nonce
		}
	}
}

// page renders the challenge page: a script that finds the nonce (SHA-256
// in plain JavaScript, since WebCrypto is missing on plain-HTTP origins),
// sets the cookie and reloads.
func (c *challenger) page(chal, scriptNonce string, secure bool) []byte {
	var buf bytes.Buffer
	_ = pageTemplate.Execute(&buf, map[string]any{
		"Challenge":  chal,
		"Difficulty": c.difficulty,
		"MaxAge":     int(c.ttl.Seconds()),
		"Secure":     secure,
		"Nonce":      scriptNonce,
	})
	return buf.Bytes()
}

var pageTemplate = template.Must(template.New("challenge").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<title>Checking your browser</title></head>
<body><p id="kordon-status">Checking your browser…</p>
<noscript><p>This site lets browsers in once they run a short JavaScript check. Please enable JavaScript and reload.</p></noscript>
<script nonce="{{.Nonce}}">
(function () {
  var K = [0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
    0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
    0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
    0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
    0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
    0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
    0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
    0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2];
  function rotr(x, n) { return (x >>> n) | (x << (32 - n)); }
  // sha256 of an ASCII string, as an array of 8 32-bit words.
  function sha256(s) {
    var l = s.length, n = ((l + 9 + 63) >> 6) << 4, w = new Array(n).fill(0), i;
    for (i = 0; i < l; i++) w[i >> 2] |= s.charCodeAt(i) << (24 - 8 * (i & 3));
    w[l >> 2] |= 0x80 << (24 - 8 * (l & 3));
    w[n - 1] = l * 8;
    var h = [0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19];
    var m = new Array(64);
    for (var off = 0; off < n; off += 16) {
      for (i = 0; i < 64; i++) {
        if (i < 16) { m[i] = w[off + i] | 0; continue; }
        var a = m[i - 15], b = m[i - 2];
        var s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3), s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10);
        m[i] = (m[i - 16] + s0 + m[i - 7] + s1) | 0;
      }
      var A = h[0], B = h[1], C = h[2], D = h[3], E = h[4], F = h[5], G = h[6], H = h[7];
      for (i = 0; i < 64; i++) {
        var t1 = (H + (rotr(E, 6) ^ rotr(E, 11) ^ rotr(E, 25)) + ((E & F) ^ (~E & G)) + K[i] + m[i]) | 0;
        var t2 = ((rotr(A, 2) ^ rotr(A, 13) ^ rotr(A, 22)) + ((A & B) ^ (A & C) ^ (B & C))) | 0;
        H = G; G = F; F = E; E = (D + t1) | 0; D = C; C = B; B = A; A = (t1 + t2) | 0;
      }
      h[0] = (h[0] + A) | 0; h[1] = (h[1] + B) | 0; h[2] = (h[2] + C) | 0; h[3] = (h[3] + D) | 0;
      h[4] = (h[4] + E) | 0; h[5] = (h[5] + F) | 0; h[6] = (h[6] + G) | 0; h[7] = (h[7] + H) | 0;
    }
    return h;
  }
  function zeroBits(h) {
    var n = 0;
    for (var i = 0; i < 8; i++) {
      if (h[i] === 0) { n += 32; continue; }
      return n + Math.clz32(h[i]);
    }
    return n;
  }
  var challenge = "{{.Challenge}}", difficulty = {{.Difficulty}};
  for (var nonce = 0; ; nonce++) {
    if (zeroBits(sha256(challenge + "." + nonce)) >= difficulty) break;
  }
  document.cookie = "{{"kordon_bot"}}=" + challenge + "." + nonce + "; path=/; max-age={{.MaxAge}}; SameSite=Lax{{if .Secure}}; Secure{{end}}";
  document.getElementById("kordon-status").textContent = "Done, loading…";
  location.reload();
})();
</script></body></html>
`))
