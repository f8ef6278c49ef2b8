package decisionlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// MaxLineBytes bounds one log line. A decision line lists every violation
// of one object with its message: far below this even for large objects.
const MaxLineBytes = 1 << 20

// ErrLineTooLong is the cause of a LineError for a line over the bound.
var ErrLineTooLong = fmt.Errorf("line longer than %d bytes (1 MiB), not read", MaxLineBytes)

// LineError is a line that looks like a decision line but cannot be read
// as one. Reading continues after it.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// Reader reads the decision lines of one log. It is not safe for
// concurrent use.
type Reader struct {
	br   *bufio.Reader
	file string
	line int
	max  int
	buf  []byte
}

// NewReader reads the log r; file names it in errors ("-" for standard
// input).
func NewReader(r io.Reader, file string) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), file: file, max: MaxLineBytes}
}

// Line returns the number (1-based) of the line Next read last.
func (r *Reader) Line() int { return r.line }

// Next returns the next decision line, skipping every other line: text,
// JSON lines with another msg. A line may carry the prefixes kubectl logs
// adds with --prefix ("[pod/name/container] ") and --timestamps (an RFC
// 3339 time and a space).
//
// At the end of the log Next returns io.EOF. A line that starts like a
// JSON object but is not valid JSON, a decision line whose fields are
// malformed, and a line longer than MaxLineBytes (ErrLineTooLong) are
// *LineErrors: call Next again to read on. Any other error is the
// underlying reader's, and ends reading.
func (r *Reader) Next() (*Line, error) {
	for {
		raw, err := r.readLine()
		if err != nil {
			if errors.Is(err, ErrLineTooLong) {
				return nil, &LineError{File: r.file, Line: r.line, Err: err}
			}
			return nil, err
		}
		p := payload(raw)
		if len(p) == 0 || p[0] != '{' {
			continue
		}
		var head struct {
			Msg json.RawMessage `json:"msg"`
		}
		if err := json.Unmarshal(p, &head); err != nil {
			return nil, &LineError{File: r.file, Line: r.line, Err: fmt.Errorf("not a JSON log line: %w", err)}
		}
		var msg string
		if json.Unmarshal(head.Msg, &msg) != nil || msg != Message {
			continue
		}
		var l Line
		if err := json.Unmarshal(p, &l); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				err = fmt.Errorf("field %s: unexpected JSON %s", te.Field, te.Value)
			}
			return nil, &LineError{File: r.file, Line: r.line, Err: fmt.Errorf("malformed decision line: %w", err)}
		}
		if err := l.validate(); err != nil {
			return nil, &LineError{File: r.file, Line: r.line, Err: fmt.Errorf("malformed decision line: %w", err)}
		}
		return &l, nil
	}
}

// readLine returns the next line without its line ending. A line over the
// bound is read to its end and dropped: ErrLineTooLong.
func (r *Reader) readLine() ([]byte, error) {
	r.buf = r.buf[:0]
	tooLong, read := false, false
	for {
		chunk, err := r.br.ReadSlice('\n')
		read = read || len(chunk) > 0
		if !tooLong {
			r.buf = append(r.buf, chunk...)
			// The bound is on the content; the line ending may follow it.
			if len(bytes.TrimRight(r.buf, "\r\n")) > r.max {
				tooLong, r.buf = true, r.buf[:0]
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if !read {
				return nil, io.EOF
			}
		default:
			return nil, err
		}
		r.line++
		if tooLong {
			return nil, ErrLineTooLong
		}
		return bytes.TrimRight(r.buf, "\r\n"), nil
	}
}

// payload strips the prefixes kubectl logs adds (--prefix, --timestamps)
// and surrounding space.
func payload(line []byte) []byte {
	line = bytes.TrimSpace(line)
	if len(line) > 0 && line[0] == '[' {
		if i := bytes.Index(line, []byte("] ")); i > 0 {
			line = bytes.TrimLeft(line[i+2:], " ")
		}
	}
	if len(line) > 0 && line[0] != '{' {
		if i := bytes.IndexByte(line, ' '); i > 0 {
			if _, err := time.Parse(time.RFC3339Nano, string(line[:i])); err == nil {
				line = bytes.TrimLeft(line[i+1:], " ")
			}
		}
	}
	return line
}
