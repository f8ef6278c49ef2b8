package traffic

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// MaxRecord is the largest request one record may describe (16 MiB of
// JSON).
const MaxRecord = 16 << 20

// Record is one recorded request.
type Record struct {
	Time   time.Time
	Method string
	URL    *url.URL
	Header http.Header
	Body   []byte
	// Status is the response status, 0 when not recorded.
	Status int
}

// Problem is a record that could not be read: the file and the line (JSON
// Lines) or entry index (HAR) and why. Reading continues after it.
type Problem struct {
	File string
	// Line is the JSON Lines line, or 0 for HAR.
	Line int
	// Entry is the HAR entry index, or -1 for JSON Lines.
	Entry int
	Err   error
}

func (p *Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", p.File, p.Line, p.Err)
	}
	return fmt.Sprintf("%s: entry %d: %v", p.File, p.Entry, p.Err)
}

// Read reads the records of r, HAR or JSON Lines (told apart by their
// first bytes), calling fn for each and problem for each record that
// cannot be read. The error is for input that cannot be read at all, or
// an error fn or problem returns, which stops reading.
func Read(r io.Reader, file string, fn func(Record) error, problem func(*Problem) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(512)
	head = bytes.TrimLeft(head, " \t\r\n\ufeff")
	if bytes.HasPrefix(head, []byte(`{`)) && isHAR(head) {
		return readHAR(br, file, fn, problem)
	}
	return readJSONL(br, file, fn, problem)
}

// isHAR reports whether a document starts like a HAR file: an object
// whose first key is "log".
func isHAR(head []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(head))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	t, err := dec.Token()
	return err == nil && t == "log"
}

type jsonlRecord struct {
	Time       time.Time           `json:"time"`
	Method     string              `json:"method"`
	URL        string              `json:"url"`
	Headers    map[string][]string `json:"headers"`
	Body       string              `json:"body"`
	BodyBase64 bool                `json:"body_base64"`
	Status     int                 `json:"status"`
}

func readJSONL(br *bufio.Reader, file string, fn func(Record) error, problem func(*Problem) error) error {
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), MaxRecord)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		var jr jsonlRecord
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		err := dec.Decode(&jr)
		var rec Record
		if err == nil {
			rec, err = jr.record()
		}
		if err != nil {
			if perr := problem(&Problem{File: file, Line: line, Entry: -1, Err: err}); perr != nil {
				return perr
			}
			continue
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s:%d: a line longer than %d bytes", file, line+1, MaxRecord)
		}
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

func (jr *jsonlRecord) record() (Record, error) {
	u, err := parseURL(jr.URL)
	if err != nil {
		return Record{}, err
	}
	if jr.Method == "" {
		return Record{}, errors.New("no method")
	}
	body := []byte(jr.Body)
	if jr.BodyBase64 {
		if body, err = base64.StdEncoding.DecodeString(jr.Body); err != nil {
			return Record{}, fmt.Errorf("body_base64: %w", err)
		}
	}
	h := http.Header{}
	for k, vs := range jr.Headers {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return Record{Time: jr.Time, Method: jr.Method, URL: u, Header: h, Body: body, Status: jr.Status}, nil
}

func parseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("no url")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/), the parts a
// request needs.
type harEntry struct {
	StartedDateTime time.Time `json:"startedDateTime"`
	Request         struct {
		Method  string `json:"method"`
		URL     string `json:"url"`
		Headers []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"headers"`
		PostData *struct {
			MimeType string `json:"mimeType"`
			Text     string `json:"text"`
			Encoding string `json:"encoding"` // not in HAR 1.2, written by some tools
		} `json:"postData"`
	} `json:"request"`
	Response struct {
		Status int `json:"status"`
	} `json:"response"`
}

// readHAR walks {"log": {..., "entries": [...]}} decoding one entry at a
// time.
func readHAR(br *bufio.Reader, file string, fn func(Record) error, problem func(*Problem) error) error {
	dec := json.NewDecoder(io.LimitReader(br, 1<<40))
	expect := func(want json.Delim) error {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%s: not a HAR file: %w", file, err)
		}
		if t != want {
			return fmt.Errorf("%s: not a HAR file: %v where %v was expected", file, t, want)
		}
		return nil
	}
	if err := expect('{'); err != nil {
		return err
	}
	if t, err := dec.Token(); err != nil || t != "log" {
		return fmt.Errorf("%s: not a HAR file: no log object", file)
	}
	if err := expect('{'); err != nil {
		return err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if key != "entries" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fmt.Errorf("%s: log.%v: %w", file, key, err)
			}
			continue
		}
		if err := expect('['); err != nil {
			return err
		}
		for i := 0; dec.More(); i++ {
			var e harEntry
			if err := dec.Decode(&e); err != nil {
				var syn *json.SyntaxError
				if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) {
					return fmt.Errorf("%s: entry %d: %w", file, i, err)
				}
				if perr := problem(&Problem{File: file, Entry: i, Err: err}); perr != nil {
					return perr
				}
				continue
			}
			rec, err := e.record()
			if err != nil {
				if perr := problem(&Problem{File: file, Entry: i, Err: err}); perr != nil {
					return perr
				}
				continue
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%s: HAR file without log.entries", file)
}

func (e *harEntry) record() (Record, error) {
	u, err := parseURL(e.Request.URL)
	if err != nil {
		return Record{}, err
	}
	if e.Request.Method == "" {
		return Record{}, errors.New("no method")
	}
	h := http.Header{}
	for _, kv := range e.Request.Headers {
		if kv.Name == "" || kv.Name[0] == ':' { // HTTP/2 pseudo-headers
			continue
		}
		h.Add(kv.Name, kv.Value)
	}
	var body []byte
	if pd := e.Request.PostData; pd != nil {
		body = []byte(pd.Text)
		if pd.Encoding == "base64" {
			if body, err = base64.StdEncoding.DecodeString(pd.Text); err != nil {
				return Record{}, fmt.Errorf("postData: %w", err)
			}
		}
		if h.Get("Content-Type") == "" && pd.MimeType != "" {
			h.Set("Content-Type", pd.MimeType)
		}
	}
	return Record{Time: e.StartedDateTime, Method: e.Request.Method, URL: u, Header: h, Body: body, Status: e.Response.Status}, nil
}
