// Package postgres keeps Parley's data in PostgreSQL, for several parley
// processes sharing one database. It speaks pgx's native interface through a
// pgxpool (LISTEN/NOTIFY is not available through database/sql). It imports
// the domain package and nothing else of ours.
//
// The schema lives in migrations/ as numbered SQL files, applied at Open
// (migrate.go); 001_init.sql documents every table. Writing a method:
//
//   - Run it in db.tx, which retries on serialization failures and deadlocks
//     and maps errors to the domain's (tx.go). The callback may run more than
//     once: build its results afresh each time, and call domain callbacks
//     (such as Claim.Taken) knowing they may repeat.
//   - A check and the write it guards share one transaction, and the check
//     locks what it reads (SELECT … FOR UPDATE) or the write is conditional
//     (INSERT … ON CONFLICT, UPDATE … WHERE): READ COMMITTED does not make a
//     read-then-write safe by itself.
//   - Encode documents with encoding/json exactly as the bbolt backend does,
//     so export, import and copy see the same bytes from both.
//   - Return moderation.ErrNotFound for a missing row (pgx.ErrNoRows from
//     QueryRow.Scan does that through mapError) and moderation.ErrConflict
//     for a key that exists (a unique violation does).
package postgres

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"parley/moderation"
)

var _ moderation.Store = (*DB)(nil)

// DB is a pool of connections to Parley's PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool
	self string // this process's name among its peers (peers.go)
}

// Open connects to the database at dsn (a postgres:// URL or a key=value
// string; pool settings such as pool_max_conns may be given in it) and
// brings its schema up to date. It refuses a database whose schema is newer
// than this binary knows, or whose applied migrations were changed since.
func Open(ctx context.Context, dsn string) (*DB, error) {
	config, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message never repeats the password.
		return nil, fmt.Errorf("open postgres: the connection string is not valid: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		config.MaxConns = defaultMaxConns()
	}
	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db := &DB{pool: pool, self: newInstanceID()}
	if err := db.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := migrate(ctx, pool, embedded); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return db, nil
}

// defaultMaxConns is the pool's size unless the connection string sets
// pool_max_conns: four connections per CPU, and at least 32. pgx's own
// default (one per CPU, at least 4) makes submissions queue for a
// connection while others wait for their commit to reach the disk: that
// wait is I/O, not CPU, and PostgreSQL flushes the commits that wait
// together in one WAL write, so more of them in flight is more comments
// per flush. Measured with 50 writers and durable commits on a 2-CPU
// machine (storage/postgres BenchmarkCreateComment against a server with
// fsync on): 8 connections gave about 1,700 comments/s, 16 about 2,900, 32
// about 3,400 and 64 about 4,100. Each instance holds up to this many of
// the server's max_connections (100 by default), so 32 leaves room for
// three instances and the tools; with more, set pool_max_conns lower or
// raise max_connections.
func defaultMaxConns() int32 {
	return int32(max(32, 4*runtime.GOMAXPROCS(0)))
}

// Close closes every connection, waiting for those in use to be released.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return mapError(db.pool.Ping(ctx))
}

// Stats returns the connection pool's figures, for metrics.
func (db *DB) Stats() moderation.StoreStats {
	s := db.pool.Stat()
	return moderation.StoreStats{
		{Name: "pool_max_connections", Help: "The PostgreSQL connection pool's limit.", Value: float64(s.MaxConns())},
		{Name: "pool_connections", Help: "Open connections to PostgreSQL, idle or in use.", Value: float64(s.TotalConns())},
		{Name: "pool_idle_connections", Help: "Open connections waiting for work.", Value: float64(s.IdleConns())},
		{Name: "pool_acquired_connections", Help: "Connections in use now.", Value: float64(s.AcquiredConns())},
		{Name: "pool_acquires_total", Help: "Connections handed out of the pool.", Counter: true, Value: float64(s.AcquireCount())},
		{Name: "pool_acquire_seconds_total", Help: "Time spent waiting for a connection.", Counter: true, Value: s.AcquireDuration().Seconds()},
		{Name: "pool_empty_acquires_total", Help: "Acquires that had to wait or connect: a pool too small shows here.", Counter: true, Value: float64(s.EmptyAcquireCount())},
	}
}
