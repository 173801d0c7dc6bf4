package notify_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/moderation"
	"parley/notify"
)

// Several parley processes on one database each run a worker: every email
// and webhook still goes out once, and a digest still comes as one.
func TestSeveralWorkersSendEachNotificationOnce(t *testing.T) {
	ms, hook, a := startMailAndHook(t)
	a.worker(t)
	a.worker(t)
	a.addModerator(t, "alice", "alice@example.com", moderation.EmailImmediate)
	a.addModerator(t, "bob", "bob@example.com", moderation.EmailDigest)

	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { a.submit(t, with(ada, "body", "Comment "+string(rune('A'+i))+".")) })
	}
	wg.Wait()
	hook.wait(t, n)
	var bodies []string
	for range n {
		bodies = append(bodies, ms.next(t).Body)
	}
	// Only bob's digests wait, for their time.
	a.waitOutbox(t, func(d map[string]int) bool { return d["changes"] == 0 && d["pending"] == n && d["retrying"] == 0 })
	ms.none(t)
	hook.mu.Lock()
	ids := map[string]int{}
	for _, body := range hook.bodies {
		var p notify.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		ids[p.Comment.ID]++
	}
	calls := hook.calls
	hook.mu.Unlock()
	if len(ids) != n || calls != n {
		t.Errorf("%d webhook calls for %d comments, want one each: %v", calls, len(ids), ids)
	}
	for i := range n {
		text := "Comment " + string(rune('A'+i)) + "."
		if k := countFunc(bodies, func(b string) bool { return strings.Contains(b, text) }); k != 1 {
			t.Errorf("%d of alice's emails are about %q, want 1", k, text)
		}
	}

	a.Clock.Add(notify.DefaultDigestEvery)
	m := ms.next(t)
	if m.Subject != "12 comments waiting for moderation" || !slices.Equal(m.To, []string{"bob@example.com"}) {
		t.Errorf("digest %q to %v", m.Subject, m.To)
	}
	a.settled(t)
	time.Sleep(50 * time.Millisecond) // ten polls of every worker
	ms.none(t)
}

// A worker whose sends take longer than the store holds them lets go of
// what it has not tried, rather than sending what another worker took
// since: no webhook goes out twice however slow each POST is.
func TestSlowSendsDoNotOutlastTheHold(t *testing.T) {
	gate := make(chan struct{})
	var a *app
	hook := &hookReceiver{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-gate
		a.Clock.Add(3 * time.Minute) // each POST takes "three minutes"
		hook.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		select {
		case <-gate:
		default:
			close(gate) // the test failed before opening it
		}
	})
	a = startApp(t, appOptions{}, func(cfg *notify.Config) { cfg.Webhooks = []string{ts.URL} })
	a.worker(t)

	// Both workers wait in a POST while the comments come, then find
	// them all due at once.
	const n = 8
	for i := range n {
		a.submit(t, with(ada, "body", "Comment "+string(rune('A'+i))+"."))
	}
	close(gate)
	hook.wait(t, n)
	a.settled(t)
	time.Sleep(50 * time.Millisecond)
	hook.mu.Lock()
	defer hook.mu.Unlock()
	ids := map[string]int{}
	for _, body := range hook.bodies {
		var p notify.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		ids[p.Comment.ID]++
	}
	for id, k := range ids {
		if k != 1 {
			t.Errorf("comment %s went to the webhook %d times", id, k)
		}
	}
	if len(ids) != n || hook.calls != n {
		t.Errorf("%d calls for %d comments, want %d once each", hook.calls, len(ids), n)
	}
}

func countFunc[T any](s []T, f func(T) bool) int {
	n := 0
	for _, v := range s {
		if f(v) {
			n++
		}
	}
	return n
}
