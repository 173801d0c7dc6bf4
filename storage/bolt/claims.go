package bolt

import (
	"context"
	"encoding/binary"
	"time"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// CreateCommentClaiming implements moderation.ClaimStore. Like CreateComment
// it is batched, so it restores what Taken may have changed before each try.
func (db *DB) CreateCommentClaiming(_ context.Context, c *moderation.Comment, claims []moderation.Claim,
	attach func(parent *moderation.Comment) error) error {
	parentID, status, history := c.Parent, c.Status, c.History
	created := c.Created.UnixNano()
	return db.batch(func(tx *bbolt.Tx) error {
		c.Status, c.History = status, history
		held := tx.Bucket(bucketClaims)
		for _, cl := range claims {
			if until, ok := heldUntil(held, cl.Key); ok && until > created {
				if err := cl.Taken(c); err != nil {
					return err
				}
			}
		}
		if err := insertComment(tx, c, parentID, attach); err != nil {
			return err
		}
		for _, cl := range claims {
			until := cl.Until.UnixNano()
			if old, ok := heldUntil(held, cl.Key); ok && old > until {
				until = old
			}
			if err := held.Put([]byte(cl.Key), u64(uint64(until))); err != nil {
				return err
			}
		}
		return nil
	})
}

func heldUntil(held *bbolt.Bucket, key string) (int64, bool) {
	v := held.Get([]byte(key))
	if len(v) != 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(v)), true
}

// PurgeClaims implements moderation.ClaimStore. The bucket holds at most a
// window's worth of rate-limited submissions, so a full scan is cheap.
func (db *DB) PurgeClaims(_ context.Context, now time.Time) (int, error) {
	var n int
	err := db.update(func(tx *bbolt.Tx) error {
		held := tx.Bucket(bucketClaims)
		var expired [][]byte
		err := held.ForEach(func(k, v []byte) error {
			if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) <= now.UnixNano() {
				expired = append(expired, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := held.Delete(k); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	return n, err
}
