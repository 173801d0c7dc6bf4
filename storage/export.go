package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// checkEvery is how many comments a long walk reads between looks at its
// context, so that a client that went away stops the export.
const checkEvery = 1024

// ExportComments implements moderation.TransferStore. Everything happens in
// one read transaction: bbolt readers see a snapshot and never block writers.
// Memory stays flat: one comment is decoded at a time, except that grouping
// by post first notes the ID of each matching comment per post.
func (db *DB) ExportComments(ctx context.Context, q moderation.ExportQuery, fn func(*moderation.Comment) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		if q.ByPost {
			return exportByPost(ctx, tx, q, fn)
		}
		return walkComments(ctx, tx, q, fn)
	})
}

// walkComments calls fn for each comment q selects, in ID order. A status
// filter walks that status's index, which also names each comment's post, so
// comments of other posts are not even decoded.
func walkComments(ctx context.Context, tx *bolt.Tx, q moderation.ExportQuery, fn func(*moderation.Comment) error) error {
	comments := tx.Bucket(bucketComments)
	cur := comments.Cursor()
	indexed := false
	if q.Status != "" {
		if s := tx.Bucket(bucketStatus).Bucket([]byte(q.Status)); s != nil {
			cur, indexed = s.Cursor(), true
		}
	}
	n := 0
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if n++; n%checkEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if indexed {
			if q.Post != "" && string(v) != q.Post {
				continue
			}
			if v = comments.Get(k); v == nil {
				return fmt.Errorf("export: index names missing comment %s", k)
			}
		}
		var c moderation.Comment
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("export comment %s: %w", k, err)
		}
		if !q.Matches(&c) {
			continue
		}
		if err := fn(&c); err != nil {
			return err
		}
	}
	return nil
}

// exportByPost walks twice in the same transaction: first it notes the IDs
// of the matching comments of each post, then it reads them post by post.
func exportByPost(ctx context.Context, tx *bolt.Tx, q moderation.ExportQuery, fn func(*moderation.Comment) error) error {
	var posts []string
	ids := map[string][]string{}
	err := walkHeads(ctx, tx, q, func(id, post string) {
		if _, ok := ids[post]; !ok {
			posts = append(posts, post)
		}
		ids[post] = append(ids[post], id)
	})
	if err != nil {
		return err
	}
	comments := tx.Bucket(bucketComments)
	for _, post := range posts {
		for _, id := range ids[post] {
			var c moderation.Comment
			if err := load(comments, []byte(id), &c); err != nil {
				return fmt.Errorf("export comment %s: %w", id, err)
			}
			if err := fn(&c); err != nil {
				return err
			}
		}
		delete(ids, post)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// head is the part of a stored comment that selecting and grouping need;
// decoding only it skips building the rest.
type head struct {
	Post    string            `json:"post"`
	Status  moderation.Status `json:"status"`
	Updated time.Time         `json:"updated"`
}

func walkHeads(ctx context.Context, tx *bolt.Tx, q moderation.ExportQuery, fn func(id, post string)) error {
	n := 0
	return tx.Bucket(bucketComments).ForEach(func(k, v []byte) error {
		if n++; n%checkEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		var h head
		if err := json.Unmarshal(v, &h); err != nil {
			return fmt.Errorf("export comment %s: %w", k, err)
		}
		if q.Matches(&moderation.Comment{Post: h.Post, Status: h.Status, Updated: h.Updated}) {
			fn(string(k), h.Post)
		}
		return nil
	})
}

// Backup implements moderation.TransferStore with bbolt's Tx.WriteTo, which
// copies the file as this read transaction sees it while writers go on.
func (db *DB) Backup(_ context.Context, w io.Writer, started func(size int64)) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if started != nil {
			started(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// RecordAudit implements moderation.TransferStore.
func (db *DB) RecordAudit(_ context.Context, e *moderation.AuditEntry) error {
	return db.update(func(tx *bolt.Tx) error { return appendAudit(tx, e) })
}
