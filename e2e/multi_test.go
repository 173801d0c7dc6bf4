package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"parley/storage"
	"parley/storage/pgtest"
)

// Several `parley serve` processes on one PostgreSQL database, behind a
// round-robin proxy as behind any load balancer: what one does, the others'
// readers see within a second; each notification goes out once; killing one
// loses nothing it acknowledged, and the other keeps serving.

// requirePostgresStorage skips while this build's storage.Open cannot open
// PostgreSQL yet (the backend is merged method by method).
func requirePostgresStorage(t *testing.T, dsn string) {
	t.Helper()
	db, err := storage.Open(context.Background(), dsn)
	if errors.Is(err, fs.ErrNotExist) { // bbolt took the URL for a file path

		t.Skipf("storage.Open does not open PostgreSQL in this build: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
}

// roundRobin is the load balancer: each request goes to the next backend;
// a backend that refuses the connection is skipped, as nginx's
// proxy_next_upstream does, since nothing reached it.
type roundRobin struct {
	backends []*url.URL
	next     atomic.Uint64
}

func startRoundRobin(t *testing.T, urls ...string) string {
	t.Helper()
	rr := &roundRobin{}
	for _, u := range urls {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		rr.backends = append(rr.backends, parsed)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.Out.URL.Scheme, r.Out.URL.Host = "http", "backend" },
		Transport: rr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil { // else the client gave up: nothing to say
				t.Logf("balancer: %s %s: %v", r.Method, r.URL.Path, err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	ts := httptest.NewServer(proxy) // 127.0.0.1
	t.Cleanup(ts.Close)
	return ts.URL
}

var plainTransport = &http.Transport{MaxIdleConnsPerHost: 64}

func (rr *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	// The transport closes a request's body when it fails: keep it to send
	// again (the test's bodies are small).
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
	}
	var err error
	first := int(rr.next.Add(1))
	for i := range rr.backends {
		b := rr.backends[(first+i)%len(rr.backends)]
		out := req.Clone(req.Context())
		out.URL.Scheme, out.URL.Host = b.Scheme, b.Host
		if req.Body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
		}
		var resp *http.Response
		resp, err = plainTransport.RoundTrip(out)
		var op *net.OpError
		if err == nil || !errors.As(err, &op) || op.Op != "dial" {
			return resp, err
		}
	}
	return nil, err
}

// hookCounter receives the webhooks of every instance and counts them by
// comment.
type hookCounter struct {
	mu    sync.Mutex
	byID  map[string]int
	total int
}

func startHookCounter(t *testing.T) (*hookCounter, string) {
	t.Helper()
	h := &hookCounter{byID: map[string]int{}}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Event   string `json:"event"`
			Comment struct {
				ID string `json:"id"`
			} `json:"comment"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &p); err != nil || p.Comment.ID == "" {
			t.Errorf("webhook body: %v %q", err, body)
		}
		h.mu.Lock()
		h.byID[p.Comment.ID]++
		h.total++
		h.mu.Unlock()
	}))
	t.Cleanup(ts.Close)
	return h, ts.URL
}

func (h *hookCounter) counts() (map[string]int, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.byID), h.total
}

// submitPending submits like the widget (a form token first), so that the
// comment waits for moderation and is notified; it returns the comment's id.
func submitPending(ctx context.Context, base, post, body string) (string, error) {
	form, err := callParley(ctx, http.MethodGet, base+"/api/form?"+url.Values{"post": {post}}.Encode(), "", nil)
	token, _ := form.body["token"].(string)
	if err != nil || token == "" {
		return "", fmt.Errorf("form token: %d %v %v", form.status, form.body, err)
	}
	res, err := callParley(ctx, http.MethodPost, base+"/api/comments", "",
		map[string]any{"post": post, "author": "Ada", "email": "ada@example.com", "body": body, "token": token})
	id, _ := res.body["id"].(string)
	if err != nil || res.status != http.StatusAccepted || id == "" || res.body["status"] != "pending" {
		return "", fmt.Errorf("submit: %d %v %v", res.status, res.body, err)
	}
	return id, nil
}

func TestTwoProcessesOnOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two parley processes and PostgreSQL")
	}
	dsn := pgtest.DSN(t)
	requirePostgresStorage(t, dsn)
	bin := buildParley(t)
	token := parleyToken(t, bin, dsn)
	hooks, hookURL := startHookCounter(t)
	a := startParley(t, bin, dsn, "--webhook-urls", hookURL, "--webhook-secret", "e2e-hook-secret")
	b := startParley(t, bin, dsn, "--webhook-urls", hookURL, "--webhook-secret", "e2e-hook-secret")
	lb := startRoundRobin(t, a.URL, b.URL)
	ctx := context.Background()
	// A webhook is owed for each comment awaiting moderation, unless a
	// moderator decides first (it is then skipped): at most one each for
	// the comments approved at once, exactly one for those left waiting.
	var decided, pending []string

	// Submitted through A and approved through B: A's readers, whose
	// answer A has cached, see it within 1 s.
	var delays []time.Duration
	for i := range 5 {
		post := fmt.Sprintf("/2026/12/multi-%d", i)
		for range 2 {
			if n := threadCount(t, a.URL, post); n != 0 {
				t.Fatalf("a new post shows %d comments", n)
			}
		}
		id, err := submitPending(ctx, a.URL, post, fmt.Sprintf("Comment %d through A.", i))
		if err != nil {
			t.Fatal(err)
		}
		decided = append(decided, id)
		moderateAt(t, b.URL, token, id, "approve")
		delays = append(delays, waitCount(t, a.URL, post, 1, time.Second))
	}
	slices.Sort(delays)
	t.Logf("approved through B, seen by A's readers after: min %v, median %v, max %v (of %d)",
		delays[0], delays[len(delays)/2], delays[len(delays)-1], len(delays))

	// Through the balancer, alternating between the two: one webhook per
	// comment, whichever instance took it and whichever sends.
	for i := range 20 {
		id, err := submitPending(ctx, lb, "/2026/12/multi-notify", fmt.Sprintf("Notified once, number %d.", i))
		if err != nil {
			t.Fatal(err)
		}
		pending = append(pending, id)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		byID, _ := hooks.counts()
		notified := 0
		for _, id := range pending {
			notified += min(byID[id], 1)
		}
		if notified == len(pending) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a second sending would come now
	byID, total := hooks.counts()
	for _, id := range pending {
		if byID[id] != 1 {
			t.Errorf("comment %s was notified %d times, want once", id, byID[id])
		}
	}
	sent := len(pending)
	for _, id := range decided {
		if byID[id] > 1 {
			t.Errorf("comment %s was notified %d times, want at most once", id, byID[id])
		}
		sent += byID[id]
	}
	if total != sent {
		t.Errorf("%d webhooks, %d of them for comments the test did not send", total, total-sent)
	}
	t.Logf("webhooks: %d, one for each of %d waiting comments and %d of %d approved at once",
		total, len(pending), sent-len(pending), len(decided))

	// SIGKILL B under concurrent submissions through the balancer: every
	// acknowledged comment is stored, and A keeps taking comments.
	var (
		mu            sync.Mutex
		acked         []string
		afterKill     int
		killed        atomic.Bool
		unanswered    int
		loadCtx, stop = context.WithTimeout(ctx, 4*time.Second)
	)
	defer stop()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for n := 0; loadCtx.Err() == nil; n++ {
				res, err := callParley(loadCtx, http.MethodPost, lb+"/api/comments", "", map[string]any{
					"post": "/2026/12/multi-kill", "author": "Load", "email": "load@example.com",
					"body": fmt.Sprintf("Worker %d, comment %d.", w, n)})
				id, _ := res.body["id"].(string)
				mu.Lock()
				switch {
				case err == nil && res.status == http.StatusAccepted && id != "":
					acked = append(acked, id)
					if killed.Load() {
						afterKill++
					}
				case loadCtx.Err() == nil:
					unanswered++
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Second)
	killed.Store(true)
	b.signal(t, syscall.SIGKILL, 10*time.Second)
	wg.Wait()
	t.Logf("under load: %d comments acknowledged, %d after B was killed, %d requests without an answer",
		len(acked), afterKill, unanswered)
	if afterKill == 0 {
		t.Fatal("no comment was acknowledged after B was killed: A stopped serving")
	}
	var missing []string
	for _, id := range acked {
		res, err := callParley(ctx, http.MethodGet, a.URL+"/api/admin/comments/"+id, token, nil)
		if err != nil || res.status != http.StatusOK || res.body["id"] != id {
			missing = append(missing, fmt.Sprintf("%s (%d %v)", id, res.status, err))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Fatalf("%d of %d acknowledged comments are lost: %v", len(missing), len(acked), missing[:min(5, len(missing))])
	}
	if res, err := callParley(ctx, http.MethodGet, lb+"/readyz", "", nil); err != nil || res.status != http.StatusOK {
		t.Fatalf("the balancer's health check after the kill: %d %v", res.status, err)
	}

	// The survivor stops cleanly: its listener and announcer end with it,
	// and it never lost touch with the database meanwhile.
	a.signal(t, syscall.SIGTERM, 30*time.Second)
	if a.err != nil {
		t.Fatalf("A exited with %v after SIGTERM:\n%s", a.err, a.log)
	}
	if strings.Contains(a.log.String(), `"other instances"`) {
		t.Fatalf("A complained about the other instances:\n%s", a.log)
	}
}
