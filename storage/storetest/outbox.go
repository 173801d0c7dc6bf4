package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"parley/moderation"
)

func testOutbox(t *testing.T, open Opener) {
	t.Run("status changes write transitions", func(t *testing.T) {
		s := open(t)
		addSite(t, s, "b")
		a := create(t, s, comment(def, "/p", at(1)))
		b := create(t, s, comment("b", "/p", at(2)))
		move(t, s, def, moderation.StatusApproved, at(3), a.ID)
		move(t, s, def, moderation.StatusApproved, at(4), a.ID) // no change, no transition
		move(t, s, "b", moderation.StatusSpam, at(5), b.ID)
		reply := replyTo(a, at(6))
		reply.Status, reply.BySite = moderation.StatusApproved, true
		err := s.PublishReply(t.Context(), reply, func(*moderation.Comment) (*moderation.AuditEntry, error) { return nil, nil },
			&moderation.AuditEntry{At: at(6), Actor: "ada", Action: "reply", Comment: reply.ID})
		if err != nil {
			t.Fatal(err)
		}
		// A deletion enters no status anyone is told of: no transition.
		if err := s.DeleteComments(t.Context(), "b", []string{b.ID}, tombstone(at(7))); err != nil {
			t.Fatal(err)
		}
		ts, err := s.Changes(t.Context(), 100)
		if err != nil {
			t.Fatal(err)
		}
		type tr struct {
			site, comment string
			to            moderation.Status
			at            time.Time
		}
		want := []tr{{def, a.ID, "pending", at(1)}, {"b", b.ID, "pending", at(2)}, {def, a.ID, "approved", at(3)},
			{"b", b.ID, "spam", at(5)}, {def, reply.ID, "approved", at(6)}}
		var got []tr
		for i, x := range ts {
			got = append(got, tr{x.Site, x.Comment, x.To, x.At.UTC()})
			if i > 0 && x.Seq <= ts[i-1].Seq {
				t.Errorf("transition %d has seq %d after %d", i, x.Seq, ts[i-1].Seq)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("transitions\n got %v\nwant %v", got, want)
		}
		if first, _ := s.Changes(t.Context(), 2); len(first) != 2 || first[1].Seq != ts[1].Seq {
			t.Errorf("the first two transitions: %+v", first)
		}
		if n := outboxChanges(t, s); n != len(want) {
			t.Errorf("outbox depth counts %d changes, want %d", n, len(want))
		}
	})

	t.Run("a transition is planned once", func(t *testing.T) {
		s := open(t)
		c := create(t, s, comment(def, "/p", at(1)))
		ts, _ := s.Changes(t.Context(), 10)
		if len(ts) != 1 {
			t.Fatalf("transitions: %+v", ts)
		}
		ds := []*moderation.Delivery{
			{Kind: moderation.DeliverModerator, To: "ada", Site: def, Comment: c.ID, Created: at(2), Due: at(2)},
			{Kind: moderation.DeliverWebhook, To: "https://hooks.example/x", Site: def, Comment: c.ID, Created: at(2), Due: at(2)},
		}
		if err := s.PlanChange(t.Context(), ts[0].Seq, ds); err != nil {
			t.Fatal(err)
		}
		if ds[0].Seq == 0 || ds[1].Seq == 0 || ds[0].Seq == ds[1].Seq {
			t.Errorf("deliveries numbered %d and %d", ds[0].Seq, ds[1].Seq)
		}
		if left, _ := s.Changes(t.Context(), 10); len(left) != 0 {
			t.Errorf("a planned transition is still waiting: %+v", left)
		}
		again := []*moderation.Delivery{{Kind: moderation.DeliverModerator, To: "ada", Site: def, Comment: c.ID, Created: at(3), Due: at(3)}}
		if err := s.PlanChange(t.Context(), ts[0].Seq, again); err != nil {
			t.Errorf("planning a planned transition again: %v", err)
		}
		if err := s.PlanChange(t.Context(), ts[0].Seq+1000, again); err != nil {
			t.Errorf("planning an unknown transition: %v", err)
		}
		depth, _ := s.OutboxDepth(t.Context())
		if depth["pending"] != 2 || depth["changes"] != 0 {
			t.Errorf("depth after planning twice: %v, want the first plan's 2 deliveries only", depth)
		}
		due, err := s.DueDeliveries(t.Context(), at(2))
		if err != nil || len(due) != 2 {
			t.Fatalf("due: %+v, %v", due, err)
		}
		d := due[1]
		if d.Seq != ds[1].Seq || d.Kind != moderation.DeliverWebhook || d.To != ds[1].To || d.Site != def || d.Comment != c.ID ||
			!d.Created.Equal(at(2)) || !d.Due.Equal(at(2)) || d.Attempts != 0 || d.Failed() {
			t.Errorf("a delivery read back as %+v", d)
		}

		// Workers of several processes race to plan one transition.
		c2 := create(t, s, comment(def, "/p", at(4)))
		ts, _ = s.Changes(t.Context(), 10)
		if len(ts) != 1 || ts[0].Comment != c2.ID {
			t.Fatalf("transitions: %+v", ts)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				d := []*moderation.Delivery{{Kind: moderation.DeliverModerator, To: "ada", Site: def, Comment: c2.ID, Created: at(5), Due: at(5)}}
				if err := s.PlanChange(t.Context(), ts[0].Seq, d); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if depth, _ := s.OutboxDepth(t.Context()); depth["pending"] != 3 {
			t.Errorf("8 racing plans of one transition queued %d deliveries in all, want 3", depth["pending"])
		}
	})

	t.Run("deliveries", func(t *testing.T) {
		s := open(t)
		plan := func(ds ...*moderation.Delivery) {
			t.Helper()
			c := create(t, s, comment(def, "/p", at(0)))
			ts, _ := s.Changes(t.Context(), 1)
			if err := s.PlanChange(t.Context(), ts[0].Seq, ds); err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				d.Comment = c.ID
			}
		}
		mk := func(to, group string, due time.Time) *moderation.Delivery {
			kind := moderation.DeliverModerator
			if group != "" {
				kind = moderation.DeliverDigest
			}
			return &moderation.Delivery{Kind: kind, To: to, Site: def, Group: group, Created: at(0), Due: due}
		}
		d1, d2 := mk("ada", "", at(10)), mk("bob", "", at(20))
		g1, g2 := mk("cyd", "digest:cyd:default", at(15)), mk("cyd", "digest:cyd:default", at(40))
		plan(d1, g1)
		plan(d2, g2)
		seqs := func(ds []*moderation.Delivery) []uint64 {
			var out []uint64
			for _, d := range ds {
				out = append(out, d.Seq)
			}
			return out
		}
		due := func(now time.Time, want ...*moderation.Delivery) []*moderation.Delivery {
			t.Helper()
			got, err := s.DueDeliveries(t.Context(), now)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqs(got), seqs(want)) {
				t.Errorf("due at %s: %v, want %v", now.Format(time.TimeOnly), seqs(got), seqs(want))
			}
			return got
		}
		due(at(9))
		due(at(12), d1)
		// d1 is held by the caller that got it; the group comes whole.
		due(at(16), g1, g2)
		due(at(21), d2)
		due(at(22))
		if depth, _ := s.OutboxDepth(t.Context()); depth["pending"] != 4 {
			t.Errorf("depth while held: %v", depth)
		}

		// A failed attempt is saved (and let go): due again at its new time.
		d1.Attempts, d1.LastError, d1.Due = 1, "smtp: 451 try again", at(100)
		if err := s.SaveDelivery(t.Context(), d1); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishDeliveries(t.Context(), g1.Seq, g2.Seq); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishDeliveries(t.Context(), g1.Seq); err != nil {
			t.Errorf("finishing a finished delivery: %v", err)
		}
		if depth, _ := s.OutboxDepth(t.Context()); depth["pending"] != 1 || depth["retrying"] != 1 || depth["failed"] != 0 {
			t.Errorf("depth after a retry and a digest: %v", depth)
		}
		due(at(99))
		got := due(at(101), d1)
		if len(got) == 1 && (got[0].Attempts != 1 || got[0].LastError != d1.LastError || !got[0].Due.Equal(at(100))) {
			t.Errorf("a saved attempt read back as %+v", got[0])
		}
		// A caller that crashed: what it held comes back after a few minutes.
		due(at(102))
		later := at(101).Add(time.Hour)
		due(later, d1, d2)

		// Given up: never due again, pruned once old enough.
		d2.Attempts, d2.LastError, d2.FailedAt = 5, "webhook: 500", later
		if err := s.SaveDelivery(t.Context(), d2); err != nil {
			t.Fatal(err)
		}
		d1.Attempts, d1.Due = 2, later.Add(time.Minute)
		if err := s.SaveDelivery(t.Context(), d1); err != nil {
			t.Fatal(err)
		}
		due(later.Add(24*time.Hour), d1)
		if depth, _ := s.OutboxDepth(t.Context()); depth["failed"] != 1 || depth["retrying"] != 1 {
			t.Errorf("depth with one given up: %v", depth)
		}
		if err := s.PruneOutbox(t.Context(), later, later); err != nil {
			t.Fatal(err)
		}
		if depth, _ := s.OutboxDepth(t.Context()); depth["failed"] != 1 {
			t.Errorf("a delivery failed at the cut was pruned: %v", depth)
		}
		if err := s.PruneOutbox(t.Context(), later.Add(time.Second), later); err != nil {
			t.Fatal(err)
		}
		if depth, _ := s.OutboxDepth(t.Context()); depth["failed"] != 0 || depth["retrying"] != 1 {
			t.Errorf("after pruning: %v", depth)
		}
		wantErr(t, s.SaveDelivery(t.Context(), d2), moderation.ErrNotFound, "saving a pruned delivery")
		if err := s.FinishDeliveries(t.Context(), d1.Seq); err != nil {
			t.Fatal(err)
		}
		if depth, _ := s.OutboxDepth(t.Context()); depth["pending"]+depth["retrying"]+depth["failed"] != 0 {
			t.Errorf("an empty outbox: %v", depth)
		}
	})

	t.Run("concurrent callers never share a delivery", func(t *testing.T) {
		s := open(t)
		const n = 40
		c := create(t, s, comment(def, "/p", at(0)))
		ts, _ := s.Changes(t.Context(), 1)
		var ds []*moderation.Delivery
		for i := range n {
			ds = append(ds, &moderation.Delivery{Kind: moderation.DeliverWebhook, To: fmt.Sprintf("https://hooks.example/%d", i),
				Site: def, Comment: c.ID, Created: at(1), Due: at(1 + i%3)})
		}
		if err := s.PlanChange(t.Context(), ts[0].Seq, ds); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		got := map[uint64]int{}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for round := range 3 {
					mine, err := s.DueDeliveries(t.Context(), at(2+w%2+round))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for _, d := range mine {
						got[d.Seq]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for seq, k := range got {
			if k > 1 {
				t.Errorf("delivery %d went to %d callers", seq, k)
			}
		}
		if len(got) != n {
			t.Errorf("%d of %d deliveries went out", len(got), n)
		}
	})
}
