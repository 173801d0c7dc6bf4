package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// checkEvery is how many comments a long walk reads between looks at its
// context, so that a client that went away stops the export.
const checkEvery = 1024

// ExportComments implements moderation.TransferStore. Everything happens in
// one read transaction: bbolt readers see a snapshot and never block writers.
// Memory stays flat: one comment is decoded at a time, and grouping by post
// holds at most byPostGroup comment IDs.
func (db *DB) ExportComments(ctx context.Context, q moderation.ExportQuery, fn func(*moderation.Comment) error) error {
	return db.bolt.View(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, q.Site)
		if err != nil {
			return err
		}
		if q.ByPost {
			return exportByPost(ctx, site, q, fn)
		}
		return selected(ctx, site, q, func(k, v []byte) error {
			var c moderation.Comment
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("export comment %s: %w", k, err)
			}
			return fn(&c)
		})
	})
}

// ExportJSON implements moderation.TransferStore. Comments are stored as
// json.Marshal writes them, so they pass through without being decoded or
// encoded again: a full export costs little more than reading the file.
func (db *DB) ExportJSON(ctx context.Context, q moderation.ExportQuery, fn func(raw []byte) error) error {
	return db.bolt.View(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, q.Site)
		if err != nil {
			return err
		}
		return selected(ctx, site, q, func(_, v []byte) error { return fn(v) })
	})
}

// selected calls fn with the key and stored JSON of each comment q selects,
// in ID order. A status filter walks that status's index, which also names
// each comment's post; a comment is decoded (its head only) just when a
// filter needs what no index says.
func selected(ctx context.Context, site *bbolt.Bucket, q moderation.ExportQuery, fn func(k, v []byte) error) error {
	comments := site.Bucket(bucketComments)
	cur, indexed := comments.Cursor(), false
	if s := site.Bucket(bucketStatus).Bucket([]byte(q.Status)); q.Status != "" && s != nil {
		cur, indexed = s.Cursor(), true
	}
	decode := !q.Since.IsZero() || (!indexed && (q.Post != "" || q.Status != ""))
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
				return fmt.Errorf("export: the index names a missing comment %s", k)
			}
		}
		if decode {
			var h head
			if err := json.Unmarshal(v, &h); err != nil {
				return fmt.Errorf("export comment %s: %w", k, err)
			}
			if !q.Matches(&moderation.Comment{Post: h.Post, Status: h.Status, Updated: h.Updated}) {
				continue
			}
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// head is the part of a stored comment that filters need; decoding only it
// skips building the rest.
type head struct {
	Post    string            `json:"post"`
	Status  moderation.Status `json:"status"`
	Updated time.Time         `json:"updated"`
}

// byPostGroup bounds how many comment IDs grouping by post holds at once.
var byPostGroup = 1 << 18

// exportByPost reads the selected comments post by post in bounded memory,
// all in one transaction. A first pass counts each post's comments (posts
// in the order of their first comment); then posts are taken in groups of
// at most byPostGroup comments (a larger post alone), each group with one
// more pass that notes its comments' IDs before reading them in order.
// A blog with fewer comments than a group is read in two passes.
func exportByPost(ctx context.Context, site *bbolt.Bucket, q moderation.ExportQuery, fn func(*moderation.Comment) error) error {
	var posts []string
	counts := map[string]int{}
	err := eachHead(ctx, site, q, func(_ []byte, h *head) {
		if counts[h.Post] == 0 {
			posts = append(posts, h.Post)
		}
		counts[h.Post]++
	})
	if err != nil {
		return err
	}
	comments := site.Bucket(bucketComments)
	for start := 0; start < len(posts); {
		group, size, end := map[string][]string{}, 0, start
		for ; end < len(posts) && (end == start || size+counts[posts[end]] <= byPostGroup); end++ {
			group[posts[end]] = make([]string, 0, counts[posts[end]])
			size += counts[posts[end]]
		}
		err := eachHead(ctx, site, q, func(k []byte, h *head) {
			if ids, ok := group[h.Post]; ok {
				group[h.Post] = append(ids, string(k))
			}
		})
		if err != nil {
			return err
		}
		for _, post := range posts[start:end] {
			for _, id := range group[post] {
				var c moderation.Comment
				if err := load(comments, []byte(id), &c); err != nil {
					return fmt.Errorf("export comment %s: %w", id, err)
				}
				if err := fn(&c); err != nil {
					return err
				}
			}
		}
		start = end
	}
	return nil
}

// eachHead calls fn with the key and head of each selected comment.
func eachHead(ctx context.Context, site *bbolt.Bucket, q moderation.ExportQuery, fn func(k []byte, h *head)) error {
	return selected(ctx, site, q, func(k, v []byte) error {
		var h head
		if err := json.Unmarshal(v, &h); err != nil {
			return fmt.Errorf("export comment %s: %w", k, err)
		}
		fn(k, &h)
		return nil
	})
}

// Backup implements moderation.TransferStore with bbolt's Tx.WriteTo, which
// copies the file as this read transaction sees it while writers go on.
func (db *DB) Backup(_ context.Context, w io.Writer, started func(size int64)) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		if started != nil {
			started(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}
