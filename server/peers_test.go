package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// When this instance may have missed other instances' changes, the read
// cache drops everything: stored answers, and builds under way, whose data
// may be as old.
func TestResponseCacheDropAll(t *testing.T) {
	rc := newResponseCache(1 << 20)
	ctx := context.Background()
	for _, k := range []string{"a", "b"} {
		if _, err := rc.get(ctx, k, []string{"post " + k}, func() ([]byte, bool, error) { return []byte("old " + k), k == "a", nil }); err != nil {
			t.Fatal(err)
		}
	}
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = rc.get(ctx, "c", []string{"post c"}, func() ([]byte, bool, error) {
			close(started)
			<-release
			return []byte("old c"), true, nil
		})
	}()
	<-started
	rc.dropAll()
	close(release)
	<-done
	if size, n := rc.stats(); size != 0 || n != 0 {
		t.Fatalf("after dropAll the cache holds %d entries, %d bytes", n, size)
	}
	for _, k := range []string{"a", "b", "c"} {
		r, err := rc.get(ctx, k, []string{"post " + k}, func() ([]byte, bool, error) { return []byte("new " + k), true, nil })
		if err != nil || string(r.body) != "new "+k {
			t.Fatalf("%s after dropAll: %q, %v; want a fresh build", k, r.body, err)
		}
	}
}

// Open event streams are told to resync when changes may have been missed,
// though no change waits to be sent.
func TestEventStreamResyncsOnRequest(t *testing.T) {
	l := startLive(t, Timeouts{})
	res := l.open(l.token)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("stream answered %d", res.StatusCode)
	}
	in := lines(res.Body)
	waitLine(t, in, 5*time.Second, "the connected comment", func(s string) bool { return s == ": connected" })
	// The stream subscribed before it said it was connected.
	l.srv.events.resync()
	waitLine(t, in, time.Second, "a resync event", func(s string) bool { return s == "event: resync" })
	l.srv.events.resync() // a second one, to a stream that keeps up, is told too
	line := waitLine(t, in, time.Second, "a second resync", func(s string) bool { return strings.HasPrefix(s, "event: ") })
	if line != "event: resync" {
		t.Fatalf("got %q", line)
	}
}
