package bolt

import (
	"context"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// ImportComments implements moderation.TransferStore: the whole batch is one
// write transaction, and every comment goes through putComment, so the
// status, thread, count and reply indexes stay what a submission makes them.
func (db *DB) ImportComments(_ context.Context, siteID string, items []*moderation.ImportItem) error {
	return db.update(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, siteID)
		if err != nil {
			return err
		}
		for _, it := range items {
			it.Comment.Site = siteID
			if err := importOne(tx, site, it); err != nil {
				return fmt.Errorf("import comment %s: %w", it.Comment.ID, err)
			}
		}
		return nil
	})
}

func importOne(tx *bbolt.Tx, site *bbolt.Bucket, it *moderation.ImportItem) error {
	comments, imported := site.Bucket(bucketComments), site.Bucket(bucketImported)
	c := it.Comment
	if imported.Get(it.Key) != nil || comments.Get([]byte(c.ID)) != nil {
		it.Outcome = moderation.ImportDuplicate
		return nil
	}
	parentID := c.Parent
	if it.ParentKey != nil {
		parentID = string(imported.Get(it.ParentKey))
		if parentID == "" {
			it.Outcome = moderation.ImportOrphan
			return nil
		}
	}
	if parentID != "" {
		var parent moderation.Comment
		if err := load(comments, []byte(parentID), &parent); err != nil {
			it.Outcome = moderation.ImportOrphan
			return nil
		}
		c.Parent = parentID
		if err := it.Attach(&parent); err != nil {
			it.Outcome, it.Refusal = moderation.ImportRefused, err
			return nil
		}
	}
	if err := putComment(tx, nil, c); err != nil {
		return err
	}
	it.Outcome = moderation.ImportCreated
	return imported.Put(it.Key, []byte(c.ID))
}
