package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parley/moderation"
	"parley/storage/testdb"
)

// runSpamCLI runs parley with args and returns its exit code and output.
func runSpamCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestBlocklistCommand(t *testing.T) {
	data := testdb.Data(t)
	steps := []struct {
		args   []string
		code   int
		stdout string
	}{
		{[]string{"blocklist", "list", "--data", data}, 0, ""},
		{[]string{"blocklist", "add", "words", "Cheap Viagra", "casino", "--data", data}, 0,
			"words\tcasino\nwords\tcheap viagra\n"},
		{[]string{"blocklist", "add", "network", "203.0.113.0/24", "--data", data}, 0,
			"words\tcasino\nwords\tcheap viagra\nnetworks\t203.0.113.0/24\n"},
		{[]string{"blocklist", "add", "--data", data, "emails", "@Spam.Example"}, 0,
			"words\tcasino\nwords\tcheap viagra\nemails\tspam.example\nnetworks\t203.0.113.0/24\n"},
		{[]string{"blocklist", "remove", "words", "CASINO", "--data", data}, 0,
			"words\tcheap viagra\nemails\tspam.example\nnetworks\t203.0.113.0/24\n"},
		{[]string{"blocklist", "list", "networks", "--data", data}, 0, "networks\t203.0.113.0/24\n"},
		{[]string{"blocklist", "add", "networks", "10.0.0.0/99", "--data", data}, 1, ""},
		{[]string{"blocklist", "add", "colours", "red", "--data", data}, 1, ""},
		{[]string{"blocklist", "add", "words", "--data", data}, 2, ""},
		{[]string{"blocklist", "frobnicate", "--data", data}, 2, ""},
	}
	for _, s := range steps {
		code, stdout, stderr := runSpamCLI(t, s.args...)
		if code != s.code || stdout != s.stdout {
			t.Fatalf("parley %s: exit %d, stdout %q, stderr %q; want exit %d, stdout %q",
				strings.Join(s.args, " "), code, stdout, stderr, s.code, s.stdout)
		}
		if code != 0 && stderr == "" {
			t.Fatalf("parley %s failed without saying why", strings.Join(s.args, " "))
		}
	}
	db := testdb.OpenData(t, data)
	defer db.Close()
	audit, err := db.AuditLog(context.Background(), moderation.DefaultSite, 10, 0)
	if err != nil || len(audit) != 4 || audit[0].Actor != cliActor().Name || audit[0].Action != "blocklist remove" {
		t.Fatalf("audit log %+v, %v", audit, err)
	}
}

// seed stores comments through the real pipeline (they land in spam: no
// form token) with a clock the test controls.
func seed(t *testing.T, data string, clock func() time.Time, emails ...string) {
	t.Helper()
	db := testdb.OpenData(t, data)
	defer db.Close()
	spam, err := moderation.NewSpamFilter(context.Background(), db, moderation.DefaultSpamOptions())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := moderation.NewService(context.Background(), db, moderation.Options{Clock: clock, Checks: spam.Checks()})
	if err != nil {
		t.Fatal(err)
	}
	for i, email := range emails {
		sub := moderation.Submission{Post: "/p", Author: "A", Email: email, Body: "comment " + strconv.Itoa(i)}
		if _, err := svc.Submit(context.Background(), moderation.DefaultSite, sub, moderation.Client{IP: "198.51.100.1"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestForgetCommand(t *testing.T) {
	data := testdb.Data(t)
	seed(t, data, time.Now, "ada@example.org", "bob@example.net", "Ada@Example.org")
	if code, stdout, stderr := runSpamCLI(t, "forget", "ada@example.org", "--data", data); code != 0 || stdout != "deleted 2 comments\n" {
		t.Fatalf("exit %d, %q, %q", code, stdout, stderr)
	}
	if code, stdout, _ := runSpamCLI(t, "forget", "--data", data, "ada@example.org"); code != 0 || stdout != "deleted 0 comments\n" {
		t.Fatalf("again: exit %d, %q", code, stdout)
	}
	if code, _, stderr := runSpamCLI(t, "forget", "--data", data, "not-an-address"); code != 1 || !strings.Contains(stderr, "email") {
		t.Fatalf("bad address: exit %d, %q", code, stderr)
	}
	if code, _, _ := runSpamCLI(t, "forget", "--data", data); code != 2 {
		t.Fatalf("no address: exit %d", code)
	}
}

func TestSecretRotateCommand(t *testing.T) {
	data := testdb.Data(t)
	hash := func() string {
		db, svc := openData(t, data)
		defer db.Close()
		return svc.HashIP("198.51.100.1")
	}
	before := hash()
	if hash() != before {
		t.Fatal("the IP hash changes without rotation")
	}
	code, stdout, stderr := runSpamCLI(t, "secret", "rotate", "ip-hash", "--data", data)
	if code != 0 || stdout != "rotated ip-hash\n" || !strings.Contains(stderr, "no longer match") {
		t.Fatalf("exit %d, %q, %q", code, stdout, stderr)
	}
	if hash() == before {
		t.Fatal("the IP hash still matches after rotation")
	}
	if code, _, _ := runSpamCLI(t, "secret", "rotate", "admin-password", "--data", data); code != 1 {
		t.Fatalf("unknown secret: exit %d", code)
	}
	if code, _, _ := runSpamCLI(t, "secret", "show", "ip-hash", "--data", data); code != 2 {
		t.Fatalf("unknown verb: exit %d", code)
	}
}

// TestHousekeep: serve's periodic purge removes spam past retention.
func TestHousekeep(t *testing.T) {
	data := testdb.Data(t)
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	seed(t, data, clock, "bot@example.com")

	db := testdb.OpenData(t, data)
	defer db.Close()
	svc, err := moderation.NewService(context.Background(), db, moderation.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		cs, _, err := svc.Comments(context.Background(), moderation.Actor{Role: moderation.RoleOwner}, moderation.Query{Site: moderation.DefaultSite, Status: moderation.StatusSpam})
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		housekeep(ctx, svc, 30*24*time.Hour, 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond)
	if count() != 1 {
		t.Fatal("purged before the retention")
	}
	now.Add(int64(31 * 24 * time.Hour))
	for deadline := time.Now().Add(10 * time.Second); count() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("spam past retention was not purged")
		}
	}
}

func TestServeSpamFlags(t *testing.T) {
	var cfg config
	fs := newFlagSet("serve", &cfg)
	serveFlags(fs, &cfg)
	t.Setenv("PARLEY_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")
	t.Setenv("PARLEY_RETENTION", "7d")
	if err := parse(fs, []string{"--pow", "--duplicate-window", "90m", "--max-links", "5"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.resolve(); err != nil {
		t.Fatal(err)
	}
	proxies, _ := cfg.spam.proxies()
	o := cfg.spamOptions()
	if len(proxies) != 2 || proxies[1].String() != "192.0.2.7/32" || cfg.spam.retention != 7*24*time.Hour ||
		o.DuplicateWindow != 90*time.Minute || o.MaxLinks != 5 || o.PoWMaxNumber != moderation.DefaultPoWMaxNumber ||
		o.MinFill != 3*time.Second {
		t.Fatalf("proxies %v, retention %s, options %+v", proxies, cfg.spam.retention, o)
	}
	for _, bad := range [][]string{{"--trusted-proxies", "10.0.0.0/40"}, {"--retention", "-1d"}, {"--retention", "soon"}} {
		var cfg config
		fs := newFlagSet("serve", &cfg)
		serveFlags(fs, &cfg)
		fs.SetOutput(io.Discard)
		if err := parse(fs, bad); err == nil {
			if err = cfg.resolve(); err == nil {
				t.Errorf("%v accepted", bad)
			}
		}
	}
}
