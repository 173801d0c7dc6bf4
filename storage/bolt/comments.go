package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

var _ moderation.Store = (*DB)(nil)

// CreateComment implements moderation.Store. It goes through db.Batch so that
// concurrent submissions share one fsync; it returns after the commit.
func (db *DB) CreateComment(_ context.Context, c *moderation.Comment, attach func(parent *moderation.Comment) error) error {
	parentID := c.Parent // attach may re-point c.Parent; a retried batch must start over
	return db.batch(func(tx *bbolt.Tx) error { return insertComment(tx, c, parentID, attach) })
}

// insertComment is CreateComment's transaction, from c.Parent = parentID on.
func insertComment(tx *bbolt.Tx, c *moderation.Comment, parentID string, attach func(parent *moderation.Comment) error) error {
	c.Parent = parentID
	site, err := siteOf(tx, c.Site)
	if err != nil {
		return err
	}
	comments := site.Bucket(bucketComments)
	if comments.Get([]byte(c.ID)) != nil {
		return fmt.Errorf("create comment %s: %w", c.ID, moderation.ErrConflict)
	}
	if parentID != "" {
		var parent *moderation.Comment
		var p moderation.Comment
		if err := load(comments, []byte(parentID), &p); err == nil {
			parent = &p
		}
		if err := attach(parent); err != nil {
			return err
		}
	}
	return putComment(tx, nil, c)
}

// putComment writes c and moves it between indexes; old is c as stored
// before, or nil for a new comment.
func putComment(tx *bbolt.Tx, old, c *moderation.Comment) error {
	id := []byte(c.ID)
	site, err := siteOf(tx, c.Site)
	if err != nil {
		return err
	}
	if old == nil && c.Parent != "" {
		if err := site.Bucket(bucketReplies).Put(replyKey(c.Parent, c.ID), nil); err != nil {
			return err
		}
	}
	if old != nil && old.Status != c.Status {
		if err := unindex(tx, site, old); err != nil {
			return err
		}
	}
	if old == nil || old.Status != c.Status {
		if err := index(tx, site, c); err != nil {
			return err
		}
	}
	if err := teach(site, old, c); err != nil {
		return err
	}
	comments := site.Bucket(bucketComments)
	comments.FillPercent = appendFill
	return save(comments, id, c)
}

// index adds c to the indexes of its status on its site.
func index(tx *bbolt.Tx, site *bbolt.Bucket, c *moderation.Comment) error {
	if err := noteEntered(tx, c); err != nil {
		return err
	}
	return indexStatus(site, c)
}

// indexStatus is index without the notes: the status, thread and count
// indexes alone, which a restore rebuilds.
func indexStatus(site *bbolt.Bucket, c *moderation.Comment) error {
	if s := site.Bucket(bucketStatus).Bucket([]byte(c.Status)); s != nil {
		s.FillPercent = appendFill
		if err := s.Put([]byte(c.ID), []byte(c.Post)); err != nil {
			return err
		}
	}
	if c.Status != moderation.StatusApproved {
		return nil
	}
	thread, err := site.Bucket(bucketThread).CreateBucketIfNotExists([]byte(c.Post))
	if err != nil {
		return err
	}
	thread.FillPercent = appendFill
	if err := thread.Put([]byte(c.ID), nil); err != nil {
		return err
	}
	return addCount(site, c.Post, +1)
}

// unindex removes c from the indexes of its status on its site.
func unindex(tx *bbolt.Tx, site *bbolt.Bucket, c *moderation.Comment) error {
	if err := noteLeft(tx, c); err != nil {
		return err
	}
	return unindexStatus(site, c)
}

// unindexStatus is unindex without the notes.
func unindexStatus(site *bbolt.Bucket, c *moderation.Comment) error {
	if s := site.Bucket(bucketStatus).Bucket([]byte(c.Status)); s != nil {
		if err := s.Delete([]byte(c.ID)); err != nil {
			return err
		}
	}
	if c.Status != moderation.StatusApproved {
		return nil
	}
	if thread := site.Bucket(bucketThread).Bucket([]byte(c.Post)); thread != nil {
		if err := thread.Delete([]byte(c.ID)); err != nil {
			return err
		}
	}
	return addCount(site, c.Post, -1)
}

func addCount(site *bbolt.Bucket, post string, delta int64) error {
	counts := site.Bucket(bucketCounts)
	var n int64
	if v := counts.Get([]byte(post)); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n += delta
	if n <= 0 {
		return counts.Delete([]byte(post))
	}
	return counts.Put([]byte(post), u64(uint64(n)))
}

func replyKey(parent, child string) []byte { return append([]byte(parent), child...) }

// Comment implements moderation.Store.
func (db *DB) Comment(_ context.Context, siteID, id string) (*moderation.Comment, error) {
	var c moderation.Comment
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, siteID)
		if err != nil {
			return err
		}
		return load(site.Bucket(bucketComments), []byte(id), &c)
	})
	if err != nil {
		return nil, fmt.Errorf("comment %q: %w", id, err)
	}
	return &c, nil
}

// Thread implements moderation.Store.
func (db *DB) Thread(_ context.Context, siteID, post string) ([]*moderation.Comment, error) {
	var out []*moderation.Comment
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, siteID)
		if err != nil {
			return err
		}
		thread := site.Bucket(bucketThread).Bucket([]byte(post))
		if thread == nil {
			return nil
		}
		comments := site.Bucket(bucketComments)
		have := make(map[string]bool, thread.Stats().KeyN)
		err = thread.ForEach(func(k, _ []byte) error {
			c, err := loadPublic(comments, k)
			if err != nil {
				return fmt.Errorf("thread comment %s: %w", k, err)
			}
			have[c.ID] = true
			out = append(out, c)
			return nil
		})
		if err != nil {
			return err
		}
		// Keep threads whole: fetch the tombstones that published replies hang from.
		for i := 0; i < len(out); i++ {
			parent := out[i].Parent
			if parent == "" || have[parent] {
				continue
			}
			have[parent] = true
			if p, err := loadPublic(comments, []byte(parent)); err == nil && p.Status == moderation.StatusDeleted {
				out = append(out, p)
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b *moderation.Comment) int { return cmpString(a.ID, b.ID) })
	return out, err
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ApprovedCounts implements moderation.Store.
func (db *DB) ApprovedCounts(_ context.Context, siteID string, posts []string) (map[string]int, error) {
	out := make(map[string]int, len(posts))
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, siteID)
		if err != nil {
			return err
		}
		counts := site.Bucket(bucketCounts)
		for _, p := range posts {
			out[p] = 0
			if v := counts.Get([]byte(p)); len(v) == 8 {
				out[p] = int(binary.BigEndian.Uint64(v))
			}
		}
		return nil
	})
	return out, err
}

// Comments implements moderation.Store.
func (db *DB) Comments(_ context.Context, q moderation.Query) ([]*moderation.Comment, string, error) {
	var out []*moderation.Comment
	var next string
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, q.Site)
		if err != nil {
			return err
		}
		status := site.Bucket(bucketStatus).Bucket([]byte(q.Status))
		if status == nil {
			return nil
		}
		comments := site.Bucket(bucketComments)
		mayMatch := searchFilter(q.Search)
		cur := status.Cursor()
		k, post := cur.First()
		if q.Cursor != "" {
			k, post = cur.Seek([]byte(q.Cursor))
			if bytes.Equal(k, []byte(q.Cursor)) {
				k, post = cur.Next()
			}
		}
		for ; k != nil; k, post = cur.Next() {
			if q.Post != "" && string(post) != q.Post {
				continue
			}
			if !mayMatch(comments.Get(k)) {
				continue
			}
			var c moderation.Comment
			if err := load(comments, k, &c); err != nil {
				return fmt.Errorf("list comment %s: %w", k, err)
			}
			if !q.Matches(&c) {
				continue
			}
			if len(out) == q.Limit {
				next = out[len(out)-1].ID
				return nil
			}
			out = append(out, &c)
		}
		return nil
	})
	return out, next, err
}

// UpdateComments implements moderation.Store.
func (db *DB) UpdateComments(_ context.Context, siteID string, ids []string, change func(*moderation.Comment) (*moderation.AuditEntry, error)) error {
	return db.update(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, siteID)
		if err != nil {
			return err
		}
		return eachComment(tx, siteID, site, ids, change, func(old, c *moderation.Comment) error { return putComment(tx, old, c) })
	})
}

// DeleteComments implements moderation.Store. A comment with replies stays as
// the tombstone change made of it; any other is removed with its indexes.
func (db *DB) DeleteComments(_ context.Context, siteID string, ids []string, change func(*moderation.Comment) (*moderation.AuditEntry, error)) error {
	return db.update(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, siteID)
		if err != nil {
			return err
		}
		return eachComment(tx, siteID, site, ids, change, func(old, c *moderation.Comment) error {
			if hasReplies(site, c.ID) {
				return putComment(tx, old, c)
			}
			if err := unindex(tx, site, old); err != nil {
				return err
			}
			if err := teach(site, old, c); err != nil { // c is a tombstone: its record goes, its counts stay
				return err
			}
			if c.Parent != "" {
				if err := site.Bucket(bucketReplies).Delete(replyKey(c.Parent, c.ID)); err != nil {
					return err
				}
			}
			return site.Bucket(bucketComments).Delete([]byte(c.ID))
		})
	})
}

// eachComment loads every id, lets change decide, and writes what changed
// with its audit entry. Any missing id fails the whole transaction.
func eachComment(tx *bbolt.Tx, siteID string, site *bbolt.Bucket, ids []string, change func(*moderation.Comment) (*moderation.AuditEntry, error),
	write func(old, c *moderation.Comment) error) error {
	comments := site.Bucket(bucketComments)
	for _, id := range ids {
		var old, c moderation.Comment
		if err := load(comments, []byte(id), &old); err != nil {
			return fmt.Errorf("comment %q: %w", id, err)
		}
		if err := load(comments, []byte(id), &c); err != nil {
			return err
		}
		old.Trained = loadTraining(site, []byte(id))
		c.Trained = old.Trained
		entry, err := change(&c)
		if err != nil {
			return err
		}
		if entry == nil {
			continue
		}
		if err := write(&old, &c); err != nil {
			return err
		}
		entry.Site = siteID // the entry belongs to the comment's site, whatever the caller said
		if err := appendAudit(tx, entry); err != nil {
			return err
		}
	}
	return nil
}

func hasReplies(site *bbolt.Bucket, id string) bool {
	k, _ := site.Bucket(bucketReplies).Cursor().Seek([]byte(id))
	return k != nil && bytes.HasPrefix(k, []byte(id)) && len(k) > len(id)
}
