package bolt

import (
	"context"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// countApproved moves the approved count of an address by delta.
func countApproved(tx *bbolt.Tx, email string, delta int) error {
	if email == "" {
		return nil
	}
	key := []byte(moderation.EmailKey(email))
	commenters := tx.Bucket(bucketCommenters)
	var c moderation.Commenter
	if err := load(commenters, key, &c); err != nil && !errors.Is(err, moderation.ErrNotFound) {
		return err
	}
	c.Approved = max(c.Approved+delta, 0)
	return save(commenters, key, &c)
}

// Commenter returns what is known of an address; unknown is a zero record.
func (db *DB) Commenter(_ context.Context, email string) (*moderation.Commenter, error) {
	var c moderation.Commenter
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		if err := load(tx.Bucket(bucketCommenters), []byte(moderation.EmailKey(email)), &c); !errors.Is(err, moderation.ErrNotFound) {
			return err
		}
		return nil
	})
	return &c, err
}

// UpdateCommenter changes an address's record and queues the deliveries fn
// returns, in one transaction.
func (db *DB) UpdateCommenter(_ context.Context, email string, fn func(c *moderation.Commenter) ([]*moderation.Delivery, error)) error {
	key := []byte(moderation.EmailKey(email))
	return db.update(func(tx *bbolt.Tx) error {
		commenters := tx.Bucket(bucketCommenters)
		var c moderation.Commenter
		if err := load(commenters, key, &c); err != nil && !errors.Is(err, moderation.ErrNotFound) {
			return err
		}
		ds, err := fn(&c)
		if err != nil {
			return err
		}
		if err := save(commenters, key, &c); err != nil {
			return err
		}
		return enqueue(tx, ds)
	})
}

// UseLink records a used single-use link until it expires.
func (db *DB) UseLink(_ context.Context, nonce string, expires time.Time) error {
	return db.update(func(tx *bbolt.Tx) error {
		links := tx.Bucket(bucketLinks)
		if links.Get([]byte(nonce)) != nil {
			return fmt.Errorf("link: %w", moderation.ErrConflict)
		}
		return links.Put([]byte(nonce), u64(uint64(expires.Unix())))
	})
}

// LinkUsed reports whether a single-use link was used.
func (db *DB) LinkUsed(_ context.Context, nonce string) (bool, error) {
	used := false
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		used = tx.Bucket(bucketLinks).Get([]byte(nonce)) != nil
		return nil
	})
	return used, err
}

// UpdateModerator loads a moderator, lets fn change it and saves it.
func (db *DB) UpdateModerator(_ context.Context, name string, fn func(m *moderation.Moderator) error) error {
	return db.update(func(tx *bbolt.Tx) error {
		mods := tx.Bucket(bucketModerators)
		var m moderation.Moderator
		key := moderatorKey(mods, name)
		if key == nil {
			return fmt.Errorf("moderator %q: %w", name, moderation.ErrNotFound)
		}
		if err := load(mods, key, &m); err != nil {
			return fmt.Errorf("moderator %q: %w", name, err)
		}
		if err := fn(&m); err != nil {
			return err
		}
		return save(mods, key, &m)
	})
}

// Stats returns the file's size and bbolt's transaction counters.
func (db *DB) Stats() moderation.StoreStats {
	s := db.bolt.Stats()
	var size int64
	_ = db.bolt.View(func(tx *bbolt.Tx) error {
		size = tx.Size()
		return nil
	})
	return moderation.StoreStats{
		{Name: "size_bytes", Help: "Size of the bbolt database in use.", Value: float64(size)},
		{Name: "free_pages", Help: "Pages of the bbolt file free for reuse.", Value: float64(s.FreePageN)},
		{Name: "read_transactions_total", Help: "Read transactions started.", Counter: true, Value: float64(s.TxN)},
		{Name: "open_read_transactions", Help: "Read transactions open now.", Value: float64(s.OpenTxN)},
		{Name: "page_writes_total", Help: "Pages written by write transactions.", Counter: true, Value: float64(s.TxStats.GetWrite())},
		{Name: "write_seconds_total", Help: "Time write transactions spent writing pages.", Counter: true, Value: s.TxStats.GetWriteTime().Seconds()},
	}
}

// Ping reports whether the database answers a read.
func (db *DB) Ping(_ context.Context) error {
	return db.bolt.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(keySchema) == nil {
			return fmt.Errorf("the database has no schema version")
		}
		return nil
	})
}
