package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// CreateSession implements moderation.AdminStore.
func (db *DB) CreateSession(_ context.Context, s *moderation.Session) error {
	return db.update(func(tx *bbolt.Tx) error {
		sessions := tx.Bucket(bucketSessions)
		if sessions.Get([]byte(s.ID)) != nil {
			return fmt.Errorf("session: %w", moderation.ErrConflict)
		}
		return save(sessions, []byte(s.ID), s)
	})
}

// Session implements moderation.AdminStore.
func (db *DB) Session(_ context.Context, id string) (*moderation.Session, error) {
	var s moderation.Session
	err := db.bolt.View(func(tx *bbolt.Tx) error { return load(tx.Bucket(bucketSessions), []byte(id), &s) })
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return &s, nil
}

// TouchSession implements moderation.AdminStore.
func (db *DB) TouchSession(_ context.Context, id string, at time.Time) error {
	return db.update(func(tx *bbolt.Tx) error {
		sessions := tx.Bucket(bucketSessions)
		var s moderation.Session
		if err := load(sessions, []byte(id), &s); err != nil {
			return fmt.Errorf("session: %w", err)
		}
		s.LastSeen = at
		return save(sessions, []byte(id), &s)
	})
}

// DeleteSessions implements moderation.AdminStore. Sessions are few (one per
// signed-in browser), so a full scan is cheap.
func (db *DB) DeleteSessions(_ context.Context, match func(*moderation.Session) bool) error {
	return db.update(func(tx *bbolt.Tx) error { return deleteSessions(tx, match) })
}

func deleteSessions(tx *bbolt.Tx, match func(*moderation.Session) bool) error {
	sessions := tx.Bucket(bucketSessions)
	var doomed [][]byte
	err := sessions.ForEach(func(k, v []byte) error {
		var s moderation.Session
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("session: %w", err)
		}
		if match(&s) {
			doomed = append(doomed, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range doomed {
		if err := sessions.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
