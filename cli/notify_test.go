package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/moderation"
	"parley/storage/testdb"
)

func moderatorPrefs(t *testing.T, path, name string) moderation.NotifyPrefs {
	t.Helper()
	db := testdb.OpenData(t, path)
	defer db.Close()
	m, err := db.Moderator(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return m.Notify
}

func TestModeratorNotificationFlags(t *testing.T) {
	path := testdb.Data(t)
	code, out, errs := cli(t, "a long password\n", "moderator", "add", "carol", "--data", path,
		"--email", "carol@example.com", "--email-mode", "digest")
	if code != 0 || !strings.Contains(out, `added moderator "carol"`) {
		t.Fatalf("moderator add: %d %s %s", code, out, errs)
	}
	if got, want := moderatorPrefs(t, path, "carol"), (moderation.NotifyPrefs{Email: "carol@example.com", EmailMode: moderation.EmailDigest}); got != want {
		t.Fatalf("prefs %+v, want %+v", got, want)
	}

	code, out, _ = cli(t, "", "moderator", "notify", "carol", "--data", path, "--email", "carol@example.com", "--email-mode", "off")
	if code != 0 || !strings.Contains(out, "no email") || moderatorPrefs(t, path, "carol").EmailMode != moderation.EmailOff {
		t.Fatalf("moderator notify: %d %s", code, out)
	}

	for _, args := range [][]string{
		{"moderator", "add", "dan", "--data", path, "--email", "not an address"},
		{"moderator", "notify", "carol", "--data", path, "--email-mode", "loud"},
		{"moderator", "notify", "carol", "--data", path, "--email-mode", "immediate"},
	} {
		if code, _, errs := cli(t, "a long password\n", args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, %q", args, code, errs)
		}
	}
	if code, _, errs := cli(t, "", "moderator", "notify", "nobody", "--data", path, "--email", "n@example.com"); code != 1 || !strings.Contains(errs, "no moderator") {
		t.Errorf("notify for an unknown moderator: %d %q", code, errs)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	defer up.Close()
	if code, _, errs := cli(t, "", "healthcheck", "--addr", strings.TrimPrefix(up.URL, "http://")); code != 0 {
		t.Fatalf("healthcheck of a healthy server: %d %s", code, errs)
	}
	t.Setenv("PARLEY_ADDR", "0.0.0.0:"+up.URL[strings.LastIndex(up.URL, ":")+1:])
	if code, _, errs := cli(t, "", "healthcheck"); code != 0 {
		t.Fatalf("healthcheck from PARLEY_ADDR=0.0.0.0:port: %d %s", code, errs)
	}
	up.Close()
	if code, _, _ := cli(t, "", "healthcheck"); code != 1 {
		t.Fatalf("healthcheck of a stopped server: %d", code)
	}
}

func TestServeRefusesBadNotificationSettings(t *testing.T) {
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "bad.tmpl")
	if err := os.WriteFile(tmpl, []byte(`{"text": "{{.Text}}"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PARLEY_ADMIN_PASSWORD", "a long password")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--webhook-urls", "https://hooks.example.com/x"}, "--webhook-secret"},
		{[]string{"--webhook-urls", "ftp://x", "--webhook-secret", "s"}, "http(s)"},
		{[]string{"--webhook-urls", "https://h.example/x", "--webhook-secret", "s", "--webhook-template", tmpl}, "valid JSON"},
		{[]string{"--smtp-host", "smtp.example.com", "--smtp-tls", "none", "--smtp-user", "u", "--smtp-password", "p"}, "in the clear"},
		{[]string{"--smtp-host", "smtp.example.com", "--smtp-tls", "maybe"}, "starttls, tls or none"},
		{[]string{"--digest-minutes", "0"}, "--digest-minutes"},
	} {
		args := append([]string{"serve", "--data", filepath.Join(dir, "parley.db"), "--addr", "127.0.0.1:0"}, c.args...)
		code, _, errs := cli(t, "", args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q", c.args, code, errs)
		}
	}
}
