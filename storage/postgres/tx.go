package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"parley/moderation"
)

// maxAttempts is how often tx runs a callback that keeps losing to
// concurrent transactions before it gives up.
const maxAttempts = 5

// tx runs fn in a READ COMMITTED transaction and commits it when fn returns
// nil. A serialization failure (40001) or deadlock (40P01) rolls back and
// runs fn again, so fn may run more than once: it must not change anything
// outside the transaction (or only idempotently), and must build its results
// afresh on each run. The error returned is mapped with mapError.
func (db *DB) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return retry(ctx, func() error {
		return pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
	})
}

// retry runs a transaction until it does not fail with a serialization
// failure or deadlock, at most maxAttempts times, and maps its error.
func retry(ctx context.Context, run func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = run()
		if !retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			break
		}
		// A short random wait lets the winner of the conflict commit.
		wait := time.Duration(attempt) * time.Duration(1+rand.IntN(5)) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return mapError(err)
}

func retryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40001" || pg.Code == "40P01")
}

// errUnavailable is what the client hears when the database cannot be
// reached or cannot take more work; the cause is logged, never sent.
var errUnavailable = moderation.Errorf(moderation.CodeUnavailable,
	"The database is not reachable just now; please try again shortly. Nothing you sent was stored.")

// mapError turns the database's errors into the domain's, keeping the
// original in the chain for logs and errors.As:
//
//   - no rows                                  → moderation.ErrNotFound
//   - unique violation (23505)                 → moderation.ErrConflict
//   - foreign key violation (23503)            → moderation.ErrNotFound: the
//     site (or other parent row) written into does not exist
//   - disk full (53100)                        → moderation.ErrStorageFull
//   - connection failures, shutdown, too many
//     connections, out of memory (class 08, 53, 57P0x) → CodeUnavailable
//
// Domain errors returned by callbacks pass through unchanged.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w (%w)", moderation.ErrNotFound, err)
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == "23505":
			return fmt.Errorf("%w (%w)", moderation.ErrConflict, err)
		case pg.Code == "23503":
			return fmt.Errorf("%w (%w)", moderation.ErrNotFound, err)
		case pg.Code == "53100":
			return fmt.Errorf("%w (postgres: %w)", moderation.ErrStorageFull, err)
		case pg.Code[:2] == "08", pg.Code[:2] == "53", pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03":
			return fmt.Errorf("%w (postgres: %w)", errUnavailable, err)
		case retryable(err):
			return fmt.Errorf("%w (postgres: gave up after %d attempts: %w)", errUnavailable, maxAttempts, err)
		}
		return err
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%w (postgres: cannot connect or lost the connection: %w)", errUnavailable, err)
	}
	return err
}
