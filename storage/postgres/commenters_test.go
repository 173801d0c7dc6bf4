package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"parley/moderation"
)

func TestCommenterRecord(t *testing.T) {
	dbs := instances(t, 2)
	a, b := dbs[0], dbs[1]
	ctx := context.Background()
	c, err := a.Commenter(ctx, "nobody@example.com")
	if err != nil || *c != (moderation.Commenter{}) {
		t.Fatalf("an unknown address: %+v, %v; want a zero record", c, err)
	}

	// One address whatever its case and spaces; the verification mail is
	// queued with the change.
	err = a.UpdateCommenter(ctx, " Ada@Example.com", func(c *moderation.Commenter) ([]*moderation.Delivery, error) {
		c.VerifyRequested = at(1)
		return []*moderation.Delivery{{Kind: moderation.DeliverVerify, To: "Ada@Example.com", Created: at(1), Due: at(1)}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err = b.Commenter(ctx, "ada@example.com ")
	if err != nil || !c.VerifyRequested.Equal(at(1)) || !c.Verified.IsZero() {
		t.Fatalf("read back %+v, %v", c, err)
	}
	ds := due(t, b, at(1), &moderation.Delivery{Seq: 1})
	if len(ds) == 1 && (ds[0].Kind != moderation.DeliverVerify || ds[0].To != "Ada@Example.com") {
		t.Errorf("queued %+v", ds[0])
	}

	// fn failing changes nothing and queues nothing.
	boom := errors.New("boom")
	err = b.UpdateCommenter(ctx, "ada@example.com", func(c *moderation.Commenter) ([]*moderation.Delivery, error) {
		c.Verified = at(2)
		return []*moderation.Delivery{{Kind: moderation.DeliverVerify, To: "x@example.com", Created: at(2), Due: at(2)}}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("fn's error came back as %v", err)
	}
	if c, _ := a.Commenter(ctx, "ada@example.com"); !c.Verified.IsZero() {
		t.Error("a failed update was saved")
	}
	if d := depth(t, a); d["pending"] != 1 {
		t.Errorf("a failed update queued mail: %v", d)
	}
	err = b.UpdateCommenter(ctx, "new@example.com", func(*moderation.Commenter) ([]*moderation.Delivery, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	var rows int
	if err := a.pool.QueryRow(ctx, "SELECT count(*) FROM commenters").Scan(&rows); err != nil || rows != 1 {
		t.Errorf("%d commenter rows after a failed first update (%v), want 1", rows, err)
	}

	// The approved count is the column's, which comment writes move.
	if _, err := a.pool.Exec(ctx, "UPDATE commenters SET approved = approved + 3 WHERE email = 'ada@example.com'"); err != nil {
		t.Fatal(err)
	}
	if c, _ := b.Commenter(ctx, "ADA@example.com"); c.Approved != 3 || !c.VerifyRequested.Equal(at(1)) {
		t.Errorf("after three approvals: %+v", c)
	}
	err = a.UpdateCommenter(ctx, "ada@example.com", func(c *moderation.Commenter) ([]*moderation.Delivery, error) {
		if c.Approved != 3 {
			t.Errorf("fn sees %d approved, want 3", c.Approved)
		}
		c.Verified = at(3)
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := b.Commenter(ctx, "ada@example.com"); c.Approved != 3 || !c.Verified.Equal(at(3)) {
		t.Errorf("after verifying: %+v", c)
	}
}

// Updates of one address from two instances take turns: none is lost.
func TestConcurrentCommenterUpdatesAcrossInstances(t *testing.T) {
	dbs := instances(t, 2)
	ctx := context.Background()
	const n = 30
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := dbs[i%2].UpdateCommenter(ctx, "Bob@example.com", func(c *moderation.Commenter) ([]*moderation.Delivery, error) {
				c.Approved++ // a read-modify-write that only a lock keeps whole
				return []*moderation.Delivery{{Kind: moderation.DeliverVerify, To: "bob@example.com", Created: at(i), Due: at(i)}}, nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if c, err := dbs[0].Commenter(ctx, "bob@example.com"); err != nil || c.Approved != n {
		t.Errorf("after %d concurrent updates: %+v, %v", n, c, err)
	}
	if d := depth(t, dbs[1]); d["pending"] != n {
		t.Errorf("%d deliveries queued by %d updates", d["pending"], n)
	}
}

// A link is used once, whichever instances try it at once.
func TestUseLinkOnceAcrossInstances(t *testing.T) {
	dbs := instances(t, 2)
	ctx := context.Background()
	for round := range 5 {
		nonce := "nonce-" + string(rune('a'+round))
		const callers = 16
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() { errs[i] = dbs[i%2].UseLink(ctx, nonce, at(100)) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, moderation.ErrConflict):
				t.Errorf("a second use: %v, want a conflict", err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d of %d uses of one link succeeded, want 1", round, won, callers)
		}
	}
	if used, err := dbs[1].LinkUsed(ctx, "nonce-a"); err != nil || !used {
		t.Errorf("LinkUsed of a used link: %v, %v", used, err)
	}
	if used, err := dbs[1].LinkUsed(ctx, "never"); err != nil || used {
		t.Errorf("LinkUsed of an unused link: %v, %v", used, err)
	}

	// Records are forgotten once expired (in whole seconds, as in bbolt).
	if err := dbs[0].UseLink(ctx, "later", at(200).Add(900*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := dbs[0].PruneOutbox(ctx, t0, at(100)); err != nil {
		t.Fatal(err)
	}
	if used, _ := dbs[0].LinkUsed(ctx, "nonce-a"); !used {
		t.Error("a link expiring now was forgotten")
	}
	if err := dbs[0].PruneOutbox(ctx, t0, at(200).Add(999*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if used, _ := dbs[0].LinkUsed(ctx, "nonce-a"); used {
		t.Error("an expired link record was kept")
	}
	if used, _ := dbs[0].LinkUsed(ctx, "later"); !used {
		t.Error("a link expiring within the same second was forgotten")
	}
	if err := dbs[0].PruneOutbox(ctx, t0, at(201)); err != nil {
		t.Fatal(err)
	}
	if used, _ := dbs[0].LinkUsed(ctx, "later"); used {
		t.Error("an expired link record was kept")
	}
}
