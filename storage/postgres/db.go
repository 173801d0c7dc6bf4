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
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

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

// Close closes every connection, waiting for those in use to be released.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return mapError(db.pool.Ping(ctx))
}

// Stats describes the connection pool, for metrics.
type Stats struct {
	MaxConns        int32         // the pool's limit
	TotalConns      int32         // open connections, idle or in use
	IdleConns       int32         // open and waiting for work
	AcquiredConns   int32         // in use now
	AcquireCount    int64         // connections handed out since Open
	AcquireDuration time.Duration // total time spent waiting for them
	EmptyAcquires   int64         // acquires that had to wait or connect: a pool too small shows here
}

// Stats returns the pool's figures now.
func (db *DB) Stats() Stats {
	s := db.pool.Stat()
	return Stats{
		MaxConns:        s.MaxConns(),
		TotalConns:      s.TotalConns(),
		IdleConns:       s.IdleConns(),
		AcquiredConns:   s.AcquiredConns(),
		AcquireCount:    s.AcquireCount(),
		AcquireDuration: s.AcquireDuration(),
		EmptyAcquires:   s.EmptyAcquireCount(),
	}
}
