package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// EditModerator implements moderation.AdminStore.
func (db *DB) EditModerator(_ context.Context, name string,
	edit func(m *moderation.Moderator, all []*moderation.Moderator) (bool, *moderation.AuditEntry, error)) error {
	return db.update(func(tx *bbolt.Tx) error {
		mods := tx.Bucket(bucketModerators)
		key := moderatorKey(mods, name)
		if key == nil {
			return fmt.Errorf("moderator %q: %w", name, moderation.ErrNotFound)
		}
		var all []*moderation.Moderator
		var m *moderation.Moderator
		err := mods.ForEach(func(k, v []byte) error {
			var x moderation.Moderator
			if err := json.Unmarshal(v, &x); err != nil {
				return fmt.Errorf("moderator %q: %w", k, err)
			}
			all = append(all, &x)
			if bytes.Equal(k, key) {
				m = &x
			}
			return nil
		})
		if err != nil {
			return err
		}
		name = string(key)
		remove, entry, err := edit(m, all)
		if err != nil {
			return err
		}
		if remove {
			if err := mods.Delete([]byte(name)); err != nil {
				return err
			}
			if err := deleteSessions(tx, func(s *moderation.Session) bool { return s.Moderator == name }); err != nil {
				return err
			}
		} else if err := save(mods, []byte(name), m); err != nil {
			return err
		}
		if entry == nil {
			return nil
		}
		return appendAudit(tx, entry)
	})
}

// StatusCounts implements moderation.AdminStore from the key counts of the
// status indexes, without decoding a comment.
func (db *DB) StatusCounts(_ context.Context, siteID string) (map[moderation.Status]int, error) {
	out := make(map[moderation.Status]int, len(moderation.Statuses))
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, siteID)
		if err != nil {
			return err
		}
		status := site.Bucket(bucketStatus)
		for _, s := range moderation.Statuses {
			if b := status.Bucket([]byte(s)); b != nil {
				out[s] = b.Stats().KeyN
			}
		}
		return nil
	})
	return out, err
}

// PublishReply implements moderation.AdminStore.
func (db *DB) PublishReply(_ context.Context, reply *moderation.Comment,
	approve func(parent *moderation.Comment) (*moderation.AuditEntry, error), entry *moderation.AuditEntry) error {
	return db.update(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, reply.Site)
		if err != nil {
			return err
		}
		comments := site.Bucket(bucketComments)
		var old, parent moderation.Comment
		if err := load(comments, []byte(reply.Parent), &old); err != nil {
			return fmt.Errorf("comment %q: %w", reply.Parent, err)
		}
		if err := load(comments, []byte(reply.Parent), &parent); err != nil {
			return err
		}
		old.Trained = loadTraining(site, []byte(reply.Parent))
		parent.Trained = old.Trained
		moved, err := approve(&parent)
		if err != nil {
			return err
		}
		entry.Site = reply.Site
		if moved != nil {
			moved.Site = reply.Site
			if err := putComment(tx, &old, &parent); err != nil {
				return err
			}
			if err := appendAudit(tx, moved); err != nil {
				return err
			}
		}
		if comments.Get([]byte(reply.ID)) != nil {
			return fmt.Errorf("reply %s: %w", reply.ID, moderation.ErrConflict)
		}
		if err := putComment(tx, nil, reply); err != nil {
			return err
		}
		return appendAudit(tx, entry)
	})
}

// RecordAudit implements moderation.AdminStore and moderation.TransferStore.
func (db *DB) RecordAudit(_ context.Context, e *moderation.AuditEntry) error {
	return db.update(func(tx *bbolt.Tx) error { return appendAudit(tx, e) })
}

// searchFilter returns a cheap test that rules out comments a search cannot
// match, on the stored JSON without decoding it: a field that contains the
// search (ignoring case) leaves it in the lowered JSON, unless JSON escapes
// one of its characters (or the search is not UTF-8), in which case every
// comment is decoded and checked.
// moderation.Query.Matches still decides; this only skips the sure misses.
func searchFilter(search string) func(raw []byte) bool {
	term := []byte(strings.ToLower(search))
	if search == "" || !utf8.ValidString(search) || bytes.ContainsAny(term, "\"<>&\u2028\u2029") || bytes.ContainsFunc(term, func(r rune) bool { return r < 0x20 }) {
		return func([]byte) bool { return true }
	}
	return func(raw []byte) bool { return bytes.Contains(bytes.ToLower(raw), term) }
}
