package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"parley/moderation"
)

// liveServer is the real server answering on 127.0.0.1 through Serve, with
// its real timeouts, and an API token for the event stream.
type liveServer struct {
	t     *testing.T
	srv   *Server
	svc   *moderation.Service
	url   string
	token string
	stop  context.CancelFunc
	done  chan error
}

// startLive starts the server; edit, if any, adjusts it before it serves.
func startLive(t *testing.T, timeouts Timeouts, edit ...func(*Server)) *liveServer {
	t.Helper()
	ctx := context.Background()
	svc, err := moderation.NewService(ctx, openDB(t), moderation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	srv, err := New(Config{PublicURL: url, Timeouts: timeouts}, svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := svc.CreateToken(ctx, "watcher", moderation.RoleModerator, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range edit {
		f(srv)
	}
	serveCtx, stop := context.WithCancel(ctx)
	l := &liveServer{t: t, srv: srv, svc: svc, url: url, token: token, stop: stop, done: make(chan error, 1)}
	go func() { l.done <- srv.Serve(serveCtx, ln) }()
	t.Cleanup(func() {
		stop()
		<-l.done
	})
	return l
}

// open connects to the event stream with the token (or none).
func (l *liveServer) open(token string) *http.Response {
	l.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, l.url+"/api/admin/events", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { res.Body.Close() })
	return res
}

// lines delivers a stream's lines as they arrive; the channel closes at EOF.
func lines(body io.Reader) <-chan string {
	out := make(chan string, 64)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(body)
		for sc.Scan() {
			out <- sc.Text()
		}
	}()
	return out
}

// waitLine waits for a line that satisfies ok, failing after d.
func waitLine(t *testing.T, in <-chan string, d time.Duration, what string, ok func(string) bool) string {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case line, open := <-in:
			if !open {
				t.Fatalf("the stream ended while waiting for %s", what)
			}
			if ok(line) {
				return line
			}
		case <-deadline:
			t.Fatalf("no %s within %s", what, d)
		}
	}
}

// TestEventStreamOutlivesTimeouts: the stream stays open well past the
// server's read and write timeouts, keeps itself alive with comments, carries
// each committed change within moments, and ends at once on shutdown.
func TestEventStreamOutlivesTimeouts(t *testing.T) {
	l := startLive(t, Timeouts{Read: 300 * time.Millisecond, Write: 300 * time.Millisecond})
	res := l.open(l.token)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream answered %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	in := lines(res.Body)
	waitLine(t, in, time.Second, "retry field", func(s string) bool { return s == "retry: 1000" })

	time.Sleep(time.Second) // three times both timeouts
	waitLine(t, in, time.Second, "keep-alive", func(s string) bool { return s == ": keep-alive" })
	start := time.Now()
	c, err := l.svc.Submit(context.Background(), moderation.DefaultSite, moderation.Submission{Post: "/live", Author: "Ada",
		Email: "ada@example.com", Body: "Hello, live queue"}, moderation.Client{IP: "198.51.100.9"})
	if err != nil {
		t.Fatal(err)
	}
	line := waitLine(t, in, 2*time.Second, "the submitted comment", func(s string) bool { return strings.HasPrefix(s, "data: ") })
	var got Change
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &got); err != nil {
		t.Fatal(err)
	}
	want := Change{Kind: moderation.EventSubmitted, Comments: []ChangedComment{{ID: c.ID, Status: moderation.StatusPending}}}
	if got.Kind != want.Kind || len(got.Comments) != 1 || got.Comments[0] != want.Comments[0] {
		t.Fatalf("event %+v, want %+v", got, want)
	}
	if strings.Contains(line, "Hello") || strings.Contains(line, "ada@") {
		t.Errorf("the event carries content: %s", line)
	}
	t.Logf("change delivered %s after the submit returned", time.Since(start))

	// Shutdown ends the stream rather than waiting out ShutdownTimeout.
	start = time.Now()
	l.stop()
	for range in {
	}
	if err := <-l.done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	l.done <- nil // for the cleanup
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %s with a stream open", d)
	}
}

// TestEventStreamAuthAndBound: the stream is for moderators only, and past
// the bound a stream is refused with the usual JSON error.
func TestEventStreamAuthAndBound(t *testing.T) {
	l := startLive(t, Timeouts{}, func(s *Server) { s.events.max = 2 })
	if res := l.open(""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("without credentials the stream answers %d", res.StatusCode)
	}
	for range 2 {
		if res := l.open(l.token); res.StatusCode != http.StatusOK {
			t.Fatalf("stream answered %d", res.StatusCode)
		}
	}
	res := l.open(l.token)
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusServiceUnavailable || body.Error.Code != "unavailable" {
		t.Errorf("the third stream: %d %+v, want 503 unavailable", res.StatusCode, body)
	}
}

// TestEventStreamLifetime: a stream ends after its lifetime, so the browser
// reconnects and signs in again; a revoked token is refused then.
func TestEventStreamLifetime(t *testing.T) {
	l := startLive(t, Timeouts{}, func(s *Server) { s.events.lifetime = 300 * time.Millisecond })
	in := lines(l.open(l.token).Body)
	start := time.Now()
	for range in {
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the stream lasted %s", d)
	}
	tokens, err := l.svc.TokenList(context.Background(), moderation.Actor{Name: "o", Role: moderation.RoleOwner})
	if err != nil || len(tokens) != 1 {
		t.Fatalf("tokens %v, %v", tokens, err)
	}
	if err := l.svc.RevokeToken(context.Background(), moderation.Actor{Name: "o", Role: moderation.RoleOwner}, tokens[0].ID); err != nil {
		t.Fatal(err)
	}
	if res := l.open(l.token); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a revoked token reopens the stream: %d", res.StatusCode)
	}
}

// TestEventStreamIsNotUse: an open admin tab's stream does not keep its
// session alive, like the page's other background requests.
func TestEventStreamIsNotUse(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	cookie, _ := e.login("admin")
	open := func() int {
		// The stream answers, then ends with its context.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, e.url+eventsRoute, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		return rec.Code
	}
	e.clock.Advance(moderation.SessionIdle - time.Minute)
	if got := open(); got != http.StatusOK {
		t.Fatalf("stream within the idle time: %d", got)
	}
	e.clock.Advance(2 * time.Minute)
	if got := open(); got != http.StatusUnauthorized {
		t.Fatalf("the stream kept the session alive: %d, want 401", got)
	}
}

// TestEventHubResyncsSlowStreams: Publish never blocks on a stream that does
// not read; the stream keeps what fits and is flagged to resync.
func TestEventHubResyncsSlowStreams(t *testing.T) {
	h := newEventHub(1)
	st, err := h.subscribe(func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.subscribe(func(string) bool { return true }); !errors.Is(err, errTooManyStreams) {
		t.Fatalf("second stream past a bound of 1: %v", err)
	}
	for range streamBuffer + 5 {
		h.Publish(Change{Kind: moderation.EventSubmitted, Comments: []ChangedComment{{ID: "x", Status: moderation.StatusPending}}})
	}
	if len(st.ch) != streamBuffer || !h.tookLag(st) || h.tookLag(st) {
		t.Fatalf("buffered %d, want %d and one resync flag", len(st.ch), streamBuffer)
	}
	h.close()
	select {
	case <-st.done:
	default:
		t.Fatal("close leaves streams open")
	}
	if _, err := h.subscribe(func(string) bool { return true }); err == nil {
		t.Fatal("a closed hub opens streams")
	}
}

// TestEventHubKeepsSitesApart: a stream hears only of the sites its
// moderator moderates; another site's changes never reach it, not even ids.
func TestEventHubKeepsSitesApart(t *testing.T) {
	h := newEventHub(2)
	a := moderation.Actor{Name: "ada", Role: moderation.RoleModerator, Sites: map[string]moderation.SiteRole{"a": moderation.SiteModerator}}
	st, err := h.subscribe(a.Moderates)
	if err != nil {
		t.Fatal(err)
	}
	h.listen(context.Background(), moderation.Event{Kind: moderation.EventSubmitted, Comments: []*moderation.Comment{
		{ID: "on-b", Site: "b", Status: moderation.StatusPending},
		{ID: "on-a", Site: "a", Status: moderation.StatusPending},
	}})
	if len(st.ch) != 1 {
		t.Fatalf("the stream holds %d changes, want only site a's", len(st.ch))
	}
	if got := string(<-st.ch); strings.Contains(got, "on-b") || !strings.Contains(got, "on-a") {
		t.Fatalf("the stream of a moderator of a got %s", got)
	}
}
