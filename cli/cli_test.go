package cli

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/moderation"
	"parley/storage/bolt"
	"parley/storage/testdb"
)

// cli runs a parley command as a user would, returning exit code and output.
func cli(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestTokenCreate(t *testing.T) {
	data := testdb.Data(t)
	code, out, errOut := cli(t, "", "token", "create", "--name", "backup-script", "--data", data)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	secret := strings.TrimSpace(out)
	if !strings.HasPrefix(secret, "parley_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("stdout = %q, want the token alone", out)
	}
	db, svc := openData(t, data)
	defer db.Close()
	actor, err := svc.Authenticate(context.Background(), secret)
	if err != nil || actor.Name != "token:backup-script" || actor.Role != moderation.RoleModerator {
		t.Fatalf("the printed token does not authenticate: %+v %v", actor, err)
	}
	tokens, _ := db.Tokens(context.Background())
	if len(tokens) != 1 || strings.Contains(tokens[0].Hash, secret) {
		t.Fatal("the token must be stored only as a hash")
	}
}

func TestModeratorAdd(t *testing.T) {
	data := testdb.Data(t)
	t.Setenv("PARLEY_DATA", data) // the environment twin of --data
	code, out, errOut := cli(t, "correct horse battery\n", "moderator", "add", "grace", "--role", "owner")
	if code != 0 || !strings.Contains(out, `added owner "grace"`) {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	code, _, errOut = cli(t, "another password\n", "moderator", "add", "grace")
	if code != 1 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("duplicate: exit %d: %s", code, errOut)
	}
	code, _, errOut = cli(t, "short\n", "moderator", "add", "hopper")
	if code != 1 || !strings.Contains(errOut, "at least 10 characters") {
		t.Fatalf("short password: exit %d: %s", code, errOut)
	}

	db, svc := openData(t, data)
	defer db.Close()
	m, err := svc.Login(context.Background(), "grace", "correct horse battery")
	if err != nil || m.Role != moderation.RoleOwner {
		t.Fatalf("login: %+v %v", m, err)
	}
	if _, err := svc.Login(context.Background(), "grace", "wrong password"); err != moderation.ErrUnauthorized {
		t.Fatalf("wrong password: %v", err)
	}
	if strings.Contains(string(m.PasswordHash), "correct horse") {
		t.Fatal("password stored in clear")
	}
}

func TestCommandsRefuseAHeldDatabase(t *testing.T) {
	data := filepath.Join(t.TempDir(), "parley.db")
	db, err := bolt.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, _, errOut := cli(t, "", "token", "create", "--name", "x", "--data", data)
	if code == 0 || !strings.Contains(errOut, "in use by another process") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"token"}, {"token", "create"}, {"moderator", "add"}, {"serve", "--addr", "nonsense"}, {"serve", "--public-url", "ftp://x"}} {
		code, _, errOut := cli(t, "", args...)
		if code != 2 || errOut == "" {
			t.Errorf("parley %v: exit %d, stderr %q; want 2 with a message", args, code, errOut)
		}
	}
	code, out, _ := cli(t, "", "help")
	if code != 0 || !strings.Contains(out, "parley token create") {
		t.Errorf("help: %d %q", code, out)
	}
}

// openData opens a database the way the commands do; the caller closes it
// before running another command on the same bbolt file.
func openData(t *testing.T, data string) (moderation.Store, *moderation.Service) {
	t.Helper()
	db := testdb.OpenData(t, data)
	svc, err := moderation.NewService(context.Background(), db, moderation.Options{})
	if err != nil {
		_ = db.Close()
		t.Fatal(err)
	}
	return db, svc
}

// syncBuffer is a bytes.Buffer safe to read while serve writes its log.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveUntil starts serve with flags, waits until it listens, calls fn with
// its base URL, then stops it as a signal would and returns its log.
func serveUntil(t *testing.T, data string, fn func(base string), flags ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var log syncBuffer
	done := make(chan int)
	go func() {
		done <- Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, flags...), strings.NewReader(""), &log, &log)
	}()
	listening := regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)
	deadline := time.Now().Add(10 * time.Second)
	for !listening.MatchString(log.String()) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start: %s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	fn("http://" + listening.FindStringSubmatch(log.String())[1])
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d: %s", code, log.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
	return log.String()
}

func TestServeFirstStart(t *testing.T) {
	t.Setenv("PARLEY_ADMIN_PASSWORD", "")
	data := testdb.Data(t)
	log := serveUntil(t, data, func(base string) {
		for _, path := range []string{"/", "/embed.js", "/api/comments?post=/x"} {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %d", path, resp.StatusCode)
			}
		}
	})
	password := regexp.MustCompile(`password=(\S+)`).FindStringSubmatch(log)
	if password == nil || !strings.Contains(log, "parley stopped") {
		t.Fatalf("first start should print the admin password and stop cleanly: %s", log)
	}
	// The printed password works, and a second start prints none.
	if log := serveUntil(t, data, func(string) {}); strings.Contains(log, "password=") {
		t.Fatalf("second start printed a password: %s", log)
	}
	db, svc := openData(t, data)
	defer db.Close()
	if m, err := svc.Login(context.Background(), "admin", password[1]); err != nil || m.Role != moderation.RoleOwner {
		t.Fatalf("admin login with the printed password: %v", err)
	}
}
