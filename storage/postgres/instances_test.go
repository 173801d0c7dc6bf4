package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"parley/moderation"
)

// instances opens n pools on one fresh database: n parley processes. The
// guarantees that matter across them come from the database, not from
// anything in memory.
func instances(t *testing.T, n int) []*DB {
	t.Helper()
	first, dsn := open(t)
	out := []*DB{first}
	for len(out) < n {
		db, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		out = append(out, db)
	}
	return out
}

func twoInstances(t *testing.T) (*DB, *DB) {
	dbs := instances(t, 2)
	return dbs[0], dbs[1]
}

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func newComment(post string, n int) *moderation.Comment {
	at := t0.Add(time.Duration(n) * time.Millisecond)
	return &moderation.Comment{
		ID: moderation.NewID(at), Site: moderation.DefaultSite, Post: post,
		Author: "Ada", Email: fmt.Sprintf("reader%d@example.com", n%7), Body: "hello", HTML: "<p>hello</p>",
		Status: moderation.StatusPending, Created: at, Updated: at,
		History: []moderation.Change{{Status: moderation.StatusPending, At: at, By: "system"}},
	}
}

func noAttach(*moderation.Comment) error { return errors.New("attach called for a top-level comment") }

func approveAt(at time.Time) func(c *moderation.Comment) (*moderation.AuditEntry, error) {
	return func(c *moderation.Comment) (*moderation.AuditEntry, error) {
		if c.Status == moderation.StatusApproved {
			return nil, nil
		}
		c.Status, c.Updated = moderation.StatusApproved, at
		c.History = append(c.History, moderation.Change{Status: moderation.StatusApproved, At: at, By: "ada"})
		return &moderation.AuditEntry{At: at, Actor: "ada", Action: "approve", Comment: c.ID}, nil
	}
}

// Racing uses of one form token from two instances: exactly one comment is
// stored, every other is refused by Taken.
func TestInstancesClaimOnce(t *testing.T) {
	a, b := twoInstances(t)
	refused := errors.New("form already used")
	for round := range 5 {
		key := fmt.Sprintf("form:%d", round)
		const racers = 12
		var wg sync.WaitGroup
		var mu sync.Mutex
		stored, refusals := 0, 0
		for i := range racers {
			db := []*DB{a, b}[i%2]
			wg.Go(func() {
				c := newComment("/p", round*racers+i)
				err := db.CreateCommentClaiming(t.Context(), c, []moderation.Claim{{Key: key, Until: t0.Add(time.Hour),
					Taken: func(*moderation.Comment) error { return refused }}}, noAttach)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					stored++
				case errors.Is(err, refused):
					refusals++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if stored != 1 || refusals != racers-1 {
			t.Fatalf("round %d: %d stored, %d refused; want 1 and %d", round, stored, refusals, racers-1)
		}
	}
	sc, err := a.StatusCounts(t.Context(), moderation.DefaultSite)
	if err != nil || sc[moderation.StatusPending] != 5 {
		t.Errorf("pending after the races: %v, %v; want 5", sc, err)
	}
}

// Both instances approve the same comments of one post at once, in
// overlapping bulk actions in random orders, then reject half of them: the
// post's count, each commenter's and the transitions are exact.
func TestInstancesApproveExactCounts(t *testing.T) {
	a, b := twoInstances(t)
	ctx := t.Context()
	const n = 120
	var ids []string
	for i := range n {
		c := newComment("/hot", i)
		if err := a.CreateComment(ctx, c, noAttach); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	before := outboxChangeCount(t, a)
	bulk := func(change func(*moderation.Comment) (*moderation.AuditEntry, error), of []string) {
		var wg sync.WaitGroup
		for w := range 6 {
			db := []*DB{a, b}[w%2]
			order := rand.Perm(len(of))
			wg.Go(func() {
				for i := 0; i < len(order); i += 10 {
					var chunk []string
					for _, j := range order[i:min(i+10, len(order))] {
						chunk = append(chunk, of[j])
					}
					if err := db.UpdateComments(ctx, moderation.DefaultSite, chunk, change); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	bulk(approveAt(t0.Add(time.Hour)), ids)
	check := func(when string, approved int) {
		t.Helper()
		sc, err := b.StatusCounts(ctx, moderation.DefaultSite)
		if err != nil || sc[moderation.StatusApproved] != approved || sc[moderation.StatusRejected] != n-approved || sc[moderation.StatusPending] != 0 {
			t.Errorf("%s: status counts %v, %v; want %d approved and %d rejected", when, sc, err, approved, n-approved)
		}
		got, err := b.ApprovedCounts(ctx, moderation.DefaultSite, []string{"/hot"})
		if err != nil || got["/hot"] != approved {
			t.Errorf("%s: approved count %v, %v; want %d", when, got, err, approved)
		}
		th, err := a.Thread(ctx, moderation.DefaultSite, "/hot")
		if err != nil || len(th) != approved {
			t.Errorf("%s: thread of %d, %v; want %d", when, len(th), err, approved)
		}
		var sum int64
		if err := a.pool.QueryRow(ctx, "SELECT sum(approved) FROM commenters").Scan(&sum); err != nil || sum != int64(approved) {
			t.Errorf("%s: commenters count %d approved, %v; want %d", when, sum, err, approved)
		}
	}
	check("after racing approvals", n)
	if got := outboxChangeCount(t, a) - before; got != n {
		t.Errorf("%d transitions for %d approvals", got, n)
	}
	reject := func(c *moderation.Comment) (*moderation.AuditEntry, error) {
		if c.Status == moderation.StatusRejected {
			return nil, nil
		}
		c.Status = moderation.StatusRejected
		return &moderation.AuditEntry{Actor: "ada", Action: "reject", Comment: c.ID}, nil
	}
	bulk(reject, ids[:n/2])
	check("after racing rejections", n/2)
	log, err := a.AuditLog(ctx, moderation.DefaultSite, 1000, 0)
	if err != nil || len(log) != n+n/2 {
		t.Errorf("audit holds %d entries, %v; want one per real change (%d)", len(log), err, n+n/2)
	}
}

func outboxChangeCount(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.pool.QueryRow(t.Context(), "SELECT count(*) FROM outbox_changes").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A reply racing the deletion of its parent on another instance: either
// the reply is refused and the parent is gone, or the reply is stored and
// the parent stays as a tombstone. Never a reply under nothing.
func TestInstancesReplyRacingDelete(t *testing.T) {
	a, b := twoInstances(t)
	ctx := t.Context()
	refused := &moderation.ValidationError{Fields: map[string]string{"parent": "gone"}}
	outcomes := map[string]int{}
	for i := range 30 {
		parent := newComment("/p", 2*i)
		if err := a.CreateComment(ctx, parent, noAttach); err != nil {
			t.Fatal(err)
		}
		if err := a.UpdateComments(ctx, moderation.DefaultSite, []string{parent.ID}, approveAt(t0)); err != nil {
			t.Fatal(err)
		}
		reply := newComment("/p", 2*i+1)
		reply.Parent = parent.ID
		var wg sync.WaitGroup
		var replyErr, deleteErr error
		wg.Go(func() {
			replyErr = b.CreateComment(ctx, reply, func(p *moderation.Comment) error {
				if p == nil || p.Status != moderation.StatusApproved {
					return refused
				}
				reply.Depth = p.Depth + 1
				return nil
			})
		})
		wg.Go(func() {
			deleteErr = a.DeleteComments(ctx, moderation.DefaultSite, []string{parent.ID}, func(c *moderation.Comment) (*moderation.AuditEntry, error) {
				c.Status, c.Author, c.Email, c.Body, c.HTML = moderation.StatusDeleted, "", "", "", ""
				return &moderation.AuditEntry{Actor: "ada", Action: "delete", Comment: c.ID}, nil
			})
		})
		wg.Wait()
		if deleteErr != nil {
			t.Fatal(deleteErr)
		}
		p, perr := a.Comment(ctx, moderation.DefaultSite, parent.ID)
		switch {
		case replyErr == nil && perr == nil && p.Status == moderation.StatusDeleted:
			outcomes["reply kept the tombstone"]++
		case errors.Is(replyErr, refused) && errors.Is(perr, moderation.ErrNotFound):
			outcomes["reply refused, parent removed"]++
		default:
			t.Fatalf("round %d: reply %v, parent %+v (%v)", i, replyErr, p, perr)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}
