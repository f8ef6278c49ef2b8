// Package traffic reads recorded HTTP requests: HAR 1.2 files (as browsers'
// developer tools, mitmproxy, Charles, Postman and k6 export them) and
// Kordon's JSON Lines format, one request per line:
//
//	{"time": "2026-12-04T10:00:00Z", "method": "POST", "url": "/api/v1/pets?x=1",
//	 "headers": {"Content-Type": ["application/json"]}, "body": "{\"name\":\"Rex\"}",
//	 "body_base64": false, "status": 201}
//
// Readers stream: memory is bounded by the largest request, never by the
// size of the file.
package traffic
