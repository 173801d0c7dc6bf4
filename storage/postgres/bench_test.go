package postgres

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parley/moderation"
	"parley/storage/pgtest"
)

// openBench opens a fresh database for a benchmark, with the pool Open
// chooses unless conns > 0.
func openBench(b *testing.B, conns int) *DB {
	b.Helper()
	dsn := pgtest.DSN(b)
	if conns > 0 {
		dsn = withPoolSize(dsn, conns)
	}
	db, err := Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// withPoolSize adds pool_max_conns to a connection string, a URL or
// key=value pairs.
func withPoolSize(dsn string, conns int) string {
	sep := "?"
	switch {
	case !strings.Contains(dsn, "://"):
		sep = " "
	case strings.Contains(dsn, "?"):
		sep = "&"
	}
	return dsn + sep + fmt.Sprintf("pool_max_conns=%d", conns)
}

// BenchmarkThread200 reads a post's thread of 200 approved comments (a
// quarter of them replies, two tombstones holding replies up) from the
// database, as the server does when its cache misses.
func BenchmarkThread200(b *testing.B) {
	db := openBench(b, 0)
	ctx := context.Background()
	var ids []string
	for i := range 202 {
		c := newComment("/post", i)
		c.Body = strings.Repeat("A paragraph of a comment, long as most are. ", 8)
		c.HTML = "<p>" + c.Body + "</p>"
		attach := noAttach
		if i%4 == 3 {
			c.Parent = ids[i-1]
			attach = func(p *moderation.Comment) error { c.Depth = p.Depth + 1; return nil }
		}
		if err := db.CreateComment(ctx, c, attach); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	if err := db.UpdateComments(ctx, moderation.DefaultSite, ids, approveAt(t0.Add(time.Hour))); err != nil {
		b.Fatal(err)
	}
	// Two parents with replies become tombstones; 200 approved remain.
	del := func(c *moderation.Comment) (*moderation.AuditEntry, error) {
		c.Status, c.Author, c.Email, c.Body, c.HTML = moderation.StatusDeleted, "", "", "", ""
		return &moderation.AuditEntry{Actor: "ada", Action: "delete", Comment: c.ID}, nil
	}
	if err := db.DeleteComments(ctx, moderation.DefaultSite, []string{ids[2], ids[6]}, del); err != nil {
		b.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, "VACUUM ANALYZE comments"); err != nil {
		b.Fatal(err)
	}
	th, err := db.Thread(ctx, moderation.DefaultSite, "/post")
	if err != nil || len(th) != 202 {
		b.Fatalf("thread of %d, %v; want 200 comments and 2 tombstones", len(th), err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.Thread(ctx, moderation.DefaultSite, "/post"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateComment stores new top-level comments from 50 concurrent
// writers, spread over 100 posts, with the pool Open chooses and with
// fixed sizes for comparison. ns/op is the time per comment across all
// writers; comments/s is its inverse. pgtest's server runs with fsync and
// synchronous_commit off: these figures are not durable throughput.
func BenchmarkCreateComment(b *testing.B) {
	for _, conns := range []int{0, 8, 16, 64} {
		name := "pool=default"
		if conns > 0 {
			name = fmt.Sprintf("pool=%d", conns)
		}
		b.Run(name, func(b *testing.B) { benchCreate(b, conns, false, false) })
	}
}

// BenchmarkCreateClaiming is a submission as the service makes it: a
// top-level comment taking two free claims (form token and body), in one
// round trip; 50 writers.
func BenchmarkCreateClaiming(b *testing.B) { benchCreate(b, 0, false, true) }

// BenchmarkCreateReplyClaiming is the two-round-trip path: a reply that
// takes two claims, 50 writers.
func BenchmarkCreateReplyClaiming(b *testing.B) { benchCreate(b, 0, true, true) }

func benchCreate(b *testing.B, conns int, reply, claiming bool) {
	db := openBench(b, conns)
	ctx := context.Background()
	var parents []string
	if reply {
		for i := range 100 {
			p := newComment(fmt.Sprintf("/post%d", i), i)
			if err := db.CreateComment(ctx, p, noAttach); err != nil {
				b.Fatal(err)
			}
			parents = append(parents, p.ID)
		}
	}
	var n atomic.Int64
	b.SetParallelism(max(1, 50/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			c := newComment(fmt.Sprintf("/post%d", i%100), i)
			attach := noAttach
			if reply {
				c.Parent = parents[i%100]
				attach = func(p *moderation.Comment) error { c.Depth = p.Depth + 1; return nil }
			}
			var err error
			if claiming {
				claims := []moderation.Claim{
					{Key: fmt.Sprintf("form:%d", i), Until: c.Created.Add(time.Hour)},
					{Key: fmt.Sprintf("body:%d", i), Until: c.Created.Add(10 * time.Minute)},
				}
				err = db.CreateCommentClaiming(ctx, c, claims, attach)
			} else {
				err = db.CreateComment(ctx, c, attach)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "comments/s")
}
