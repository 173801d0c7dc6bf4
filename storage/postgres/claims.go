package postgres

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"parley/moderation"
)

// claimState is what create learns of its claims in its first round trip
// and records in its second.
type claimState struct {
	keys    []string         // each key once, sorted, so that racing claimers lock in one order
	until   map[string]int64 // the latest Until asked for each key, in Unix nanoseconds
	fresh   map[string]bool  // keys this transaction inserted: nobody held them
	current map[string]int64 // what the others hold until, read under lock
}

// newClaimState gathers claims by key: each key once, with the latest
// Until asked for it.
func newClaimState(claims []moderation.Claim) (*claimState, []int64) {
	s := &claimState{until: map[string]int64{}, fresh: map[string]bool{}, current: map[string]int64{}}
	for _, cl := range claims {
		u := cl.Until.UnixNano()
		if old, ok := s.until[cl.Key]; !ok || u > old {
			s.until[cl.Key] = u
		}
	}
	s.keys = slices.Sorted(maps.Keys(s.until))
	untils := make([]int64, len(s.keys))
	for i, k := range s.keys {
		untils[i] = s.until[k]
	}
	return s, untils
}

// errClaimHeld is the SQLSTATE that take_free_claims (001_init.sql) raises
// when a key is already there.
const errClaimHeld = "PA001"

// queueTakeFree queues the taking of claims that nobody holds: the insert
// of every key, which fails the batch's transaction with errClaimHeld if
// one is there already (or is being inserted by a transaction that
// commits). That is a submission's usual case, in the same round trip as
// its writes; the caller falls back to createReading for the rest.
func queueTakeFree(b *pgx.Batch, claims []moderation.Claim) {
	s, untils := newClaimState(claims)
	b.Queue(`SELECT take_free_claims($1::text[], $2::bigint[])`, s.keys, untils)
}

// claimHeld reports whether err is queueTakeFree's refusal.
func claimHeld(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == errClaimHeld
}

// queueClaims queues the taking of claims, in one statement: keys nobody
// holds are inserted, and the rows of those already held are locked and
// read. A concurrent claimer of the same key waits for the insert to commit
// or roll back, so exactly one of two racing comments finds a key free.
func queueClaims(b *pgx.Batch, claims []moderation.Claim) *claimState {
	s, untils := newClaimState(claims)
	if len(claims) == 0 {
		return s
	}
	// The SELECT sees the rows committed when the statement began, locked
	// at their latest version; a row that another transaction committed
	// while the INSERT waited for it is neither inserted nor seen, and
	// lockRaced reads it after.
	b.Queue(`WITH fresh AS (
			INSERT INTO claims (key, until_ns) SELECT * FROM unnest($1::text[], $2::bigint[])
			ON CONFLICT (key) DO NOTHING RETURNING key),
		held AS (SELECT key, until_ns FROM claims WHERE key = ANY($1) ORDER BY key FOR UPDATE)
		SELECT key, until_ns, false FROM held UNION ALL SELECT key, 0, true FROM fresh`, s.keys, untils).Query(s.scan)
	return s
}

// scan records the rows of queueClaims' statement: (key, until, fresh).
func (s *claimState) scan(rows pgx.Rows) error {
	for rows.Next() {
		var k string
		var u int64
		var fresh bool
		if err := rows.Scan(&k, &u, &fresh); err != nil {
			return err
		}
		if fresh {
			s.fresh[k] = true
		} else {
			s.current[k] = u
		}
	}
	return rows.Err()
}

// lockRaced locks and reads the keys that queueClaims neither inserted nor
// saw: a concurrent claimer's, committed while it waited. A new statement
// sees them.
func (s *claimState) lockRaced(ctx context.Context, conn *pgxpool.Conn) error {
	var raced []string
	for _, k := range s.keys {
		if _, seen := s.current[k]; !seen && !s.fresh[k] {
			raced = append(raced, k)
		}
	}
	if len(raced) == 0 {
		return nil
	}
	rows, err := conn.Query(ctx, `SELECT key, until_ns, false FROM claims WHERE key = ANY($1) ORDER BY key FOR UPDATE`, raced)
	if err != nil {
		return err
	}
	defer rows.Close()
	return s.scan(rows)
}

// taken reports whether someone else holds key at c's creation time.
func (s *claimState) taken(key string, c *moderation.Comment) bool {
	u, ok := s.current[key]
	return ok && !s.fresh[key] && u > c.Created.UnixNano()
}

// queueRecord queues the recording of every claim not inserted already:
// held until the later of its old and new times.
func (s *claimState) queueRecord(b *pgx.Batch) {
	var keys []string
	var untils []int64
	for _, k := range s.keys {
		if !s.fresh[k] {
			keys, untils = append(keys, k), append(untils, s.until[k])
		}
	}
	if len(keys) == 0 {
		return
	}
	b.Queue(`INSERT INTO claims (key, until_ns) SELECT * FROM unnest($1::text[], $2::bigint[])
		ON CONFLICT (key) DO UPDATE SET until_ns = greatest(claims.until_ns, excluded.until_ns)`, keys, untils)
}

// PurgeClaims implements moderation.ClaimStore.
func (db *DB) PurgeClaims(ctx context.Context, now time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM claims WHERE until_ns <= $1`, now.UnixNano())
	if err != nil {
		return 0, mapError(err)
	}
	return int(tag.RowsAffected()), nil
}
