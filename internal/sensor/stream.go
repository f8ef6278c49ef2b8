package sensor

import (
	"io"
	"time"

	"github.com/kordon-dev/kordon/internal/sensor/event"
)

// Stream is a Source over recorded events (kordon sensor replay, tests).
type Stream struct {
	events []event.Event
	next   int
}

// NewStream returns a source that yields events in order, then io.EOF.
func NewStream(events []event.Event) *Stream { return &Stream{events: events} }

// Read implements Source.
func (s *Stream) Read(e *event.Event) error {
	if s.next >= len(s.events) {
		return io.EOF
	}
	*e = s.events[s.next]
	s.next++
	return nil
}

// SetDeadline implements Source (a stream never waits).
func (s *Stream) SetDeadline(time.Time) {}

// Drops implements Source (a stream loses nothing).
func (s *Stream) Drops() (uint64, error) { return 0, nil }
