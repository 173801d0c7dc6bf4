package postgres

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// Open sizes the pool for concurrent writers unless the connection string
// says otherwise.
func TestOpenPoolSize(t *testing.T) {
	db, dsn := open(t)
	if got := db.pool.Config().MaxConns; got != defaultMaxConns() || got < 32 {
		t.Errorf("pool of %d connections, want %d (at least 32)", got, defaultMaxConns())
	}
	small, err := Open(context.Background(), withPoolSize(dsn, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	if got := small.pool.Config().MaxConns; got != 3 {
		t.Errorf("pool_max_conns=3 gave %d connections", got)
	}
}

// The database narrows a search only where it cannot lose a match: the
// Kelvin sign and the dotted capital I lower to ASCII in Go, quotes and
// backslashes are escaped in the stored JSON, and non-ASCII terms are left
// to Query.Matches. Every search finds what Matches finds.
func TestSearchFindsWhatMatchesFinds(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	fields := []string{"\u212aelvin", "\u0130stanbul", `say "hi"`, `back\slash`, "Émile", "ÉMILE ZOLA", "tab\there", "plain text"}
	var made []*moderation.Comment
	for i, f := range fields {
		c := newComment("/p", i)
		switch i % 3 {
		case 0:
			c.Author = f
		case 1:
			c.Body = f
		case 2:
			c.Website = f
		}
		if err := db.CreateComment(ctx, c, noAttach); err != nil {
			t.Fatal(err)
		}
		made = append(made, c)
	}
	for _, search := range []string{"kelvin", "KELVIN", "istanbul", "İstanbul", `"hi"`, `\s`, "émile", "ÉMILE", "zola", "\t", "plain", "reader1@", "nothing"} {
		q := moderation.Query{Site: moderation.DefaultSite, Status: moderation.StatusPending, Limit: 100, Search: search}
		var want []string
		for _, c := range made {
			if q.Matches(c) {
				want = append(want, c.ID)
			}
		}
		page, next, err := db.Comments(ctx, q)
		if err != nil || next != "" {
			t.Fatalf("search %q: next %q, %v", search, next, err)
		}
		var got []string
		for _, c := range page {
			got = append(got, c.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("search %q found %v, Matches finds %v", search, got, want)
		}
	}
}

// writeComment, the shared write that a restore uses, keeps the thread,
// counts, commenter, outbox and model in step with the row.
func TestWriteCommentKeepsEverythingInStep(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	c := newComment("/p", 1)
	c.Status = moderation.StatusApproved
	c.Trained = &moderation.Training{Class: "ham", Features: []uint32{7, 7, 9}}
	if err := db.tx(ctx, func(tx pgx.Tx) error { return writeComment(ctx, tx, nil, c) }); err != nil {
		t.Fatal(err)
	}
	check := func(when string, approved, commenter, changes, ham int, f7 uint32) {
		t.Helper()
		counts, err := db.ApprovedCounts(ctx, moderation.DefaultSite, []string{"/p"})
		if err != nil || counts["/p"] != approved {
			t.Errorf("%s: approved %v, %v; want %d", when, counts, err, approved)
		}
		th, _ := db.Thread(ctx, moderation.DefaultSite, "/p")
		if len(th) != approved {
			t.Errorf("%s: thread of %d, want %d", when, len(th), approved)
		}
		var n int
		_ = db.pool.QueryRow(ctx, "SELECT approved FROM commenters WHERE email = $1", moderation.EmailKey(c.Email)).Scan(&n)
		if n != commenter {
			t.Errorf("%s: commenter has %d approved, want %d", when, n, commenter)
		}
		if got := outboxChangeCount(t, db); got != changes {
			t.Errorf("%s: %d transitions, want %d", when, got, changes)
		}
		var counted uint32
		_, h, _, err := db.Model(ctx, moderation.DefaultSite, func(hash, ham, spam uint32) {
			if hash == 7 {
				counted = ham
			}
		})
		if err != nil || h != ham || counted != f7 {
			t.Errorf("%s: model ham %d, bucket 7 %d, %v; want %d and %d", when, h, counted, err, ham, f7)
		}
	}
	check("after writing an approved, trained comment", 1, 1, 1, 1, 2)

	old := cloneComment(c)
	c.Status, c.Updated, c.Trained = moderation.StatusPending, time.Now(), nil
	if err := db.tx(ctx, func(tx pgx.Tx) error { return writeComment(ctx, tx, old, c) }); err != nil {
		t.Fatal(err)
	}
	check("after moving it back to pending, untrained", 0, 0, 2, 0, 0)
}

// The status counts follow every writer of comments, a restore's bulk
// upserts and a site's deletion included, since a trigger keeps them.
func TestStatusCountsFollowEveryWriter(t *testing.T) {
	src, _ := open(t)
	ctx := context.Background()
	var ids []string
	for i := range 9 {
		c := newComment("/p", i)
		if err := src.CreateComment(ctx, c, noAttach); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	if err := src.UpdateComments(ctx, moderation.DefaultSite, ids[:4], approveAt(t0)); err != nil {
		t.Fatal(err)
	}
	want, err := src.StatusCounts(ctx, moderation.DefaultSite)
	if err != nil || want[moderation.StatusApproved] != 4 || want[moderation.StatusPending] != 5 {
		t.Fatalf("source counts %v, %v", want, err)
	}
	var comments []*moderation.Record
	if err := src.Dump(ctx, func(r *moderation.Record) error {
		if r.Kind == moderation.KindComment {
			comments = append(comments, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	dst, _ := open(t)
	for range 2 { // a repeated restore upserts: the counts do not double
		if err := dst.Restore(ctx, comments); err != nil {
			t.Fatal(err)
		}
		if got, err := dst.StatusCounts(ctx, moderation.DefaultSite); err != nil || !maps.Equal(got, want) {
			t.Errorf("restored counts %v, %v; want %v", got, err, want)
		}
	}

	// A site deleted with its comments leaves no counts behind, and a new
	// site of that name starts from zero.
	site := &moderation.Site{ID: "gone", Name: "Gone", Origins: []string{}, Created: t0}
	if err := dst.PutSite(ctx, site, true, nil); err != nil {
		t.Fatal(err)
	}
	c := newComment("/p", 100)
	c.Site = "gone"
	if err := dst.CreateComment(ctx, c, noAttach); err != nil {
		t.Fatal(err)
	}
	if err := dst.DeleteSite(ctx, "gone", true, &moderation.AuditEntry{At: t0, Actor: "ada", Action: "site.remove", Detail: "gone"}); err != nil {
		t.Fatal(err)
	}
	if err := dst.PutSite(ctx, site, true, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := dst.StatusCounts(ctx, "gone"); err != nil || got[moderation.StatusPending] != 0 {
		t.Errorf("a site made again after its deletion counts %v, %v", got, err)
	}
}
