// Package pgtest gives tests a PostgreSQL server and empty databases on it.
//
// [Start] returns the server named by the environment variable
// GOLDENPATH_PG_URL when it is set; otherwise it starts a throwaway cluster
// of its own: initdb in a temporary directory, then the postgres server on
// a free loopback port, stopped and removed when the test ends. As root,
// the cluster runs as the operating system user postgres, since initdb and
// postgres refuse to run as root. When neither a URL nor the server
// binaries are there, Start skips the test, naming what to install —
// unless GOLDENPATH_PG_REQUIRED=1 (as CI sets it), where it fails.
//
//	func TestStore(t *testing.T) {
//		pg := pgtest.Start(t)
//		storetest.Run(t, func(t *testing.T) backend.Store {
//			s, err := postgres.Open(t.Context(), pg.NewSchema(t))
//			...
//		})
//	}
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables that steer [Start].
const (
	// URLEnv names a server to use instead of a throwaway cluster, as a
	// URL whose user may create databases, e.g.
	// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
	URLEnv = "GOLDENPATH_PG_URL"
	// RequiredEnv, when "1", makes Start fail rather than skip where no
	// PostgreSQL can be had.
	RequiredEnv = "GOLDENPATH_PG_REQUIRED"
)

// Server is a PostgreSQL server for tests.
type Server struct {
	admin *url.URL // a URL of the server's maintenance database
	proc  *exec.Cmd
}

// URL returns a URL of the server's maintenance database.
func (s *Server) URL() string { return s.admin.String() }

// An Option configures a throwaway cluster of [Start].
type Option func(*options)

type options struct {
	durable bool
}

// Durable keeps PostgreSQL's default fsync=on in a throwaway cluster, for
// benchmarks whose figures must include flushing each commit. Without it
// the cluster runs with fsync=off and full_page_writes=off: nothing in it
// needs to outlive a crash of the machine, and tests run faster.
func Durable() Option { return func(o *options) { o.durable = true } }

// Start returns a server that lasts until tb ends: the one GOLDENPATH_PG_URL
// names (opts do not apply to it), or a throwaway cluster it starts.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if raw := os.Getenv(URLEnv); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			tb.Fatalf("pgtest: %s=%q is not a postgres:// URL", URLEnv, raw)
		}
		return &Server{admin: u}
	}
	bin, err := binDir()
	if err != nil {
		unavailable(tb, err.Error())
	}
	s, err := startCluster(tb, bin, o)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return s
}

// unavailable skips tb, or fails it when RequiredEnv is set.
func unavailable(tb testing.TB, why string) {
	tb.Helper()
	msg := fmt.Sprintf("pgtest: no PostgreSQL: %s; set %s=postgres://... or install PostgreSQL's server (Debian: apt-get install postgresql)", why, URLEnv)
	if os.Getenv(RequiredEnv) == "1" {
		tb.Fatalf("%s (%s=1: required)", msg, RequiredEnv)
	}
	tb.Skip(msg)
}

// binDir finds the directory holding initdb and postgres: PATH's, or the
// newest of Debian's /usr/lib/postgresql/*/bin.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		_, e1 := os.Stat(filepath.Join(d, "initdb"))
		_, e2 := os.Stat(filepath.Join(d, "postgres"))
		if e1 == nil && e2 == nil {
			return d, nil
		}
	}
	return "", errors.New("initdb and postgres are not on PATH nor in /usr/lib/postgresql/*/bin")
}

// version is the major version in a path /usr/lib/postgresql/N/bin.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// startCluster runs initdb and postgres in a new temporary directory.
func startCluster(tb testing.TB, bin string, o options) (*Server, error) {
	cred, err := runAs()
	if err != nil {
		unavailable(tb, err.Error())
	}
	// Not tb.TempDir: its parents are private to this user, and the
	// server may run as another.
	dir, err := os.MkdirTemp("", "goldenpath-pg-")
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// A port picked now may be taken by the time the server binds it:
	// try a few.
	var lastErr error
	for range 5 {
		s, err := startServer(tb, bin, dir, data, cred, o)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// runAs returns the credential to run the server with: nil to run as this
// process, or the user postgres's when this process is root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root, and there is no user postgres to run the server as (initdb refuses root)")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// startServer starts postgres on a free port and waits until it accepts
// connections; it is stopped when tb ends.
func startServer(tb testing.TB, bin, dir, data string, cred *syscall.Credential, o options) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	if cred != nil {
		os.Chown(logPath, int(cred.Uid), int(cred.Gid))
	}
	args := []string{"-D", data, "-k", dir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"}
	if !o.durable {
		args = append(args, "-c", "fsync=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group (a Ctrl-C of the tests reaches them, not it:
	// they stop it in order), and killed if the tests die without that.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	s := &Server{admin: &url.URL{Scheme: "postgres", User: url.User("postgres"), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path: "/postgres", RawQuery: "sslmode=disable"}, proc: cmd}
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := isOurs(s.URL(), data)
		if err == nil {
			break
		}
		select {
		case werr := <-exited:
			exited <- werr
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("postgres exited at start (%v); its log:\n%s", werr, tail(log))
		default:
		}
		if time.Now().After(deadline) {
			stop()
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("postgres did not accept connections within 60s (%v); its log:\n%s", err, tail(log))
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Cleanup(stop)
	return s, nil
}

// isOurs returns nil when the server at dbURL accepts a connection and
// serves the cluster in data: a port picked free may have been taken by
// another test process's cluster meanwhile, which must not be mistaken
// for this one (which then fails to bind it and exits).
func isOurs(dbURL, data string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var dir string
	if err := conn.QueryRow(ctx, `SELECT current_setting('data_directory')`).Scan(&dir); err != nil {
		return err
	}
	if dir != data {
		return fmt.Errorf("the server on that port serves %s, not %s", dir, data)
	}
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last lines of a log.
func tail(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// NewDatabase creates an empty database on s, dropped when tb ends, and
// returns its URL.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := "goldenpath_test_" + randomHex()
	if err := s.exec("CREATE DATABASE " + name); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := s.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u := *s.admin
	u.Path = "/" + name
	return u.String()
}

// NewSchema creates an empty schema on s, dropped when tb ends, and
// returns a URL whose connections have it as their search_path: to a store
// it is an empty database, made in a millisecond where a database takes
// a few hundred (tests that open many stores use it).
func (s *Server) NewSchema(tb testing.TB) string {
	tb.Helper()
	name := "goldenpath_test_" + randomHex()
	if err := s.exec("CREATE SCHEMA " + name); err != nil {
		tb.Fatalf("pgtest: create schema %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := s.exec("DROP SCHEMA IF EXISTS " + name + " CASCADE"); err != nil {
			tb.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	u := *s.admin
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// randomHex returns 12 random hexadecimal digits.
func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// exec runs one statement on the maintenance database.
func (s *Server) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
