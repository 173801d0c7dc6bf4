package postgres

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"parley/moderation"
)

// countingConn counts the messages the client sends: one write per round
// trip, as pgx flushes a batch (or a query) in one.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// A submission costs one round trip when its claims are free and it has no
// parent, two when it reads a parent; a thread is one.
func TestRoundTrips(t *testing.T) {
	_, dsn := open(t)
	ctx := context.Background()
	config, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int64
	dial := config.ConnConfig.DialFunc
	config.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		return countingConn{conn, &writes}, err
	}
	config.MaxConns = 1
	config.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := &DB{pool: pool}

	n := 0
	parent := newComment("/p", n)
	if err := db.CreateComment(ctx, parent, noAttach); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateComments(ctx, moderation.DefaultSite, []string{parent.ID}, approveAt(t0)); err != nil {
		t.Fatal(err)
	}
	attach := func(c *moderation.Comment) func(*moderation.Comment) error {
		return func(p *moderation.Comment) error { c.Depth = p.Depth + 1; return nil }
	}
	claims := func() []moderation.Claim {
		return []moderation.Claim{{Key: "form:" + moderation.NewID(t0), Until: t0.Add(time.Hour)}, {Key: "body:" + moderation.NewID(t0), Until: t0.Add(time.Hour)}}
	}
	cases := []struct {
		name string
		want int64
		run  func() error
	}{
		{"a top-level comment", 1, func() error { n++; return db.CreateComment(ctx, newComment("/p", n), noAttach) }},
		{"a top-level comment with free claims", 1, func() error {
			n++
			return db.CreateCommentClaiming(ctx, newComment("/p", n), claims(), noAttach)
		}},
		{"a reply", 2, func() error {
			n++
			c := newComment("/p", n)
			c.Parent = parent.ID
			return db.CreateComment(ctx, c, attach(c))
		}},
		{"a reply with free claims", 2, func() error {
			n++
			c := newComment("/p", n)
			c.Parent = parent.ID
			return db.CreateCommentClaiming(ctx, c, claims(), attach(c))
		}},
		{"a thread", 1, func() error { _, err := db.Thread(ctx, moderation.DefaultSite, "/p"); return err }},
	}
	for _, c := range cases {
		if err := c.run(); err != nil { // prepares the statements on the connection
			t.Fatal(err)
		}
		before := writes.Load()
		if err := c.run(); err != nil {
			t.Fatal(err)
		}
		if got := writes.Load() - before; got != c.want {
			t.Errorf("%s: %d round trips, want %d", c.name, got, c.want)
		}
	}
}
