package bolt

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// appendAudit appends e to its site's log, or to the instance's when e.Site
// is "".
func appendAudit(tx *bbolt.Tx, e *moderation.AuditEntry) error {
	audit, err := auditBucket(tx, e.Site)
	if err != nil {
		return err
	}
	seq, err := audit.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	return save(audit, u64(seq), e)
}

// AuditLog implements moderation.Store.
func (db *DB) AuditLog(_ context.Context, site string, limit int, before uint64) ([]moderation.AuditEntry, error) {
	var out []moderation.AuditEntry
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		audit, err := auditBucket(tx, site)
		if err != nil {
			return err
		}
		cur := audit.Cursor()
		var k, v []byte
		if before == 0 {
			k, v = cur.Last()
		} else {
			cur.Seek(u64(before))
			k, v = cur.Prev()
		}
		for ; k != nil && len(out) < limit; k, v = cur.Prev() {
			var e moderation.AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("audit entry %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// CreateModerator implements moderation.Store.
func (db *DB) CreateModerator(_ context.Context, m *moderation.Moderator) error {
	return db.update(func(tx *bbolt.Tx) error {
		mods := tx.Bucket(bucketModerators)
		if moderatorKey(mods, m.Name) != nil {
			return fmt.Errorf("moderator %q: %w", m.Name, moderation.ErrConflict)
		}
		return save(mods, []byte(m.Name), m)
	})
}

// moderatorKey finds the key of the moderator a typed name means: the exact
// name, else the one equal under moderation.FoldName, so that "Admin" and
// " admin" are the same person everywhere. It is nil when there is none. A
// team is a handful of people, so the fallback scan costs nothing.
func moderatorKey(mods *bbolt.Bucket, name string) []byte {
	if mods.Get([]byte(name)) != nil {
		return []byte(name)
	}
	want := moderation.FoldName(name)
	var found []byte
	_ = mods.ForEach(func(k, _ []byte) error {
		if found == nil && moderation.FoldName(string(k)) == want {
			found = append([]byte(nil), k...)
		}
		return nil
	})
	return found
}

// Moderator implements moderation.Store.
func (db *DB) Moderator(_ context.Context, name string) (*moderation.Moderator, error) {
	var m moderation.Moderator
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		mods := tx.Bucket(bucketModerators)
		key := moderatorKey(mods, name)
		if key == nil {
			return moderation.ErrNotFound
		}
		return load(mods, key, &m)
	})
	if err != nil {
		return nil, fmt.Errorf("moderator %q: %w", name, err)
	}
	return &m, nil
}

// Moderators implements moderation.Store.
func (db *DB) Moderators(_ context.Context) ([]*moderation.Moderator, error) {
	var out []*moderation.Moderator
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketModerators).ForEach(func(_, v []byte) error {
			var m moderation.Moderator
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			out = append(out, &m)
			return nil
		})
	})
	return out, err
}

// CreateToken implements moderation.Store.
func (db *DB) CreateToken(_ context.Context, t *moderation.Token) error {
	return db.update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketTokenIDs).Put([]byte(t.ID), []byte(t.Hash)); err != nil {
			return err
		}
		return save(tx.Bucket(bucketTokens), []byte(t.Hash), t)
	})
}

// TokenByHash implements moderation.Store.
func (db *DB) TokenByHash(_ context.Context, hash string) (*moderation.Token, error) {
	var t moderation.Token
	err := db.bolt.View(func(tx *bbolt.Tx) error { return load(tx.Bucket(bucketTokens), []byte(hash), &t) })
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	return &t, nil
}

// TouchToken implements moderation.Store.
func (db *DB) TouchToken(_ context.Context, hash string, at time.Time) error {
	return db.update(func(tx *bbolt.Tx) error {
		tokens := tx.Bucket(bucketTokens)
		var t moderation.Token
		if err := load(tokens, []byte(hash), &t); err != nil {
			return fmt.Errorf("token: %w", err)
		}
		t.LastUsed = at
		return save(tokens, []byte(hash), &t)
	})
}

// Tokens implements moderation.Store.
func (db *DB) Tokens(_ context.Context) ([]*moderation.Token, error) {
	var out []*moderation.Token
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketTokenIDs).ForEach(func(_, hash []byte) error {
			var t moderation.Token
			if err := load(tx.Bucket(bucketTokens), hash, &t); err != nil {
				return err
			}
			out = append(out, &t)
			return nil
		})
	})
	return out, err
}

// DeleteToken implements moderation.Store.
func (db *DB) DeleteToken(_ context.Context, id string) error {
	return db.update(func(tx *bbolt.Tx) error {
		ids := tx.Bucket(bucketTokenIDs)
		hash := ids.Get([]byte(id))
		if hash == nil {
			return fmt.Errorf("token %q: %w", id, moderation.ErrNotFound)
		}
		if err := tx.Bucket(bucketTokens).Delete(hash); err != nil {
			return err
		}
		return ids.Delete([]byte(id))
	})
}

// Secret implements moderation.Store.
func (db *DB) Secret(_ context.Context, name string, size int) ([]byte, error) {
	key := []byte("secret:" + name)
	var secret []byte
	err := db.update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(key); v != nil {
			secret = append([]byte(nil), v...)
			return nil
		}
		secret = make([]byte, size)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
		return meta.Put(key, secret)
	})
	return secret, err
}

func auditBucket(tx *bbolt.Tx, siteID string) (*bbolt.Bucket, error) {
	if siteID == "" {
		return tx.Bucket(bucketAudit), nil
	}
	site, err := siteOf(tx, siteID)
	if err != nil {
		return nil, err
	}
	return site.Bucket(bucketAudit), nil
}
