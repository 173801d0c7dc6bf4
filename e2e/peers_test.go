package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
	"parley/server"
	"parley/storage/pgtest"
	"parley/storage/postgres"
)

// Two instances in this process on one PostgreSQL database, each with its
// own pool, read cache, site index, classifier and live queue, as two
// processes have: what one changes, the other hears through NOTIFY. These
// look inside (the service's resyncs and classifier); multi_test.go runs two
// real processes.

// peer is one running instance.
type peer struct {
	URL     string
	svc     *moderation.Service
	db      *postgres.DB
	resyncs chan struct{} // a token per resync
}

// startPeers starts two instances on one fresh database and waits until
// both listen. It returns an owner's API token, good on both.
func startPeers(t *testing.T) (a, b *peer, dsn, token string) {
	t.Helper()
	ctx := context.Background()
	dsn = pgtest.DSN(t)
	start := func() *peer {
		store, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		opts := moderation.DefaultSpamOptions()
		opts.MinFill = 0
		spam, err := moderation.NewSpamFilter(ctx, store, opts)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := moderation.NewService(ctx, store, moderation.Options{Checks: spam.Checks()})
		if err != nil {
			t.Fatal(err)
		}
		spam.ShareWith(svc)
		ts := httptest.NewUnstartedServer(nil)
		srv, err := server.New(server.Config{PublicURL: "http://" + ts.Listener.Addr().String(), Spam: spam}, svc,
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		ts.Config.Handler = srv
		ts.Start()
		p := &peer{URL: ts.URL, svc: svc, db: store, resyncs: make(chan struct{}, 16)}
		svc.SubscribeResync(func() { p.resyncs <- struct{}{} })
		followCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			svc.FollowPeers(followCtx, func(err error) { t.Logf("%s: %v", ts.URL, err) })
		}()
		t.Cleanup(func() {
			ts.Close()
			stop()
			<-done
			_ = store.Close()
		})
		p.resynced(t)
		return p
	}
	a, b = start(), start()
	token, _, err := a.svc.CreateToken(ctx, "ops", moderation.RoleOwner, "")
	if err != nil {
		t.Fatal(err)
	}
	return a, b, dsn, token
}

func (p *peer) resynced(t *testing.T) {
	t.Helper()
	select {
	case <-p.resyncs:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not start listening within 15s", p.URL)
	}
}

// submitTo posts a comment as the widget does and returns its id.
func submitTo(t *testing.T, base, post, body string) string {
	t.Helper()
	id, err := submitPending(context.Background(), base, post, body)
	if err != nil {
		t.Fatalf("submit to %s: %v", base, err)
	}
	return id
}

// moderateAt applies action to comment id through base.
func moderateAt(t *testing.T, base, token, id, action string) {
	t.Helper()
	res, err := callParley(context.Background(), http.MethodPost, base+"/api/admin/comments/"+id+"/"+action, token, nil)
	if err != nil || res.status != http.StatusOK {
		t.Fatalf("%s %s at %s: %d %v %v", action, id, base, res.status, res.body, err)
	}
}

// threadCount is how many approved comments base shows readers of post.
func threadCount(t *testing.T, base, post string) int {
	t.Helper()
	res, err := callParley(context.Background(), http.MethodGet, base+"/api/comments?"+url.Values{"post": {post}}.Encode(), "", nil)
	n, ok := res.body["count"].(float64)
	if err != nil || res.status != http.StatusOK || !ok {
		t.Fatalf("read %s at %s: %d %v %v", post, base, res.status, res.body, err)
	}
	return int(n)
}

// waitCount polls base until readers of post see want comments, and returns
// how long that took; it fails after limit.
func waitCount(t *testing.T, base, post string, want int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := threadCount(t, base, post)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s shows %d comments on %s after %v, want %d", base, got, post, limit, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A comment submitted through A and approved through B is seen by readers
// of A within 1 s, though A had the thread in its read cache; a comment
// approved through A reaches B's readers alike.
func TestPeersSeeEachOthersChanges(t *testing.T) {
	a, b, _, token := startPeers(t)
	const post = "/2026/12/peers"
	for range 2 { // the second read is served from each cache
		if threadCount(t, a.URL, post)+threadCount(t, b.URL, post) != 0 {
			t.Fatal("a new post has comments")
		}
	}
	id := submitTo(t, a.URL, post, "Through A, approved through B.")
	moderateAt(t, b.URL, token, id, "approve")
	took := waitCount(t, a.URL, post, 1, time.Second)
	t.Logf("approved through B, seen through A after %v", took)

	id = submitTo(t, b.URL, post, "Through B, approved through A.")
	moderateAt(t, a.URL, token, id, "approve")
	took = waitCount(t, b.URL, post, 2, time.Second)
	t.Logf("approved through A, seen through B after %v", took)

	moderateAt(t, b.URL, token, id, "reject")
	waitCount(t, a.URL, post, 1, time.Second)
}

// The admin page's live queue on one instance shows what arrives through
// the other.
func TestPeersLiveQueue(t *testing.T) {
	a, b, _, token := startPeers(t)
	req, err := http.NewRequest(http.MethodGet, b.URL+"/api/admin/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	id := submitTo(t, a.URL, "/2026/12/queue", "Arrives through A.")
	deadline := time.After(time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended")
			}
			if strings.HasPrefix(line, "data: ") && strings.Contains(line, id) && strings.Contains(line, `"pending"`) {
				return
			}
		case <-deadline:
			t.Fatalf("B's live queue did not hear of %s within 1s", id)
		}
	}
}

// Site settings and blocklists edited through one instance hold on the
// other at once, though it had both in memory.
func TestPeersFollowSiteAndBlocklistEdits(t *testing.T) {
	a, b, _, token := startPeers(t)
	ctx := context.Background()
	const post = "/2026/12/settings"
	theme := func() string {
		res, err := callParley(ctx, http.MethodGet, b.URL+"/api/comments?"+url.Values{"post": {post}}.Encode(), "", nil)
		w, _ := res.body["widget"].(map[string]any)
		if err != nil || w == nil {
			t.Fatalf("thread: %d %v %v", res.status, res.body, err)
		}
		th, _ := w["theme"].(string)
		return th
	}
	before := theme()
	if before == "dark" {
		t.Fatal("the theme is dark already; the test proves nothing")
	}
	res, err := callParley(ctx, http.MethodPatch, a.URL+"/api/admin/sites/default", token,
		map[string]any{"settings": map[string]any{"theme": "dark"}})
	if err != nil || res.status != http.StatusOK {
		t.Fatalf("edit the site: %d %v %v", res.status, res.body, err)
	}
	for start := time.Now(); theme() != "dark"; time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > time.Second {
			t.Fatalf("B's readers still get theme %q a second after A made it dark", theme())
		}
	}

	status := func(id string) string {
		res, err := callParley(ctx, http.MethodGet, a.URL+"/api/admin/comments/"+id, token, nil)
		st, _ := res.body["status"].(string)
		if err != nil || res.status != http.StatusOK {
			t.Fatalf("comment %s: %d %v %v", id, res.status, res.body, err)
		}
		return st
	}
	// B loads its (empty) blocklist with this submission and keeps it.
	if st := status(submitTo(t, b.URL, post, "Nothing about a casino here.")); st != "pending" {
		t.Fatalf("before the blocklist: %s", st)
	}
	res, err = callParley(ctx, http.MethodPut, a.URL+"/api/admin/blocklist", token,
		map[string]any{"words": []string{"casino"}, "emails": []string{}, "networks": []string{}})
	if err != nil || res.status != http.StatusOK {
		t.Fatalf("set the blocklist: %d %v %v", res.status, res.body, err)
	}
	for i, start := 0, time.Now(); ; i++ {
		if status(submitTo(t, b.URL, post, fmt.Sprintf("Casino offer number %d.", i))) == "spam" {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatal("B still takes blocked words a second after A blocked them")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Each instance keeps each site's spam classifier in memory; decisions
// taken through another reach it, reloaded from the database.
func TestPeersClassifierLearnsFromOthers(t *testing.T) {
	a, b, _, token := startPeers(t)
	ctx := context.Background()
	ham := func(p *peer) int {
		st, err := p.svc.ClassifierStats(ctx, moderation.DefaultSite)
		if err != nil {
			t.Fatal(err)
		}
		return st.Ham
	}
	if ham(a)+ham(b) != 0 {
		t.Fatal("a new site's classifier has learned something")
	}
	for i := range 3 {
		moderateAt(t, a.URL, token, submitTo(t, a.URL, "/2026/12/learn", fmt.Sprintf("A fine comment, number %d.", i)), "approve")
	}
	if ham(a) != 3 {
		t.Fatalf("A learned %d, want 3", ham(a))
	}
	for start := time.Now(); ham(b) != 3; time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 3*time.Second {
			t.Fatalf("B's classifier learned %d of A's 3 decisions within 3 s", ham(b))
		}
	}
}

// An instance whose listener lost its session may have missed changes: when
// it listens again it drops its read cache, so a change it never heard of
// shows.
func TestPeersResyncAfterLosingTheListener(t *testing.T) {
	a, b, dsn, token := startPeers(t)
	const post = "/2026/12/resync"
	id := submitTo(t, a.URL, post, "Approved while B was not listening.")
	if threadCount(t, b.URL, post) != 0 {
		t.Fatal("a pending comment is public")
	}
	// Approve behind the listeners' backs: this instance alone hears it,
	// as when B's listener is away.
	hidden := peerStoreLess(t, a)
	moderateAt(t, hidden, token, id, "approve")
	time.Sleep(200 * time.Millisecond)
	if n := threadCount(t, b.URL, post); n != 0 {
		t.Fatalf("B shows %d comments before it resynced; the test proves nothing", n)
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'parley listener'`); err != nil {
		t.Fatal(err)
	}
	a.resynced(t)
	b.resynced(t)
	if n := threadCount(t, b.URL, post); n != 1 {
		t.Fatalf("B shows %d comments after it resynced, want 1", n)
	}
}

// quiet is a store that tells other instances nothing, as when their
// listeners are away.
type quiet struct{ *postgres.DB }

func (quiet) Announce(context.Context, []byte) error { return nil }

// peerStoreLess starts a third server on p's database that announces
// nothing, without a read cache, and returns its URL.
func peerStoreLess(t *testing.T, p *peer) string {
	t.Helper()
	svc, err := moderation.NewService(context.Background(), quiet{p.db}, moderation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	srv, err := server.New(server.Config{PublicURL: "http://" + ts.Listener.Addr().String(), CacheSize: -1}, svc,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return ts.URL
}
