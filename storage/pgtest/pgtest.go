// Package pgtest gives tests a real, empty PostgreSQL database each: never a
// mock. It uses the server named by PARLEY_TEST_POSTGRES when set, and
// otherwise starts one throwaway server per test binary from Debian's
// postgresql package, on a Unix socket in a temporary directory, with fsync
// off (safe only because the data is thrown away). It imports no package of
// ours.
//
// Use it from a test package's TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and call DSN(t) in each test that needs a database.
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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvServer names the environment variable with the URL of a server and a
// role allowed to CREATE DATABASE. When set, no server is started.
const EnvServer = "PARLEY_TEST_POSTGRES"

// errNotInstalled makes DSN skip rather than fail: the machine lacks the
// package, which is not a fault of the code under test.
var errNotInstalled = errors.New("PostgreSQL not found: apt-get install postgresql (or set " + EnvServer + " to a server URL)")

var (
	once   sync.Once
	shared *server // the server this binary started, nil when none
	admin  string  // URL of the maintenance database on the server in use
	failed error   // why no server is available
)

// DSN returns the URL of a fresh, empty database made for this test, dropped
// when the test ends. It skips the test when PostgreSQL is not installed and
// no server is named.
func DSN(t testing.TB) string {
	t.Helper()
	return create(t, "")
}

var (
	templateOnce sync.Once
	template     string // the prepared database Prepared copies
	copyHow      string // " STRATEGY FILE_COPY" where the server has it
	templateErr  error
)

// Prepared is DSN for a database that starts as prepare left the first one
// (say, with every migration applied): prepare runs once per test binary on
// a database of its own, and each test gets a copy of it, which is much
// quicker than preparing each. prepare must close its connections.
func Prepared(t testing.TB, prepare func(ctx context.Context, dsn string) error) string {
	t.Helper()
	once.Do(setup)
	templateOnce.Do(func() {
		if failed != nil {
			return
		}
		name := "parley_template_" + randomHex(8)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if templateErr = exec1(ctx, admin, "CREATE DATABASE "+name); templateErr == nil {
			templateErr = prepare(ctx, withDatabase(admin, name))
		}
		template = name
		// Copying the files (PostgreSQL 15 on) is several times quicker
		// than the default, which writes the copy through the WAL.
		var version int
		if conn, err := pgx.Connect(ctx, admin); err == nil {
			_ = conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version)
			_ = conn.Close(ctx)
		}
		if version >= 150000 {
			copyHow = " STRATEGY FILE_COPY"
		}
	})
	if templateErr != nil {
		t.Fatalf("pgtest: prepare the template database: %v", templateErr)
	}
	return create(t, template)
}

// create makes a database for t, copied from template (or empty when "").
func create(t testing.TB, template string) string {
	t.Helper()
	once.Do(setup)
	if errors.Is(failed, errNotInstalled) {
		t.Skip(failed.Error())
	}
	if failed != nil {
		t.Fatalf("pgtest: %v", failed)
	}
	name := "parley_test_" + randomHex(8)
	stmt := "CREATE DATABASE " + name
	if template != "" {
		stmt += " TEMPLATE " + template + copyHow
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec1(ctx, admin, stmt); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends sessions a test left open (a pool not closed after a
		// failure), so one sloppy test does not fail the next.
		if err := exec1(ctx, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database: %v", err)
		}
	})
	return withDatabase(admin, name)
}

// Main runs the tests, then stops the server this binary started (if any)
// and removes its files, and exits with the tests' status.
func Main(m *testing.M) {
	code := m.Run()
	if template != "" && shared == nil { // on a named server, leave nothing behind
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := exec1(ctx, admin, "DROP DATABASE IF EXISTS "+template+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: drop the template database: %v\n", err)
		}
		cancel()
	}
	if shared != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	os.Exit(code)
}

func setup() {
	if u := os.Getenv(EnvServer); u != "" {
		admin = u
		return
	}
	s, err := start()
	if err != nil {
		failed = err
		return
	}
	shared, admin = s, s.url
}

// exec1 runs one statement on a connection of its own.
func exec1(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns dsn with its database replaced by name.
func withDatabase(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// A key=value connection string: a later dbname wins.
		return dsn + " dbname=" + name
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// server is a PostgreSQL server started for this test binary.
type server struct {
	dir    string        // everything: data directory, socket, log
	url    string        // the maintenance database, over the socket
	keep   *os.File      // the write end of the watchdog's stdin: closing it stops the server
	exited chan struct{} // closed when the watchdog (and so postgres) has exited
}

// settings go into postgresql.conf. Durability is off: the data is thrown
// away, and fsync dominates the run time of database tests otherwise.
const settings = `
listen_addresses = ''
unix_socket_directories = '%s'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
log_min_messages = warning
`

// watchdog runs postgres and stops it (immediate shutdown) and removes its
// directory ($1) once its stdin reaches end of file: when Main closes it, and
// also when the test binary dies without running Main (a timeout, a kill), so
// no server or data is left behind.
const watchdog = `dir=$1; shift; "$@" & pid=$!; read -r _; kill -QUIT "$pid" 2>/dev/null; wait "$pid"; rm -rf "$dir"`

func start() (*server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	// Socket paths are limited to about 100 bytes, so a long TMPDIR would not
	// fit; as root, the postgres user could not enter a TMPDIR under /root.
	base := os.TempDir()
	if len(base) > 40 || os.Geteuid() == 0 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "parley-pg-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir}
	if err := s.run(bin); err != nil {
		_ = s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) run(bin string) error {
	// initdb and postgres refuse to run as root; as root (sessions, CI) they
	// run as the postgres user that the Debian package creates.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root needs the postgres user (created by the postgresql package): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(s.dir, uid, gid); err != nil {
			return err
		}
	}
	data := filepath.Join(s.dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = s.dir // the test's own directory may be closed to the postgres user
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	conf, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(conf, settings, s.dir)
	if cerr := conf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}

	logPath := filepath.Join(s.dir, "postgres.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	if cred != nil {
		_ = logFile.Chown(int(cred.Uid), int(cred.Gid))
	}
	stdin, keep, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command("sh", "-c", watchdog, "sh", s.dir, filepath.Join(bin, "postgres"), "-D", data)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, logFile, logFile
	cmd.Dir = s.dir
	// Its own process group: a Ctrl-C meant for go test does not reach the
	// server directly; the watchdog stops it when the test binary is gone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	if err := cmd.Start(); err != nil {
		stdin.Close()
		keep.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	stdin.Close()
	s.keep = keep
	s.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()

	s.url = (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/postgres",
		RawQuery: url.Values{"host": {s.dir}, "sslmode": {"disable"}}.Encode()}).String()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := exec1(ctx, s.url, "SELECT 1")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres did not accept connections within 30s: %v\n%s", err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop shuts the server down at once (the data is thrown away) and removes
// its files.
func (s *server) stop() error {
	if s.keep != nil {
		_ = s.keep.Close() // the watchdog sends SIGQUIT and waits for postgres
		s.keep = nil
	}
	if s.exited != nil {
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("postgres in %s did not stop within 10s", s.dir)
		}
	}
	return os.RemoveAll(s.dir)
}

// findBin returns the bin directory of the newest PostgreSQL installed the
// Debian way (/usr/lib/postgresql/VERSION/bin).
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var found []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		return "", errNotInstalled
	}
	version := func(d string) int {
		v, _ := strconv.Atoi(strings.Split(filepath.Base(filepath.Dir(d)), ".")[0])
		return v
	}
	sort.Slice(found, func(i, j int) bool { return version(found[i]) > version(found[j]) })
	return found[0], nil
}
