package notify_test

import (
	"context"
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
	ids, calls := hook.perComment(t)
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
	hook := &hookReceiver{}
	sim := &slowPosts{workers: 2, took: 3 * time.Minute}
	sim.cond = sync.NewCond(&sim.mu)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-gate
		sim.post(w, r, hook)
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		select {
		case <-gate:
		default:
			close(gate) // the test failed before opening it
		}
	})
	a := startApp(t, appOptions{store: sim.watch}, func(cfg *notify.Config) { cfg.Webhooks = []string{ts.URL} })
	sim.clk = a.Clock
	a.worker(t)
	t.Cleanup(sim.close) // before the workers stop: none may wait on it then

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
	ids, calls := hook.perComment(t)
	for id, k := range ids {
		if k != 1 {
			t.Errorf("comment %s went to the webhook %d times", id, k)
		}
	}
	if len(ids) != n || calls != n {
		t.Errorf("%d calls for %d comments, want %d once each", calls, len(ids), n)
	}
}

// slowPosts makes every webhook POST take `took` on the shared test clock,
// and moves that clock only as real time could move it. A POST that starts
// at s ends at s+took, whatever else is in flight: concurrent POSTs overlap
// rather than add up. Everything a worker does outside a POST takes no time:
// a POST is answered (the clock moves) only while every worker waits in a
// POST or at the top of its loop, holding nothing. Otherwise the other
// worker's POSTs could jump the clock minutes while a worker sits between
// its budget check and its POST, or between an answer and marking the
// delivery done, steps of microseconds in real time; descheduled there on a
// loaded machine, its hold lapsed in fake time and the test failed with the
// worker correct. Now the outcome depends on the worker's logic alone: a
// POST it starts within its budget (start < look+2m) is answered at
// start+3m, inside the 5-minute hold, and the clock stays there until it
// is done; without the budget its own POSTs outlast the hold and the other
// worker takes what it still has to send, every time.
type slowPosts struct {
	clk     *clock
	workers int           // how many notify workers run
	took    time.Duration // how long each POST takes on clk

	mu     sync.Mutex
	cond   *sync.Cond
	next   int // ticket of the next POST to arrive
	served int // ticket of the next POST to answer; next-served wait
	parked int // workers waiting at the top of their loop
	closed bool
}

// post answers one POST in arrival order, once every worker is in a POST
// or parked, and moves the clock to when the POST ends.
func (s *slowPosts) post(w http.ResponseWriter, r *http.Request, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ticket, start := s.next, s.clk.Now()
	s.next++
	s.cond.Broadcast()
	for !s.closed && (ticket != s.served || s.parked+s.next-s.served < s.workers) {
		s.cond.Wait()
	}
	if s.closed {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if d := start.Add(s.took).Sub(s.clk.Now()); d > 0 {
		s.clk.Add(d)
	}
	h.ServeHTTP(w, r)
	s.served++
	s.cond.Broadcast()
}

// park holds a worker at the top of its loop while a POST waits for its
// answer.
func (s *slowPosts) park() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.closed && s.next > s.served {
		s.parked++
		s.cond.Broadcast()
		s.cond.Wait()
		s.parked--
	}
}

func (s *slowPosts) close() {
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
}

// watch gives a worker the real store, telling s when the worker comes to
// the top of its loop: each round starts by reading the changes feed.
func (s *slowPosts) watch(db notify.Store) notify.Store { return parkingStore{db, s} }

type parkingStore struct {
	notify.Store
	s *slowPosts
}

func (p parkingStore) Changes(ctx context.Context, limit int) ([]moderation.Transition, error) {
	p.s.park()
	return p.Store.Changes(ctx, limit)
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
