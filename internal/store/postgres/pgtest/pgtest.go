// Package pgtest gives tests a real PostgreSQL server: a private instance
// started from the installed binaries (Debian's postgresql package puts
// them under /usr/lib/postgresql/VERSION/bin) in a temporary folder,
// listening only on a Unix socket there, or the external server named by
// $KORDON_POSTGRES_URL. Each test gets its own schema, dropped at the end.
//
// When the binaries are missing, tests skip with the reason, unless
// $KORDON_REQUIRE_POSTGRES is set (as `make test` sets it), when they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables that steer the helper.
const (
	// URLEnv names an external server to test against instead of a
	// private instance (postgres://user:pass@host:port/db).
	URLEnv = "KORDON_POSTGRES_URL"
	// RequireEnv, when set, turns a missing server into a failure.
	RequireEnv = "KORDON_REQUIRE_POSTGRES"
)

// Server is a PostgreSQL server for the tests of one package. Start it in
// TestMain and Stop it after m.Run.
type Server struct {
	// URL connects to the server's database as a superuser.
	URL string
	// Skip, when set, is why there is no server; tests asking for one skip.
	Skip string
	dir  string
	cmd  *exec.Cmd
	logf *os.File
}

// Options tune a private instance.
type Options struct {
	// Durable keeps fsync on (benchmarks); tests run faster without it.
	Durable bool
	// Dir is where the instance's temporary folder goes (default
	// os.TempDir()).
	Dir string
}

// Start returns the external server of $KORDON_POSTGRES_URL, or starts a
// private one. Without binaries it returns a Server whose Skip says so,
// or an error when $KORDON_REQUIRE_POSTGRES is set.
func Start(opts Options) (*Server, error) {
	if u := os.Getenv(URLEnv); u != "" {
		return &Server{URL: u}, nil
	}
	bin, err := binDir()
	if err != nil {
		if os.Getenv(RequireEnv) != "" {
			return nil, fmt.Errorf("%s is set: %w", RequireEnv, err)
		}
		return &Server{Skip: err.Error() + " (apt-get install postgresql, or set " + URLEnv + ")"}, nil
	}
	s, err := startPrivate(bin, opts)
	if err != nil {
		return nil, fmt.Errorf("start postgres from %s: %w", bin, err)
	}
	return s, nil
}

// binDir finds the folder of initdb and postgres: the newest under
// /usr/lib/postgresql, or the one of initdb on $PATH.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if exe(filepath.Join(d, "initdb")) && exe(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && exe(filepath.Join(filepath.Dir(p), "postgres")) {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL binaries (initdb, postgres) under /usr/lib/postgresql/*/bin or on $PATH")
}

func exe(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// credential runs the server as nobody when the tests run as root, as
// initdb and postgres refuse to run as root.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("running as root, and no user nobody to run postgres as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func startPrivate(bin string, opts Options) (*Server, error) {
	dir, err := os.MkdirTemp(opts.Dir, "kordon-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, err
	}
	cred, err := credential(dir)
	if err != nil {
		return nil, err
	}
	attr := &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "kordon", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = attr
	initdb.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if s.logf, err = os.Create(filepath.Join(dir, "postgres.log")); err != nil {
		return nil, err
	}
	args := []string{"-D", data, "-k", dir, "-c", "listen_addresses=", "-c", "max_connections=60",
		"-c", "shared_buffers=64MB", "-c", "synchronous_commit=off", "-c", "log_min_messages=warning",
		"-c", "max_wal_size=256MB"}
	if !opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "full_page_writes=off")
	}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), args...)
	s.cmd.SysProcAttr = attr
	s.cmd.Env = initdb.Env
	s.cmd.Stdout, s.cmd.Stderr = s.logf, s.logf
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.URL = "postgres://kordon@/postgres?host=" + url.QueryEscape(dir) + "&sslmode=disable"
	// Wait until it accepts connections.
	for {
		c, err := pgx.Connect(ctx, s.URL)
		if err == nil {
			c.Close(ctx)
			break
		}
		if ctx.Err() != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return nil, fmt.Errorf("postgres did not start: %w\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ok = true
	return s, nil
}

// CPU returns the CPU time (user and system) the private instance's
// processes have used so far: the postmaster and its live children
// (backends, checkpointer, WAL writer). It is zero for an external server.
func (s *Server) CPU() time.Duration {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	root := s.cmd.Process.Pid
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15): comm may hold
		// spaces, so split after its closing parenthesis.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		pid, _ := strconv.Atoi(strings.Fields(string(b))[0])
		ppid, _ := strconv.Atoi(f[1])
		if pid != root && ppid != root {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	// Linux reports in clock ticks of 1/100 s (USER_HZ).
	return time.Duration(ticks) * 10 * time.Millisecond
}

// Stop stops a private instance (fast shutdown, then a kill after 20 s)
// and removes its folder. It does nothing for an external server.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if s.logf != nil {
		s.logf.Close()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// Schema creates a schema of its own for the test and returns a URL whose
// search_path is that schema; it is dropped when the test ends. The test
// skips when there is no server.
func (s *Server) Schema(t testing.TB) string {
	t.Helper()
	if s == nil {
		t.Fatal("pgtest: no server (call pgtest.Start in TestMain)")
	}
	if s.Skip != "" {
		t.Skip(s.Skip)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "kordon_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, s.URL)
		if err != nil {
			t.Errorf("pgtest: drop schema: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema: %v", err)
		}
	})
	return withParam(s.URL, "search_path", name)
}

// withParam adds a connection parameter to a URL or key=value string.
func withParam(conn, key, val string) string {
	if strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://") {
		sep := "?"
		if strings.Contains(conn, "?") {
			sep = "&"
		}
		return conn + sep + key + "=" + url.QueryEscape(val)
	}
	return conn + " " + key + "=" + val
}
