package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/moderation"
	"parley/storage/pgtest"
)

// listener runs db.Listen until the test ends, collecting what it hears.
type listener struct {
	msgs    chan string
	resyncs chan struct{}
	done    chan error
}

func listen(t *testing.T, db *DB) *listener {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{msgs: make(chan string, 1000), resyncs: make(chan struct{}, 10), done: make(chan error, 1)}
	go func() {
		l.done <- db.Listen(ctx, func(m []byte) { l.msgs <- string(m) }, func() { l.resyncs <- struct{}{} })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-l.done; err != nil {
			t.Errorf("Listen returned %v after its context ended, want nil", err)
		}
	})
	l.resynced(t)
	return l
}

func (l *listener) resynced(t *testing.T) {
	t.Helper()
	select {
	case <-l.resyncs:
	case err := <-l.done:
		t.Fatalf("Listen returned %v before it listened", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not call resync within 10s")
	}
}

func (l *listener) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-l.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
		return ""
	}
}

// second opens another instance on the same database.
func second(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// What one instance announces the others hear, in order, and never itself.
func TestAnnounceReachesOtherInstancesInOrder(t *testing.T) {
	a, dsn := open(t)
	b := second(t, dsn)
	la, lb := listen(t, a), listen(t, b)
	ctx := context.Background()
	const n = 50
	for i := range n {
		if err := a.Announce(ctx, fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Announce(ctx, []byte("from b")); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if got, want := lb.next(t), fmt.Sprintf(`{"n":%d}`, i); got != want {
			t.Fatalf("message %d: got %q, want %q", i, got, want)
		}
	}
	if got := la.next(t); got != "from b" {
		t.Fatalf("a heard %q, want b's message", got)
	}
	// Each heard the other's and nothing of its own.
	time.Sleep(100 * time.Millisecond)
	if len(la.msgs)+len(lb.msgs) != 0 {
		t.Fatalf("left over: a %d, b %d messages; an instance heard itself", len(la.msgs), len(lb.msgs))
	}
}

func TestAnnounceTakesUpToMaxAnnounce(t *testing.T) {
	a, dsn := open(t)
	lb := listen(t, second(t, dsn))
	ctx := context.Background()
	big := strings.Repeat("é", moderation.MaxAnnounce/2) // two bytes each: multi-byte text counts in bytes
	if err := a.Announce(ctx, []byte(big)); err != nil {
		t.Fatalf("a message of MaxAnnounce bytes: %v", err)
	}
	if got := lb.next(t); got != big {
		t.Fatalf("got %d bytes, want the %d sent", len(got), len(big))
	}
	if err := a.Announce(ctx, []byte(big+"x")); err == nil {
		t.Fatal("a message over MaxAnnounce was taken")
	}
}

// A listener whose session ends returns an error; listening again resyncs.
func TestListenReportsALostConnection(t *testing.T) {
	a, dsn := open(t)
	b := second(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resyncs, done := make(chan struct{}, 10), make(chan error, 1)
	go func() { done <- b.Listen(ctx, func([]byte) {}, func() { resyncs <- struct{}{} }) }()
	select {
	case <-resyncs:
	case <-time.After(10 * time.Second):
		t.Fatal("no resync")
	}
	var ended int
	if err := a.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, listenerName).Scan(&ended); err != nil {
		t.Fatal(err)
	}
	if ended != 1 {
		t.Fatalf("ended %d listener sessions, want 1", ended)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Listen returned nil after losing its session")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not notice its session ended")
	}
	lb := listen(t, b) // resyncs, as listen checks
	if err := a.Announce(ctx, []byte("again")); err != nil {
		t.Fatal(err)
	}
	if got := lb.next(t); got != "again" {
		t.Fatalf("got %q", got)
	}
}

// One instance holds a lease until its period runs out; then another may
// take it. Instances asking at once agree on one holder.
func TestLeaseIsHeldByOneInstance(t *testing.T) {
	a, dsn := open(t)
	b := second(t, dsn)
	ctx := context.Background()
	held := func(db *DB, name string, period time.Duration) bool {
		t.Helper()
		ok, err := db.Lease(ctx, name, period)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !held(a, "purge", time.Hour) {
		t.Fatal("a could not take a free lease")
	}
	if held(b, "purge", time.Hour) {
		t.Fatal("b took a lease a holds")
	}
	if !held(a, "purge", time.Hour) {
		t.Fatal("a could not renew its lease")
	}
	if !held(b, "other", time.Hour) {
		t.Fatal("b could not take another lease")
	}

	const period = 300 * time.Millisecond
	if !held(a, "short", period) || held(b, "short", period) {
		t.Fatal("a should hold the short lease, b not")
	}
	time.Sleep(period + 100*time.Millisecond)
	if !held(b, "short", period) {
		t.Fatal("b could not take a lease whose period ran out")
	}
	if held(a, "short", period) {
		t.Fatal("a still holds the lease b took")
	}

	for round := range 5 {
		name := fmt.Sprintf("race-%d", round)
		var mu sync.Mutex
		holders := map[*DB]bool{}
		var wg sync.WaitGroup
		for i := range 8 {
			db := a
			if i%2 == 1 {
				db = b
			}
			wg.Go(func() {
				ok, err := db.Lease(ctx, name, time.Hour)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					holders[db] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(holders) != 1 {
			t.Fatalf("round %d: %d instances hold the lease, want 1", round, len(holders))
		}
	}
}

// BenchmarkAnnounceToDelivery is the time from one instance's Announce to
// another's deliver: the floor of how soon other instances' readers see a
// change.
func BenchmarkAnnounceToDelivery(b *testing.B) {
	dsn := pgtest.DSN(b)
	a, err := Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	other, err := Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer other.Close()
	ctx, cancel := context.WithCancel(context.Background())
	got, ready, done := make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		_ = other.Listen(ctx, func([]byte) { got <- struct{}{} }, func() { close(ready) })
	}()
	<-ready
	msg := []byte(`[{"k":"moderated","s":"default","p":"/2026/12/post","i":"06H4YQHA7GJEK3P2HZHD3ZZ7WW","st":"approved"}]`)
	b.ResetTimer()
	for b.Loop() {
		if err := a.Announce(ctx, msg); err != nil {
			b.Fatal(err)
		}
		<-got
	}
	b.StopTimer()
	cancel()
	<-done
}
