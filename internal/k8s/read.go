package k8s

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// DefaultMaxFileSize is the largest file (or standard input) read when
// LoadOptions.MaxFileSize is 0: far above any real manifest, small enough
// that /dev/zero behind a symbolic link cannot exhaust memory.
const DefaultMaxFileSize = 64 << 20

// ErrNotRegular marks an input that is not a regular file — a named pipe, a
// device such as /dev/zero, a socket, or a symbolic link that cannot be
// resolved (dangling, or a loop). Such inputs are skipped with a warning:
// reading them could block forever or never end.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge marks a file (or standard input) larger than the size limit.
// It is an input error: the file is not read, the rest of the input is.
var ErrTooLarge = errors.New("larger than the size limit")

// notRegularError describes an input that is not a regular file by its mode.
func notRegularError(mode fs.FileMode) error {
	var kind string
	switch {
	case mode&fs.ModeNamedPipe != 0:
		kind = "named pipe"
	case mode&fs.ModeCharDevice != 0:
		kind = "character device"
	case mode&fs.ModeDevice != 0:
		kind = "device"
	case mode&fs.ModeSocket != 0:
		kind = "socket"
	case mode.IsDir():
		kind = "folder"
	default:
		kind = "mode " + mode.Type().String()
	}
	return fmt.Errorf("%w (%s)", ErrNotRegular, kind)
}

// brokenLinkError describes a symbolic link that does not resolve.
func brokenLinkError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%w (symbolic link: %v)", ErrNotRegular, err)
}

func tooLargeError(limit int64) error {
	return fmt.Errorf("%w of %s", ErrTooLarge, formatSize(limit))
}

// inputFileError turns an error of readRegular into the problem reported for
// an input file, which the *InputError names: a file that is not regular is
// skipped; one over --max-file-size is not read.
func inputFileError(err error) error {
	var pe *fs.PathError
	switch {
	case errors.Is(err, ErrNotRegular):
		return fmt.Errorf("%w; skipped", err)
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("%w (--max-file-size); not read", err)
	case errors.As(err, &pe):
		return pe.Err
	}
	return err
}

// formatSize formats a byte count the way the size flags are written.
func formatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGi", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMi", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKi", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// maxFileSize returns the limit to apply: limit, or the default for 0.
func maxFileSize(limit int64) int64 {
	if limit <= 0 {
		return DefaultMaxFileSize
	}
	return limit
}

// readRegular reads a regular file of at most limit bytes. The file is
// opened without blocking and checked after opening, so a named pipe
// swapped in for the file cannot block the read. The error wraps
// ErrNotRegular or ErrTooLarge for such files, and is the *fs.PathError of
// os.Open otherwise.
func readRegular(path string, limit int64) ([]byte, error) {
	f, fi, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > limit {
		return nil, tooLargeError(limit)
	}
	// The size may lie (files in /proc report 0) or change while reading.
	return readLimited(f, limit)
}

// ReadRegularFile reads a regular file of at most limit bytes, as the
// loader reads manifests: a named pipe, device or folder is refused
// without blocking (ErrNotRegular), a larger file is ErrTooLarge.
func ReadRegularFile(path string, limit int64) ([]byte, error) {
	return readRegular(path, limit)
}

// OpenRegular opens a regular file for streaming, refusing a named pipe,
// device or folder without blocking (ErrNotRegular). The caller closes it.
func OpenRegular(path string) (*os.File, error) {
	f, _, err := openRegular(path)
	return f, err
}

// openRegular opens path without blocking and checks, after opening, that
// it is a regular file, so that a named pipe swapped in cannot block.
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, notRegularError(fi.Mode())
	}
	return f, fi, nil
}

// readLimited reads r to the end, failing with ErrTooLarge past limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, tooLargeError(limit)
	}
	return data, nil
}

// readContext is readLimited that gives up when ctx is done: a read from a
// pipe that never ends (standard input of a stalled job) must not keep the
// process from stopping. The abandoned read ends when its reader does.
func readContext(ctx context.Context, r io.Reader, limit int64) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := readLimited(r, limit)
		done <- result{data, err}
	}()
	select {
	case res := <-done:
		return res.data, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
