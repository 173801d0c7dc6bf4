package postgres

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

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

// queueClaims queues the taking of claims: keys nobody holds are inserted
// at once; those already there are then locked and read. A concurrent
// claimer of the same key waits for the insert to commit or roll back, so
// exactly one of two racing comments finds a key free.
func queueClaims(b *pgx.Batch, claims []moderation.Claim) *claimState {
	s := &claimState{until: map[string]int64{}, fresh: map[string]bool{}, current: map[string]int64{}}
	if len(claims) == 0 {
		return s
	}
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
	b.Queue(`INSERT INTO claims (key, until_ns) SELECT * FROM unnest($1::text[], $2::bigint[])
		ON CONFLICT (key) DO NOTHING RETURNING key`, s.keys, untils).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return err
			}
			s.fresh[k] = true
		}
		return rows.Err()
	})
	b.Queue(`SELECT key, until_ns FROM claims WHERE key = ANY($1) ORDER BY key FOR UPDATE`, s.keys).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var k string
			var u int64
			if err := rows.Scan(&k, &u); err != nil {
				return err
			}
			s.current[k] = u
		}
		return rows.Err()
	})
	return s
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
