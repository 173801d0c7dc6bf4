package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// countApproved moves the approved count of an address by delta.
func countApproved(tx *bolt.Tx, email string, delta int) error {
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
	err := db.bolt.View(func(tx *bolt.Tx) error {
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
	return db.update(func(tx *bolt.Tx) error {
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
	return db.update(func(tx *bolt.Tx) error {
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
	err := db.bolt.View(func(tx *bolt.Tx) error {
		used = tx.Bucket(bucketLinks).Get([]byte(nonce)) != nil
		return nil
	})
	return used, err
}

// UpdateModerator loads a moderator, lets fn change it and saves it.
func (db *DB) UpdateModerator(_ context.Context, name string, fn func(m *moderation.Moderator) error) error {
	return db.update(func(tx *bolt.Tx) error {
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

// Stats is what operators watch of the database.
type Stats struct {
	SizeBytes     int64         // the file's size in use
	FreePages     int           // pages free for reuse
	ReadTx        int           // read transactions started, ever
	OpenReadTx    int           // read transactions open now
	Writes        int64         // pages written, ever
	WriteDuration time.Duration // time spent writing pages, ever
}

// Stats returns the database's counters.
func (db *DB) Stats() Stats {
	s := db.bolt.Stats()
	out := Stats{FreePages: s.FreePageN, ReadTx: s.TxN, OpenReadTx: s.OpenTxN,
		Writes: s.TxStats.GetWrite(), WriteDuration: s.TxStats.GetWriteTime()}
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		out.SizeBytes = tx.Size()
		return nil
	})
	return out
}

// Ping reports whether the database answers a read.
func (db *DB) Ping(_ context.Context) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(keySchema) == nil {
			return fmt.Errorf("the database has no schema version")
		}
		return nil
	})
}
