package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"parley/moderation"
	"parley/server"
)

// widgetApp is startApp's Parley served again through a server that lets
// the given blog origins embed it, on an address the test can stop and
// restart, behind hooks that can watch or hold requests.
type widgetApp struct {
	*app
	addr    string
	handler http.Handler
	srv     *http.Server

	mu   sync.Mutex
	hook func(w http.ResponseWriter, r *http.Request) bool // returns true when it answered
}

func startWidgetApp(t *testing.T, origins ...string) *widgetApp {
	t.Helper()
	a := startApp(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &widgetApp{app: a, addr: ln.Addr().String()}
	srv, err := server.New(server.Config{PublicURL: "http://" + w.addr, Origins: origins}, a.Svc,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	w.URL = "http://" + w.addr
	w.handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		hook := w.hook
		w.mu.Unlock()
		if hook == nil || !hook(rw, r) {
			srv.ServeHTTP(rw, r)
		}
	})
	w.serve(ln)
	t.Cleanup(w.stop)
	return w
}

func (w *widgetApp) serve(ln net.Listener) {
	w.srv = &http.Server{Handler: w.handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = w.srv.Serve(ln) }()
}

// stop kills the server at once, in-flight requests included, as a crash would.
func (w *widgetApp) stop() { _ = w.srv.Close() }

// restart serves again on the same address.
func (w *widgetApp) restart(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", w.addr)
	if err != nil {
		t.Fatal(err)
	}
	w.serve(ln)
}

func (w *widgetApp) setHook(hook func(w http.ResponseWriter, r *http.Request) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hook = hook
}

// blog serves test pages from another origin, as a blogger's site would.
type blog struct {
	URL   string
	mu    sync.Mutex
	pages map[string]blogPage
}

type blogPage struct {
	html string
	csp  string
}

func startBlog(t *testing.T) *blog {
	t.Helper()
	b := &blog{pages: map[string]blogPage{}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		p, ok := b.pages[r.URL.Path]
		b.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if p.csp != "" {
			w.Header().Set("Content-Security-Policy", p.csp)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, p.html)
	}))
	t.Cleanup(ts.Close)
	b.URL = ts.URL
	return b
}

// page serves body as a complete, accessible page at path.
func (b *blog) page(path, title, body string) string {
	return b.pageCSP(path, title, body, "")
}

func (b *blog) pageCSP(path, title, body, csp string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pages[path] = blogPage{csp: csp, html: `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
		`<meta name="viewport" content="width=device-width, initial-scale=1"><title>` + title + `</title></head>` +
		`<body><main><h1>` + title + `</h1>` + body + `</main></body></html>`}
	return b.URL + path
}

// embedTag is the snippet a blogger pastes, with optional attributes.
func (w *widgetApp) embedTag(attrs string) string {
	return `<div id="parley" ` + attrs + `></div><script src="` + w.URL + `/embed.js" async></script>`
}

// seed stores comments on post and approves them, for setting up a thread.
func seed(t *testing.T, a *app, subs ...moderation.Submission) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, len(subs))
	for i, sub := range subs {
		if sub.Email == "" {
			sub.Email = "reader@example.com"
		}
		c, err := a.Svc.Submit(ctx, moderation.DefaultSite, sub, moderation.Client{IP: "192.0.2.1", UserAgent: "seed"})
		if err != nil {
			t.Fatalf("seed %q: %v", sub.Body, err)
		}
		if _, err := a.Svc.Moderate(ctx, a.Owner, moderation.DefaultSite, []string{c.ID}, moderation.ActionApprove); err != nil {
			t.Fatal(err)
		}
		ids[i] = c.ID
	}
	return ids
}

// moderatorTokens holds one API token per app, made on first use.
var moderatorTokens sync.Map // *app → string

// moderate acts on a comment through the real moderation API, as a
// moderator's script would, with a bearer token.
func moderate(t *testing.T, a *app, method, path string) {
	t.Helper()
	secret, ok := moderatorTokens.Load(a)
	if !ok {
		s, _, err := a.Svc.CreateToken(context.Background(), "e2e", moderation.RoleModerator, "")
		if err != nil {
			t.Fatal(err)
		}
		secret, _ = moderatorTokens.LoadOrStore(a, s)
	}
	req, err := http.NewRequest(method, a.URL+"/api/admin/comments/"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret.(string))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("%s %s: %s %s", method, path, res.Status, body)
	}
}

func approve(t *testing.T, a *app, id string) { moderate(t, a, http.MethodPost, id+"/approve") }

// pending returns the comments waiting in the moderation queue.
func pending(t *testing.T, a *app) []*moderation.Comment {
	t.Helper()
	cs, _, err := a.Svc.Comments(context.Background(), moderation.Actor{Role: moderation.RoleOwner}, moderation.Query{Site: moderation.DefaultSite, Status: moderation.StatusPending})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// shadow wraps a script so that it runs with `root` bound to the shadow
// root of the widget in host (a CSS selector on the page).
func shadow(host, body string) string {
	return fmt.Sprintf(`(() => { const root = document.querySelector(%q).shadowRoot; %s })()`, host, body)
}

// field is a selector for an element inside the widget, for chromedp's
// input actions (real clicks and keystrokes).
func field(host, sel string) chromedp.JSPath {
	return chromedp.JSPath(fmt.Sprintf(`document.querySelector(%q).shadowRoot.querySelector(%q)`, host, sel))
}

// typeComment types a reader's name, email and comment into the widget.
func typeComment(host, author, email, body string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SendKeys(field(host, "#f-author"), author),
		chromedp.SendKeys(field(host, "#f-email"), email),
		chromedp.SendKeys(field(host, "#f-body"), body))
}

// send clicks the widget's submit button and waits until it shows the
// writer's own comment as pending.
func send(t *testing.T, ctx context.Context, host string) {
	t.Helper()
	do(t, ctx, chromedp.Click(field(host, "button[type=submit]")))
	waitUntil(t, ctx, "the submission to be accepted", shadow(host, `return root.querySelector('.parley-pending')`),
		shadow(host, `return root.textContent`))
}

// waitUntil polls a JavaScript predicate until it is truthy; on timeout it
// fails with what the describe script says about the page. Errors count as
// "not yet": a navigation can briefly leave no context to evaluate in.
func waitUntil(t *testing.T, ctx context.Context, what, js, describe string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		if ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+js+")", chromedp.EvalAwaitPromise)); ok && err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	state := "?"
	if describe != "" {
		state, _ = chromedp.Run(ctx, chromedp.Evaluate[string](describe))
	}
	t.Fatalf("waiting for %s: timed out (last error: %v; page: %s)", what, err, state)
}

// waitReady waits until the widget in host has loaded its thread.
func waitReady(t *testing.T, ctx context.Context, host string) {
	t.Helper()
	waitUntil(t, ctx, "the widget in "+host,
		fmt.Sprintf(`(r => r && !r.querySelector('h2').hidden)(document.querySelector(%q)?.shadowRoot)`, host),
		fmt.Sprintf(`document.querySelector(%q)?.shadowRoot?.textContent ?? 'no widget'`, host))
}

func text(t *testing.T, ctx context.Context, host, sel string) string {
	t.Helper()
	return eval[string](t, ctx, shadow(host, fmt.Sprintf(`return root.querySelector(%q)?.textContent ?? '(none)'`, sel)))
}

// emulateDark turns the emulated prefers-color-scheme on or off.
func emulateDark(t *testing.T, ctx context.Context, dark bool) {
	t.Helper()
	value := "light"
	if dark {
		value = "dark"
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: value}},
	}); err != nil {
		t.Fatal(err)
	}
}

// beforeScripts runs js in every document the tab loads, before the page's
// own scripts and outside its CSP.
func beforeScripts(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: js}); err != nil {
		t.Fatal(err)
	}
}

// checkAccessibility runs axe-core in the page and fails on serious or
// critical violations, naming each with its nodes.
func checkAccessibility(t *testing.T, ctx context.Context, axe, where string) {
	t.Helper()
	if !eval[bool](t, ctx, `typeof axe === 'object'`) {
		eval[chromedp.Void](t, ctx, axe)
	}
	type violation struct {
		ID, Impact, Help string
		Nodes            []struct {
			Target         []any
			FailureSummary string
		}
	}
	vs := eval[[]violation](t, ctx, `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)`)
	for _, v := range vs {
		if v.Impact != "serious" && v.Impact != "critical" {
			t.Logf("%s: accessibility (%s, not failing): %s", where, v.Impact, v.Help)
			continue
		}
		for _, n := range v.Nodes {
			t.Errorf("%s: %s accessibility violation %s (%s) at %v: %s", where, v.Impact, v.ID, v.Help, n.Target, n.FailureSummary)
		}
	}
}

// antiSpam plays the anti-spam side of the contract in front of Parley:
// GET /api/form issues single-use tokens with a proof-of-work challenge, and
// every submission's anti-spam fields are recorded and checked.
type antiSpam struct {
	maxNumber int64

	mu       sync.Mutex
	answers  map[string]string // token → the pow number that solves its challenge
	issued   int
	received []spamFields
}

type spamFields struct {
	Token           string `json:"token"`
	Pow             string `json:"pow"`
	Nickname        string `json:"nickname"`
	NotifyPublished bool   `json:"notify_published"`
	NotifyReplies   bool   `json:"notify_replies"`
	Has             map[string]bool
}

func (s *antiSpam) hook(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/form":
		n, _ := rand.Int(rand.Reader, big.NewInt(s.maxNumber+1))
		salt := rand.Text()
		sum := sha256.Sum256([]byte(salt + n.String()))
		token := rand.Text()
		s.mu.Lock()
		s.answers[token] = n.String()
		s.issued++
		s.mu.Unlock()
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token": token, "expires": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			"pow": map[string]any{"algorithm": "SHA-256", "challenge": hex.EncodeToString(sum[:]), "salt": salt, "maxnumber": s.maxNumber},
		})
		return true
	case r.Method == http.MethodPost && r.URL.Path == "/api/comments":
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var f spamFields
		var has map[string]json.RawMessage
		if json.Unmarshal(body, &f) == nil && json.Unmarshal(body, &has) == nil {
			f.Has = map[string]bool{}
			for k := range has {
				f.Has[k] = true
			}
			s.mu.Lock()
			s.received = append(s.received, f)
			s.mu.Unlock()
		}
	}
	return false
}

// check reports what is wrong with the i-th submission's anti-spam fields.
func (s *antiSpam) check(i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.received) {
		return fmt.Errorf("only %d submissions arrived", len(s.received))
	}
	f := s.received[i]
	want, ok := s.answers[f.Token]
	switch {
	case !ok:
		return fmt.Errorf("submission %d carries token %q, which was never issued or was used", i, f.Token)
	case f.Pow != want:
		return fmt.Errorf("submission %d solved the challenge as %q, want %q", i, f.Pow, want)
	case !f.Has["nickname"] || f.Nickname != "":
		return fmt.Errorf("submission %d: honeypot nickname = %q (sent: %v), want sent and empty", i, f.Nickname, f.Has["nickname"])
	}
	delete(s.answers, f.Token) // single-use, as the real pipeline treats them
	return nil
}
