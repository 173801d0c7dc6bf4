package bolt

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// fillPending writes n pending comments on 100 posts in one transaction.
func fillPending(b *testing.B, n int) *DB {
	b.Helper()
	db, err := Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err = db.update(func(tx *bbolt.Tx) error {
		for i := range n {
			at := start.Add(time.Duration(i) * time.Second)
			c := &moderation.Comment{Site: moderation.DefaultSite, ID: moderation.NewID(at), Post: fmt.Sprintf("/post/%d", i%100),
				Author: fmt.Sprintf("Reader %d", i), Email: fmt.Sprintf("reader%d@example.com", i),
				Body: "A thoughtful comment about engines, of ordinary length for a blog.", HTML: "<p>A thoughtful comment</p>",
				Status: moderation.StatusPending, Created: at, Updated: at}
			if err := putComment(tx, nil, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkStatusCounts: the counts every admin page shows and polls.
func BenchmarkStatusCounts(b *testing.B) {
	db := fillPending(b, 20_000)
	for b.Loop() {
		if _, err := db.StatusCounts(context.Background(), moderation.DefaultSite); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueueSearch: a search that matches nothing reads every comment
// of the status, the worst case.
func BenchmarkQueueSearch(b *testing.B) {
	db := fillPending(b, 20_000)
	for _, q := range []moderation.Query{
		{Site: moderation.DefaultSite, Status: moderation.StatusPending, Limit: 50},
		{Site: moderation.DefaultSite, Status: moderation.StatusPending, Limit: 50, Search: "reader1999"},
		{Site: moderation.DefaultSite, Status: moderation.StatusPending, Limit: 50, Search: "no such text"},
	} {
		b.Run(fmt.Sprintf("search=%q", q.Search), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := db.Comments(context.Background(), q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
