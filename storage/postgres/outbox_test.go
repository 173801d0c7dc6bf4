package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"parley/moderation"
)

// These tests run the outbox as several processes would: each instance is
// its own pool on one database. Comment writes (which add transitions) are
// not this file's: transitions go in by SQL, as they would be written.

// at is n seconds after t0 (instances_test.go).
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

// addChange writes a transition as a comment write does, and returns its seq.
func addChange(t *testing.T, db *DB, comment string, to moderation.Status, when time.Time) uint64 {
	t.Helper()
	doc, _ := json.Marshal(moderation.Transition{Site: moderation.DefaultSite, Comment: comment, To: to, At: when})
	var seq int64
	if err := db.pool.QueryRow(context.Background(), "INSERT INTO outbox_changes (doc) VALUES ($1) RETURNING seq", string(doc)).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	return uint64(seq)
}

// plan queues ds through a transition of their own.
func plan(t *testing.T, db *DB, ds ...*moderation.Delivery) {
	t.Helper()
	if err := planErr(db, ds...); err != nil {
		t.Fatal(err)
	}
}

func planErr(db *DB, ds ...*moderation.Delivery) error {
	ctx := context.Background()
	doc, _ := json.Marshal(moderation.Transition{Site: moderation.DefaultSite, Comment: "c1", To: moderation.StatusPending, At: t0})
	var seq uint64
	if err := db.pool.QueryRow(ctx, "INSERT INTO outbox_changes (doc) VALUES ($1) RETURNING seq", string(doc)).Scan(&seq); err != nil {
		return err
	}
	return db.PlanChange(ctx, seq, ds)
}

func delivery(to, group string, due time.Time) *moderation.Delivery {
	kind := moderation.DeliverModerator
	if group != "" {
		kind = moderation.DeliverDigest
	}
	return &moderation.Delivery{Kind: kind, To: to, Site: moderation.DefaultSite, Comment: "c1", Group: group, Created: t0, Due: due}
}

func seqsOf(ds []*moderation.Delivery) []uint64 {
	out := []uint64{}
	for _, d := range ds {
		out = append(out, d.Seq)
	}
	return out
}

// due asks db for what is due at now and checks it is want, in order.
func due(t *testing.T, db *DB, now time.Time, want ...*moderation.Delivery) []*moderation.Delivery {
	t.Helper()
	got, err := db.DueDeliveries(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqsOf(got), seqsOf(want)) {
		t.Errorf("due at +%s: %v, want %v", now.Sub(t0), seqsOf(got), seqsOf(want))
	}
	return got
}

func depth(t *testing.T, db *DB) map[string]int {
	t.Helper()
	d, err := db.OutboxDepth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestChangesArePlannedOnceAcrossInstances(t *testing.T) {
	dbs := instances(t, 2)
	a, b := dbs[0], dbs[1]
	ctx := context.Background()
	s1 := addChange(t, a, "c1", moderation.StatusPending, at(1))
	s2 := addChange(t, b, "c2", moderation.StatusApproved, at(2))
	s3 := addChange(t, a, "c3", moderation.StatusSpam, at(3))
	if n := depth(t, b)["changes"]; n != 3 {
		t.Errorf("depth counts %d changes, want 3", n)
	}
	ts, err := b.Changes(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []moderation.Transition{
		{Seq: s1, Site: moderation.DefaultSite, Comment: "c1", To: moderation.StatusPending, At: at(1)},
		{Seq: s2, Site: moderation.DefaultSite, Comment: "c2", To: moderation.StatusApproved, At: at(2)},
	}
	if !reflect.DeepEqual(ts, want) {
		t.Errorf("Changes(2)\n got %+v\nwant %+v", ts, want)
	}

	// Every worker of both instances plans s1 at once: one plan is queued.
	var wg sync.WaitGroup
	for i := range 16 {
		db := dbs[i%2]
		wg.Go(func() {
			ds := []*moderation.Delivery{delivery("ada", "", at(5)), delivery(fmt.Sprint("hook", i), "", at(5))}
			if err := db.PlanChange(ctx, s1, ds); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if d := depth(t, a); d["pending"] != 2 || d["changes"] != 2 {
		t.Errorf("16 racing plans of one transition: %v, want 2 deliveries and 2 changes left", d)
	}
	got, err := a.DueDeliveries(ctx, at(5))
	if err != nil || len(got) != 2 || got[0].To != "ada" || got[1].To[:4] != "hook" {
		t.Errorf("the plan queued %v (%v)", got, err)
	}

	// Planning what is gone, or never was, queues nothing and is no error.
	if err := b.PlanChange(ctx, s1, []*moderation.Delivery{delivery("bob", "", at(5))}); err != nil {
		t.Errorf("planning a planned transition: %v", err)
	}
	if err := b.PlanChange(ctx, s3+100, []*moderation.Delivery{delivery("bob", "", at(5))}); err != nil {
		t.Errorf("planning an unknown transition: %v", err)
	}
	// A transition that calls for nothing just goes.
	if err := b.PlanChange(ctx, s2, nil); err != nil {
		t.Fatal(err)
	}
	if ts, _ := a.Changes(ctx, 10); len(ts) != 1 || ts[0].Seq != s3 {
		t.Errorf("changes left: %+v, want s3 only", ts)
	}
	if d := depth(t, b); d["pending"] != 2 {
		t.Errorf("after planning the gone: %v", d)
	}
	if ts, err := a.Changes(ctx, 0); err != nil || len(ts) != 0 {
		t.Errorf("Changes(0) = %v, %v", ts, err)
	}
}

// The contract's life of a delivery: due, grouped, held, saved, given up,
// pruned, read back exactly.
func TestDeliveryLifecycle(t *testing.T) {
	dbs := instances(t, 2)
	a, b := dbs[0], dbs[1]
	ctx := context.Background()
	d1, d2 := delivery("ada", "", at(10)), delivery("bob", "", at(20))
	g1, g2 := delivery("cyd", "digest:cyd:default", at(15)), delivery("cyd", "digest:cyd:default", at(40))
	plan(t, a, d1, g1)
	plan(t, b, d2, g2)
	if !g2.Due.Equal(at(15)) {
		t.Errorf("a delivery joining a waiting group is due at +%s, want the group's +15s", g2.Due.Sub(t0))
	}
	if d := depth(t, a); d["pending"] != 4 || d["retrying"] != 0 || d["failed"] != 0 {
		t.Errorf("depth: %v", d)
	}
	due(t, a, at(9))
	got := due(t, b, at(12), d1)
	if len(got) == 1 && !reflect.DeepEqual(got[0], d1) {
		t.Errorf("a delivery read back as\n%+v\nwant\n%+v", got[0], d1)
	}
	due(t, a, at(16), g1, g2) // d1 is held by b; the group comes whole
	due(t, b, at(21), d2)
	due(t, a, at(22))

	// A failed attempt is saved (and let go): due again at its new time.
	d1.Attempts, d1.LastError, d1.Due = 1, "smtp: 451 try again", at(100)
	if err := b.SaveDelivery(ctx, d1); err != nil {
		t.Fatal(err)
	}
	if err := a.FinishDeliveries(ctx, g1.Seq, g2.Seq); err != nil {
		t.Fatal(err)
	}
	if err := a.FinishDeliveries(ctx, g1.Seq); err != nil {
		t.Errorf("finishing a finished delivery: %v", err)
	}
	if d := depth(t, b); d["pending"] != 1 || d["retrying"] != 1 || d["failed"] != 0 {
		t.Errorf("depth after a retry and a digest: %v", d)
	}
	due(t, a, at(99))
	got = due(t, a, at(101), d1)
	if len(got) == 1 && !reflect.DeepEqual(got[0], d1) {
		t.Errorf("a saved attempt read back as\n%+v\nwant\n%+v", got[0], d1)
	}
	// A holder that crashed: what it held comes back when the hold lapses.
	// d2's hold (taken at +21s) has lapsed by now, d1's (+101s) not yet.
	due(t, b, at(101).Add(holdDeliveries-time.Second), d2)
	later := at(101).Add(holdDeliveries)
	due(t, b, later, d1)

	// Given up: never due again, pruned once old enough.
	d2.Attempts, d2.LastError, d2.FailedAt = 5, "webhook: 500", later
	if err := b.SaveDelivery(ctx, d2); err != nil {
		t.Fatal(err)
	}
	d1.Attempts, d1.Due = 2, later.Add(time.Minute)
	if err := b.SaveDelivery(ctx, d1); err != nil {
		t.Fatal(err)
	}
	due(t, a, later.Add(24*time.Hour), d1)
	if d := depth(t, a); d["failed"] != 1 || d["retrying"] != 1 {
		t.Errorf("depth with one given up: %v", d)
	}
	if err := a.PruneOutbox(ctx, later, later); err != nil {
		t.Fatal(err)
	}
	if d := depth(t, a); d["failed"] != 1 {
		t.Errorf("a delivery failed at the cut was pruned: %v", d)
	}
	if err := a.PruneOutbox(ctx, later.Add(time.Second), later); err != nil {
		t.Fatal(err)
	}
	if d := depth(t, a); d["failed"] != 0 || d["retrying"] != 1 {
		t.Errorf("after pruning: %v", d)
	}
	if err := b.SaveDelivery(ctx, d2); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("saving a pruned delivery: %v, want not found", err)
	}
	if err := a.FinishDeliveries(ctx, d1.Seq); err != nil {
		t.Fatal(err)
	}
	if d := depth(t, a); d["pending"]+d["retrying"]+d["failed"] != 0 {
		t.Errorf("an empty outbox: %v", d)
	}
}

// A group that one caller holds goes to nobody else, not even a member that
// joined it since: it follows once the holder lets the group go.
func TestHeldGroupIsNotSplit(t *testing.T) {
	dbs := instances(t, 2)
	a, b := dbs[0], dbs[1]
	ctx := context.Background()
	g1 := delivery("cyd", "digest:cyd:default", at(10))
	plan(t, a, g1)
	due(t, a, at(11), g1)
	g2 := delivery("cyd", "digest:cyd:default", at(70))
	plan(t, b, g2)
	if !g2.Due.Equal(at(10)) {
		t.Errorf("joined a waiting group due at +%s", g2.Due.Sub(t0))
	}
	due(t, b, at(12))
	if err := a.FinishDeliveries(ctx, g1.Seq); err != nil {
		t.Fatal(err)
	}
	due(t, b, at(13), g2)
}

// Workers of two instances poll at once, round after round, while deliveries
// keep being queued, retried and finished: none is ever in two workers'
// hands at once, each group goes out whole, and all are sent in the end.
func TestWorkersNeverShareADelivery(t *testing.T) {
	dbs := instances(t, 2)
	ctx := context.Background()
	now := at(1000)
	const producers, perProducer, workers = 2, 60, 6
	var (
		mu       sync.Mutex
		inHand   = map[uint64]bool{}
		sent     = map[uint64]int{}
		attempts = map[uint64]int{}
	)
	var queued sync.WaitGroup
	for p := range producers {
		queued.Go(func() {
			db := dbs[p%2]
			for i := range perProducer {
				// Every third delivery is one of three digests.
				group := ""
				if i%3 == 0 {
					group = fmt.Sprintf("digest:m%d:default", i%9)
				}
				if err := planErr(db, delivery(fmt.Sprint("m", p, "-", i), group, at(i%5))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		db := dbs[w%2]
		wg.Go(func() {
			for round := 0; ; round++ {
				select {
				case <-done:
					return
				default:
				}
				ds, err := db.DueDeliveries(ctx, now)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				groups := map[string][]uint64{}
				for _, d := range ds {
					if inHand[d.Seq] {
						t.Errorf("delivery %d went to two workers at once", d.Seq)
					}
					inHand[d.Seq] = true
					if d.Group != "" {
						groups[d.Group] = append(groups[d.Group], d.Seq)
					}
				}
				mu.Unlock()
				// Some fail once and are saved for a retry, due at once;
				// the rest are sent.
				var finish []uint64
				for _, d := range ds {
					mu.Lock()
					delete(inHand, d.Seq)
					retry := attempts[d.Seq] == 0 && d.Seq%4 == (uint64(round)%4)
					if retry {
						attempts[d.Seq]++
					} else {
						sent[d.Seq]++
						finish = append(finish, d.Seq)
					}
					mu.Unlock()
					if retry {
						d.Attempts, d.LastError = 1, "try again"
						if err := db.SaveDelivery(ctx, d); err != nil {
							t.Error(err)
						}
					}
				}
				if err := db.FinishDeliveries(ctx, finish...); err != nil {
					t.Error(err)
				}
			}
		})
	}
	queued.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d := depth(t, dbs[0])
		if d["pending"]+d["retrying"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the outbox never emptied: %v", d)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(done)
	wg.Wait()
	if len(sent) != producers*perProducer {
		t.Errorf("%d deliveries sent, want %d", len(sent), producers*perProducer)
	}
	for seq, n := range sent {
		if n != 1 {
			t.Errorf("delivery %d sent %d times", seq, n)
		}
	}
}

// Many workers racing for one set of digests: each group goes to exactly
// one of them, whole.
func TestRacingWorkersTakeGroupsWhole(t *testing.T) {
	dbs := instances(t, 2)
	ctx := context.Background()
	const groupSize = 100
	for round := range 10 {
		var all []*moderation.Delivery
		// Members interleaved, many of them: racing scans meet midway.
		for m := range groupSize {
			for g := range 4 {
				all = append(all, delivery("cyd", fmt.Sprintf("digest:%d:%d", round, g), at(round*10+m%5)))
			}
		}
		all = append(all, delivery("ada", "", at(round*10)))
		plan(t, dbs[0], all...)
		now := at(round*10 + 9)
		var mu sync.Mutex
		got := map[string][]int{} // group -> sizes of the batches it went out in
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				ds, err := dbs[w%2].DueDeliveries(ctx, now)
				if err != nil {
					t.Error(err)
					return
				}
				counts := map[string]int{}
				for _, d := range ds {
					counts[d.Group]++
				}
				mu.Lock()
				for g, n := range counts {
					got[g] = append(got[g], n)
				}
				mu.Unlock()
				if err := dbs[w%2].FinishDeliveries(ctx, seqsOf(ds)...); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// What a race left (all callers skipped one another's locks) goes
		// out next, still whole.
		left, err := dbs[1].DueDeliveries(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, d := range left {
			counts[d.Group]++
		}
		for g, n := range counts {
			got[g] = append(got[g], n)
		}
		_ = dbs[1].FinishDeliveries(ctx, seqsOf(left)...)
		for g := range 4 {
			name := fmt.Sprintf("digest:%d:%d", round, g)
			if !slices.Equal(got[name], []int{groupSize}) {
				t.Errorf("round %d: group %s went out in batches of %v, want one of %d", round, name, got[name], groupSize)
			}
		}
		if !slices.Equal(got[""], []int{1}) {
			t.Errorf("round %d: the single delivery went out %v", round, got[""])
		}
	}
}

// seedOutbox fills the outbox as a busy instance's looks: n deliveries due
// in an hour, n/2 given up, n/2 in digests due in an hour.
func seedOutbox(b *testing.B, db *DB, n int) {
	b.Helper()
	var ds []*moderation.Delivery
	for i := range n * 2 {
		d := delivery(fmt.Sprint("m", i), "", at(3600))
		switch {
		case i%4 == 1:
			d.Attempts, d.FailedAt = 10, at(0)
		case i%4 == 3:
			d.Group = fmt.Sprintf("digest:m%d:default", i%50)
		}
		ds = append(ds, d)
	}
	if err := planErr(db, ds...); err != nil {
		b.Fatal(err)
	}
}

// A worker's poll when nothing is due, the usual case, over a full outbox.
func BenchmarkDueDeliveriesIdle(b *testing.B) {
	db := openBench(b, 0)
	seedOutbox(b, db, 10000)
	ctx := context.Background()
	for b.Loop() {
		if ds, err := db.DueDeliveries(ctx, at(60)); err != nil || len(ds) != 0 {
			b.Fatal(ds, err)
		}
	}
}

// Taking 10 due deliveries and finishing them, over a full outbox.
func BenchmarkDueDeliveriesTakeAndFinish(b *testing.B) {
	db := openBench(b, 0)
	seedOutbox(b, db, 10000)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		var ten []*moderation.Delivery
		for i := range 10 {
			ten = append(ten, delivery(fmt.Sprint("due", i), "", at(1)))
		}
		if err := planErr(db, ten...); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		ds, err := db.DueDeliveries(ctx, at(60))
		if err != nil || len(ds) != 10 {
			b.Fatal(len(ds), err)
		}
		if err := db.FinishDeliveries(ctx, seqsOf(ds)...); err != nil {
			b.Fatal(err)
		}
	}
}
