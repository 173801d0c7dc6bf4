package postgres

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"parley/moderation"
	"parley/storage/bolt"
	"parley/storage/pgtest"
)

// seedBolt writes n comments into a new bbolt file through ImportComments
// (the store's own bulk write): 1,000 posts, a reply in four, 80% approved,
// 10% pending, 10% spam, half of them with a classifier training.
func seedBolt(b *testing.B, n int) *bolt.DB {
	b.Helper()
	db, err := bolt.Open(filepath.Join(b.TempDir(), "seed.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var batch []*moderation.ImportItem
	var last []string // the last comment of each post
	last = make([]string, 1000)
	for i := range n {
		at := start.Add(time.Duration(i) * time.Minute)
		post := fmt.Sprintf("/posts/%d", i%1000)
		c := &moderation.Comment{ID: moderation.NewID(at), Site: moderation.DefaultSite, Post: post,
			Author: "Reader " + fmt.Sprint(i), Email: fmt.Sprintf("reader%d@example.com", i%500),
			Body:   "A comment of ordinary length, with a few words about the post and a question at the end?",
			HTML:   "<p>A comment of ordinary length, with a few words about the post and a question at the end?</p>",
			Status: moderation.StatusApproved, Created: at, Updated: at, IPHash: "9f86d081884c7d659a2feaa0c55ad015",
			UserAgent: "Mozilla/5.0", History: []moderation.Change{{Status: moderation.StatusApproved, At: at, By: "ada"}}}
		switch i % 10 {
		case 8:
			c.Status = moderation.StatusPending
		case 9:
			c.Status = moderation.StatusSpam
		}
		if i%2 == 0 {
			c.Trained = &moderation.Training{Class: "ham", Features: []uint32{uint32(i % 5000), uint32(i%5000 + 1), 77, 78, 79}}
		}
		item := &moderation.ImportItem{Comment: c, Key: []byte(c.ID)}
		if p := last[i%1000]; i%4 == 3 && p != "" {
			c.Parent = p
			item.Attach = func(parent *moderation.Comment) error { c.Depth = min(parent.Depth+1, moderation.MaxDepth); return nil }
		}
		last[i%1000] = c.ID
		if batch = append(batch, item); len(batch) == 1000 {
			if err := db.ImportComments(context.Background(), moderation.DefaultSite, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := db.ImportComments(context.Background(), moderation.DefaultSite, batch); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkCopy measures what parley copy does (moderation.Copy between
// two stores, 1,000 records a transaction) for 10,000 comments: into an
// empty PostgreSQL database, again over the same records, and back into a
// new bbolt file. Opening the databases is not timed.
func BenchmarkCopy(b *testing.B) {
	const comments = 10_000
	src := seedBolt(b, comments)
	ctx := context.Background()
	report := func(b *testing.B, n moderation.CopyCount) {
		b.ReportMetric(float64(n.Kinds[moderation.KindComment]), "comments")
		b.ReportMetric(float64(n.Records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	}
	b.Run("bolt-to-postgres", func(b *testing.B) {
		var n moderation.CopyCount
		for b.Loop() {
			b.StopTimer()
			dst, err := Open(ctx, pgtest.DSN(b))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if n, err = moderation.Copy(ctx, dst, src.Dump, nil); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			_ = dst.Close()
			b.StartTimer()
		}
		report(b, n)
	})
	pg, err := Open(ctx, pgtest.DSN(b))
	if err != nil {
		b.Fatal(err)
	}
	defer pg.Close()
	if _, err := moderation.Copy(ctx, pg, src.Dump, nil); err != nil {
		b.Fatal(err)
	}
	b.Run("bolt-to-postgres-again", func(b *testing.B) {
		var n moderation.CopyCount
		for b.Loop() {
			if n, err = moderation.Copy(ctx, pg, src.Dump, nil); err != nil {
				b.Fatal(err)
			}
		}
		report(b, n)
	})
	b.Run("postgres-to-bolt", func(b *testing.B) {
		var n moderation.CopyCount
		for b.Loop() {
			b.StopTimer()
			dst, err := bolt.Open(filepath.Join(b.TempDir(), "copy.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if n, err = moderation.Copy(ctx, dst, pg.Dump, nil); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			_ = dst.Close()
			b.StartTimer()
		}
		report(b, n)
	})
}
