package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/moderation"
	"parley/server"
	"parley/storage/testdb"
)

// app is a running Parley: the real server on 127.0.0.1 over a real
// database (bbolt, or PostgreSQL: see storage/testdb).
type app struct {
	URL   string
	DB    moderation.Store
	Svc   *moderation.Service
	Owner moderation.Actor // acts as the site owner, for setting up tests
	HTTP  *httptest.Server // for breaking connections
}

// startApp serves Parley on a fresh database for the length of the test.
func startApp(t *testing.T) *app {
	t.Helper()
	ctx := context.Background()
	db := testdb.Open(t)
	svc, err := moderation.NewService(ctx, db, moderation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	srv, err := server.New(server.Config{PublicURL: "http://" + ts.Listener.Addr().String()}, svc,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		_ = db.Close()
	})
	return &app{URL: ts.URL, DB: db, Svc: svc, Owner: moderation.Actor{Name: "test-owner", Role: moderation.RoleOwner}, HTTP: ts}
}

// browserRequired is set by CI so that a missing Chromium fails instead of skipping.
const browserRequired = "PARLEY_REQUIRE_BROWSER"

// findChromium returns Debian's Chromium, or skips (fails in CI) without it.
func findChromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{os.Getenv("PARLEY_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv(browserRequired) != "" {
		t.Fatalf("no Chromium found and %s is set: install it with apt-get install -y chromium", browserRequired)
	}
	t.Skip("browser test skipped: no Chromium found (apt-get install -y chromium)")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns a
// tab context that ends with the test. (chromedp's API is the generic one:
// chromedp.Do for steps, chromedp.Run for one action's value; see its
// docs/API.md in the module cache.)
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(findChromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelTab := chromedp.NewContext(allocCtx)
	// The first action starts the browser and must not carry a timeout.
	if err := chromedp.Do(browserCtx, chromedp.Navigate("about:blank")); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(browserCtx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	return ctx
}

// axeSource returns axe-core's script, installed by .ci/run with npm.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("PARLEY_AXE")
	if path == "" {
		path = filepath.Join("node_modules", "axe-core", "axe.min.js")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv(browserRequired) != "" {
			t.Fatalf("axe-core not found at %s: run npm install axe-core in e2e/", path)
		}
		t.Skipf("accessibility check skipped: %v (npm install axe-core in e2e/)", err)
	}
	return string(src)
}

// TestBrowserStarts proves the harness: Parley's demo page loads in Chromium.
func TestBrowserStarts(t *testing.T) {
	a := startApp(t)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(a.URL+"/")); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title == "" {
		t.Fatal("the demo page has no title")
	}
}
