package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/moderation"
)

// getThread reads a post's public thread through the real router and
// returns the IDs it shows (tombstones marked with a leading "x") and the
// response.
func (ps *perfServer) getThread(t testing.TB, post string, header ...string) ([]string, *httptest.ResponseRecorder) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/comments?"+url.Values{"post": {post}}.Encode(), nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := ps.do(t, req, http.StatusOK)
	body := rec.Body.Bytes()
	if rec.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	var got struct {
		Count    int                 `json:"count"`
		Comments []moderation.Public `json:"comments"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("thread of %q: %v: %s", post, err, body)
	}
	ids := []string{}
	for _, c := range got.Comments {
		if c.Deleted {
			ids = append(ids, "x"+c.ID)
		} else {
			ids = append(ids, c.ID)
		}
	}
	return ids, rec
}

func TestThreadResponseHeadersAndRevalidation(t *testing.T) {
	ps := newPerfServer(t, Config{})
	ps.seed(t, "/post", 20, true)

	_, plain := ps.getThread(t, "/post")
	etag := plain.Header().Get("ETag")
	if etag == "" || plain.Header().Get("Content-Encoding") != "" {
		t.Fatalf("plain answer: ETag %q, Content-Encoding %q", etag, plain.Header().Get("Content-Encoding"))
	}
	if got := plain.Header().Get("Cache-Control"); got != "public, max-age=0, s-maxage=10" {
		t.Errorf("Cache-Control = %q", got)
	}
	// Shared caches may keep it (public), so it must vary by what changes it.
	if got := plain.Header().Values("Vary"); !slices.Contains(got, "Accept-Encoding") || !slices.Contains(got, "Origin") {
		t.Errorf("Vary = %q, want Accept-Encoding and Origin among them", got)
	}

	ids, gz := ps.getThread(t, "/post", "Accept-Encoding", "br, gzip")
	if gz.Header().Get("Content-Encoding") != "gzip" || len(ids) != 20 {
		t.Fatalf("gzip answer: Content-Encoding %q, %d comments", gz.Header().Get("Content-Encoding"), len(ids))
	}
	gzETag := gz.Header().Get("ETag")
	if gzETag == etag {
		t.Errorf("gzip and identity share ETag %s; a strong ETag names one encoding", etag)
	}
	if gz.Body.Len() >= plain.Body.Len() {
		t.Errorf("gzip body %d bytes, plain %d", gz.Body.Len(), plain.Body.Len())
	}

	for _, tag := range []string{etag, gzETag, "W/" + etag, `"other", ` + gzETag} {
		req := httptest.NewRequest(http.MethodGet, "/api/comments?post=/post", nil)
		req.Header.Set("If-None-Match", tag)
		rec := ps.do(t, req, http.StatusNotModified)
		if rec.Body.Len() != 0 || rec.Header().Get("ETag") == "" {
			t.Errorf("If-None-Match %s: body %q, ETag %q", tag, rec.Body, rec.Header().Get("ETag"))
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/api/comments?post=/post", nil)
	req.Header.Set("If-None-Match", `"stale"`)
	ps.do(t, req, http.StatusOK)
}

// TestThreadAnswersCarryContentLength reads a thread over a real connection:
// each encoding arrives with its length, not chunked, and a 304 has no body.
func TestThreadAnswersCarryContentLength(t *testing.T) {
	ps := newPerfServer(t, Config{})
	ps.seed(t, "/post", 200, true) // as in the load test: 86 KB, 7 KB gzipped
	ts := httptest.NewServer(ps.srv)
	defer ts.Close()
	// The transport would otherwise ask for gzip and decode it unseen.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, enc := range []string{"", "gzip"} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/comments?post=/post", nil)
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("Content-Encoding") != enc || len(body) < 2048 {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q, %d bytes; want a body over 2 KB, which net/http would chunk",
				enc, resp.Header.Get("Content-Encoding"), len(body))
		}
		if resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 {
			t.Errorf("Accept-Encoding %q: Content-Length %d, Transfer-Encoding %q, body %d bytes",
				enc, resp.ContentLength, resp.TransferEncoding, len(body))
		}
	}
}

// TestThreadCacheFollowsModeration checks after each moderator action that
// the very next read shows the thread as it now is, and that submissions
// waiting for moderation neither show nor cost a rebuild.
func TestThreadCacheFollowsModeration(t *testing.T) {
	ctx := context.Background()
	ps := newPerfServer(t, Config{})
	submit := func(parent string) string {
		c, err := ps.svc.Submit(ctx, moderation.DefaultSite, moderation.Submission{Post: "/p", Parent: parent, Author: "Ada",
			Email: "ada@example.com", Body: "hello"}, moderation.Client{})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	act := func(a moderation.Action, id string) {
		if _, err := ps.svc.Moderate(ctx, ps.owner, moderation.DefaultSite, []string{id}, a); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(step string, want ...string) {
		t.Helper()
		got, _ := ps.getThread(t, "/p")
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("after %s: thread shows %q, want %q", step, got, want)
		}
	}

	a, b := submit(""), submit("")
	expect("two submissions")
	act(moderation.ActionApprove, a)
	expect("approving a", a)
	builds := ps.srv.cache.builds.Load()
	submit("")
	expect("a new pending submission", a)
	if n := ps.srv.cache.builds.Load() - builds; n != 0 {
		t.Errorf("a pending submission rebuilt the thread %d times", n)
	}
	act(moderation.ActionApprove, b)
	expect("approving b", a, b)
	act(moderation.ActionReject, a)
	expect("rejecting a", b)
	act(moderation.ActionApprove, a)
	reply := submit(b)
	act(moderation.ActionApprove, reply)
	expect("approving a reply", a, b, reply)
	act(moderation.ActionDelete, b)
	expect("deleting a comment with a reply", a, "x"+b, reply)
	act(moderation.ActionSpam, reply)
	expect("filing the reply as spam", a)
	act(moderation.ActionDelete, a)
	expect("deleting a")
}

// TestThreadCacheIsolatesPosts: a change on one post rebuilds only that
// post's answers.
func TestThreadCacheIsolatesPosts(t *testing.T) {
	ps := newPerfServer(t, Config{})
	one := ps.seed(t, "/one", 1, false)
	ps.seed(t, "/two", 1, true)
	ps.getThread(t, "/one")
	ps.getThread(t, "/two")
	countsOf(t, ps, "/two")
	builds := ps.srv.cache.builds.Load()
	if _, err := ps.svc.Moderate(context.Background(), ps.owner, moderation.DefaultSite, one, moderation.ActionApprove); err != nil {
		t.Fatal(err)
	}
	ps.getThread(t, "/two")
	countsOf(t, ps, "/two")
	if n := ps.srv.cache.builds.Load() - builds; n != 0 {
		t.Errorf("approving on /one rebuilt %d answers about /two", n)
	}
	if ids, _ := ps.getThread(t, "/one"); len(ids) != 1 {
		t.Errorf("/one shows %q after the approval", ids)
	}
}

func countsOf(t testing.TB, ps *perfServer, posts ...string) (map[string]int, *httptest.ResponseRecorder) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/counts?"+url.Values{"post": posts}.Encode(), nil)
	rec := ps.do(t, req, http.StatusOK)
	var got map[string]int
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	return got, rec
}

func TestCountsCache(t *testing.T) {
	ps := newPerfServer(t, Config{})
	pending := ps.seed(t, "/a", 3, false)
	ps.seed(t, "/b", 2, true)

	got, first := countsOf(t, ps, "/a", "/b", "/none")
	if want := map[string]int{"/a": 0, "/b": 2, "/none": 0}; !maps.Equal(got, want) {
		t.Fatalf("counts = %v, want %v", got, want)
	}
	if cc := first.Header().Get("Cache-Control"); cc != publicCacheControl {
		t.Errorf("Cache-Control = %q", cc)
	}
	builds := ps.srv.cache.builds.Load()
	_, again := countsOf(t, ps, "/none", "/b", "/a", "/b")
	if again.Header().Get("ETag") != first.Header().Get("ETag") || ps.srv.cache.builds.Load() != builds {
		t.Errorf("the same posts in another order were not served from the cache")
	}
	if _, err := ps.svc.Moderate(context.Background(), ps.owner, moderation.DefaultSite, pending[:2], moderation.ActionApprove); err != nil {
		t.Fatal(err)
	}
	got, _ = countsOf(t, ps, "/b", "/a", "/none")
	if want := map[string]int{"/a": 2, "/b": 2, "/none": 0}; !maps.Equal(got, want) {
		t.Fatalf("after approving two on /a: counts = %v, want %v", got, want)
	}

	req := httptest.NewRequest(http.MethodGet, "/api/counts", nil)
	ps.do(t, req, http.StatusBadRequest)
	req = httptest.NewRequest(http.MethodGet, "/api/counts?post="+strings.Repeat("x", 513), nil)
	ps.do(t, req, http.StatusBadRequest)
}

func TestThreadCacheOff(t *testing.T) {
	ps := newPerfServer(t, Config{CacheSize: -1})
	ids := ps.seed(t, "/p", 2, true)
	for range 3 {
		if got, _ := ps.getThread(t, "/p"); len(got) != len(ids) {
			t.Fatalf("thread shows %q", got)
		}
	}
	if n := ps.srv.cache.builds.Load(); n != 3 {
		t.Errorf("with the cache off, 3 reads built %d answers", n)
	}
	if size, n := ps.srv.cache.stats(); size != 0 || n != 0 {
		t.Errorf("the cache is off but holds %d entries, %d bytes", n, size)
	}
}

// TestThreadCacheConcurrentReadsSeeEveryApproval approves comments while
// readers hammer the thread: once an approval has returned, every read
// started after it shows the comment.
func TestThreadCacheConcurrentReadsSeeEveryApproval(t *testing.T) {
	ps := newPerfServer(t, Config{})
	ids := ps.seed(t, "/hot", 30, false)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				ps.getThread(t, "/hot")
			}
		})
	}
	for i, id := range ids {
		if _, err := ps.svc.Moderate(ctx, ps.owner, moderation.DefaultSite, []string{id}, moderation.ActionApprove); err != nil {
			t.Error(err)
			break
		}
		if got, _ := ps.getThread(t, "/hot"); len(got) != i+1 {
			t.Errorf("after approving %d comments the thread shows %d", i+1, len(got))
			break
		}
	}
	stop()
	wg.Wait()
}

func TestResponseCacheEvictsLeastRecentlyUsed(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 100) // no gzip below minGzip
	perEntry := int64(len("k00")+len("p00")+16+entryOverhead) + 100
	rc := newResponseCache(1 << 20)
	rc.known.max = 5 * perEntry
	ctx := context.Background()
	builds := map[string]int{}
	get := func(k string) {
		t.Helper()
		_, err := rc.get(ctx, k, []string{"p" + k[1:]}, func() ([]byte, bool, error) { builds[k]++; return body, true, nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		get(fmt.Sprintf("k%02d", i))
	}
	get("k00") // k00 is now the most recent; k01 the least
	get("k05")
	if size, n := rc.stats(); n != 5 || size > rc.known.max {
		t.Fatalf("cache holds %d entries, %d bytes; want 5 within %d", n, size, rc.known.max)
	}
	get("k00")
	get("k01")
	if builds["k00"] != 1 || builds["k01"] != 2 {
		t.Errorf("builds = %v: want k00 kept (1 build) and k01 evicted (2 builds)", builds)
	}
	if len(rc.byPost) != rc.known.lru.Len() {
		t.Errorf("the post index has %d posts for %d entries: evictions leak", len(rc.byPost), rc.known.lru.Len())
	}

	huge := bytes.Repeat([]byte("y"), int(rc.known.max))
	r, err := rc.get(ctx, "huge", []string{"h"}, func() ([]byte, bool, error) { return huge, true, nil })
	if err != nil || !bytes.Equal(r.body, huge) {
		t.Fatalf("an answer larger than the cache: %v", err)
	}
	if _, ok := rc.entries["huge"]; ok {
		t.Error("an answer larger than the whole cache was kept")
	}
}

// TestResponseCacheInvalidatedDuringBuild is the race the cache is built
// around: a build reads storage, a moderator's change commits and
// invalidates, then the build finishes with what may be the old data. Its
// waiters get it, but the next request must build afresh.
func TestResponseCacheInvalidatedDuringBuild(t *testing.T) {
	rc := newResponseCache(1 << 20)
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	results := make(chan string, 4)
	var wg sync.WaitGroup
	wg.Go(func() {
		r, err := rc.get(ctx, "k", []string{"p"}, func() ([]byte, bool, error) {
			close(started)
			<-release
			return []byte("old"), true, nil
		})
		if err != nil {
			t.Error(err)
		}
		results <- string(r.body)
	})
	<-started
	for range 3 { // readers that arrive during the build share it
		wg.Go(func() {
			r, err := rc.get(ctx, "k", []string{"p"}, func() ([]byte, bool, error) { return []byte("second build"), true, nil })
			if err != nil {
				t.Error(err)
			}
			results <- string(r.body)
		})
	}
	for rc.waiters("k") < 3 {
		time.Sleep(time.Millisecond)
	}
	rc.invalidate("p")
	close(release)
	wg.Wait()
	close(results)
	for got := range results {
		if got != "old" {
			t.Errorf("a reader that came during the build got %q, not the shared build", got)
		}
	}
	r, err := rc.get(ctx, "k", []string{"p"}, func() ([]byte, bool, error) { return []byte("new"), true, nil })
	if err != nil || string(r.body) != "new" {
		t.Fatalf("after the invalidation: %q, %v; want a fresh build", r.body, err)
	}
	if rc.builds.Load() != 2 {
		t.Errorf("%d builds, want 2: one shared by four readers, one after the change", rc.builds.Load())
	}
}

func TestResponseCacheForgetsFailedBuilds(t *testing.T) {
	rc := newResponseCache(1 << 20)
	ctx := context.Background()
	boom := errors.New("disk on fire")
	if _, err := rc.get(ctx, "k", []string{"p"}, func() ([]byte, bool, error) { return nil, false, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the build's error", err)
	}
	func() {
		defer func() { _ = recover() }()
		_, _ = rc.get(ctx, "k", []string{"p"}, func() ([]byte, bool, error) { panic("bug") })
	}()
	r, err := rc.get(ctx, "k", []string{"p"}, func() ([]byte, bool, error) { return []byte("ok"), true, nil })
	if err != nil || string(r.body) != "ok" {
		t.Fatalf("after a failed and a panicking build: %v, %v; want a fresh build", r, err)
	}
	if len(rc.byPost) != 1 || len(rc.entries) != 1 {
		t.Errorf("failed builds left %d entries, %d posts behind", len(rc.entries), len(rc.byPost))
	}
}

// waiters is how many requests joined the build of key.
func (rc *responseCache) waiters(key string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if e := rc.entries[key]; e != nil {
		return e.waits
	}
	return 0
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                         false,
		"gzip":                     true,
		"deflate, gzip;q=0.5, br":  true,
		"gzip;q=0":                 false,
		"gzip; q=0.0, identity":    false,
		"*":                        true,
		"br, deflate":              false,
		"x-gzip-not-really, zstd":  false,
		"identity;q=1, *;q=0.1":    true,
		"GZIP":                     true, // content-codings are case-insensitive
		"gzip;level=1":             true,
		"deflate;q=0.9, gzip;q=1e": false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestBenchCeilingRoute(t *testing.T) {
	off := newPerfServer(t, Config{})
	off.do(t, httptest.NewRequest(http.MethodGet, "/api/bench/ceiling?post=/p", nil), http.StatusNotFound)

	on := newPerfServer(t, Config{BenchCeiling: true})
	on.seed(t, "/p", 5, true)
	_, thread := on.getThread(t, "/p")
	ceiling := on.do(t, httptest.NewRequest(http.MethodGet, "/api/bench/ceiling?post=/p", nil), http.StatusOK)
	if !bytes.Equal(ceiling.Body.Bytes(), thread.Body.Bytes()) || ceiling.Header().Get("ETag") != thread.Header().Get("ETag") {
		t.Errorf("the ceiling answers other bytes than the thread:\n%s\n%s", ceiling.Body, thread.Body)
	}
}

// TestStrangersCannotEvictAHotThread floods the server with what anyone
// may ask for, counts of new sets of keys and threads of posts that do not
// exist, many times the cache's size: the popular thread stays cached, the
// cache stays within its size, and counts are still cached.
func TestStrangersCannotEvictAHotThread(t *testing.T) {
	const size = 1 << 20
	ps := newPerfServer(t, Config{CacheSize: size})
	ps.seed(t, "/popular", 200, true)
	ps.seed(t, "/quiet", 1, true)
	ps.getThread(t, "/popular", "Accept-Encoding", "gzip")
	hot := ps.srv.cache.builds.Load()
	ps.getThread(t, "/popular", "Accept-Encoding", "gzip")
	if ps.srv.cache.builds.Load() != hot {
		t.Fatal("the popular thread was not cached to begin with")
	}

	var flood int64 // bytes the answers would take in the cache
	for i := range 6000 {
		q := url.Values{}
		for j := range 5 {
			q.Add("post", fmt.Sprintf("/stranger/%d/%d", i, j))
		}
		q.Add("post", "/quiet")
		rec := ps.do(t, httptest.NewRequest(http.MethodGet, "/api/counts?"+q.Encode(), nil), http.StatusOK)
		flood += int64(rec.Body.Len()) + entryOverhead
		if i%4 == 0 {
			_, rec := ps.getThread(t, fmt.Sprintf("/stranger/%d", i))
			flood += int64(rec.Body.Len()) + entryOverhead
		}
	}
	if flood < 2*size {
		t.Fatalf("the flood was only %d bytes of answers; it must exceed the cache", flood)
	}

	builds := ps.srv.cache.builds.Load()
	ps.getThread(t, "/popular", "Accept-Encoding", "gzip")
	if n := ps.srv.cache.builds.Load() - builds; n != 0 {
		t.Errorf("after the flood the popular thread was built again (%d builds): strangers evicted it", n)
	}
	if total, _ := ps.srv.cache.stats(); total > size {
		t.Errorf("the cache holds %d bytes, over its size %d", total, size)
	}
	if g := &ps.srv.cache.guests; g.size > g.max || g.size < g.max/2 {
		t.Errorf("the guest segment holds %d bytes of %d: the flood should fill it, and no more", g.size, g.max)
	}

	// Counts are still cached, in their own share.
	countsOf(t, ps, "/popular", "/quiet")
	builds = ps.srv.cache.builds.Load()
	if got, _ := countsOf(t, ps, "/quiet", "/popular"); got["/popular"] != 200 || ps.srv.cache.builds.Load() != builds {
		t.Errorf("counts %v, %d builds: want 200 for /popular, from the cache", got, ps.srv.cache.builds.Load()-builds)
	}
}
