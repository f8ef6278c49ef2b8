package bot

import (
	"net/http"
	"strings"
)

// AgentClass is what a request's User-Agent says about its client.
type AgentClass string

const (
	// Browser: a browser's user agent.
	Browser AgentClass = "browser"
	// Scanner: an attack or vulnerability scanning tool.
	Scanner AgentClass = "scanner"
	// Headless: a browser driven by automation (headless Chrome,
	// PhantomJS, Selenium markers).
	Headless AgentClass = "headless"
	// Automation: an HTTP library or command-line client (curl, wget,
	// python-requests, Go's client…), often legitimate for APIs.
	Automation AgentClass = "automation"
	// Missing: no User-Agent at all.
	Missing AgentClass = "missing"
	// Other: anything else (crawlers, apps, unknown clients).
	Other AgentClass = "other"
)

// scanners are substrings (lower case) of the user agents of attack and
// scanning tools, which never belong to a legitimate client.
var scanners = []string{
	"sqlmap", "nikto", "nmap", "masscan", "zgrab", "nuclei", "wpscan", "dirbuster", "gobuster",
	"feroxbuster", "ffuf", "wfuzz", "acunetix", "netsparker", "w3af", "havij", "arachni", "skipfish",
	"openvas", "nessus", "burpcollaborator", "jaeles", "commix", "xsstrike", "dirsearch", "whatweb",
	"zmeu", "morfeus", "fimap", "webshag", "httprint", "paros", "grabber", "brutus", "hydra",
	"interactsh", "censysinspect", "wappalyzer",
}

var headless = []string{"headlesschrome", "phantomjs", "slimerjs", "electron/", "puppeteer", "playwright", "selenium", "webdriver"}

var automation = []string{
	"curl/", "wget/", "python-requests", "python-urllib", "aiohttp", "httpx", "go-http-client", "java/",
	"okhttp", "apache-httpclient", "libwww-perl", "lwp::", "ruby", "faraday", "axios/", "node-fetch",
	"undici", "got (", "postmanruntime", "insomnia", "httpie", "powershell", "winhttp", "scrapy", "mechanize",
	"guzzlehttp", "restsharp", "dart:io", "reqwest", "k6/", "vegeta", "hey/", "ab/", "wrk",
}

// ClassifyAgent says what kind of client a User-Agent names.
func ClassifyAgent(ua string) AgentClass {
	if strings.TrimSpace(ua) == "" {
		return Missing
	}
	l := strings.ToLower(ua)
	for _, s := range scanners {
		if strings.Contains(l, s) {
			return Scanner
		}
	}
	for _, s := range headless {
		if strings.Contains(l, s) {
			return Headless
		}
	}
	for _, s := range automation {
		if strings.HasPrefix(l, s) || strings.Contains(l, " "+s) {
			return Automation
		}
	}
	if strings.HasPrefix(l, "mozilla/5.0") && (strings.Contains(l, "chrome/") || strings.Contains(l, "firefox/") || strings.Contains(l, "safari/") || strings.Contains(l, "edg/")) {
		return Browser
	}
	return Other
}

// browserAnomaly returns why a request whose User-Agent claims a browser
// does not look like one, or "": browsers always send Accept and
// Accept-Language, and Chromium-based browsers since version 76 and
// Firefox since 90 send Sec-Fetch-Mode on every request (over HTTPS and
// to localhost; over plain HTTP elsewhere they may not, so its absence is
// judged only on TLS requests).
func browserAnomaly(r *http.Request) string {
	switch {
	case r.Header.Get("Accept") == "":
		return "a browser's User-Agent without an Accept header"
	case r.Header.Get("Accept-Language") == "":
		return "a browser's User-Agent without an Accept-Language header"
	case r.TLS != nil && r.Header.Get("Sec-Fetch-Mode") == "" && modernBrowser(r.UserAgent()):
		return "a recent browser's User-Agent without Sec-Fetch-Mode"
	}
	return ""
}

// modernBrowser reports a Chromium 76+ or Firefox 90+ user agent.
func modernBrowser(ua string) bool {
	for _, p := range []struct {
		marker string
		min    int
	}{{"Chrome/", 76}, {"Firefox/", 90}} {
		if i := strings.Index(ua, p.marker); i >= 0 {
			v := 0
			for _, c := range ua[i+len(p.marker):] {
				if c < '0' || c > '9' {
					break
				}
				v = v*10 + int(c-'0')
			}
			return v >= p.min
		}
	}
	return false
}
