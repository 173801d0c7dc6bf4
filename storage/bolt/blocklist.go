package bolt

import (
	"context"
	"crypto/rand"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

var keyBlocklist = []byte("list")

// Blocklist implements moderation.BlocklistStore.
func (db *DB) Blocklist(_ context.Context, siteID string) (moderation.Blocklist, error) {
	var b moderation.Blocklist
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, siteID)
		if err != nil {
			return err
		}
		return loadBlocklist(site, &b)
	})
	return b, err
}

func loadBlocklist(site *bbolt.Bucket, b *moderation.Blocklist) error {
	if err := load(site.Bucket(bucketBlocklist), keyBlocklist, b); err != moderation.ErrNotFound {
		return err
	}
	return nil
}

// UpdateBlocklist implements moderation.BlocklistStore.
func (db *DB) UpdateBlocklist(_ context.Context, siteID string, change func(*moderation.Blocklist) error, entry *moderation.AuditEntry) error {
	return db.update(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, siteID)
		if err != nil {
			return err
		}
		var b moderation.Blocklist
		if err := loadBlocklist(site, &b); err != nil {
			return err
		}
		if err := change(&b); err != nil {
			return err
		}
		if err := save(site.Bucket(bucketBlocklist), keyBlocklist, &b); err != nil {
			return err
		}
		entry.Site = siteID
		return appendAudit(tx, entry)
	})
}

// RotateSecret implements moderation.AccountStore.
func (db *DB) RotateSecret(_ context.Context, name string, size int) error {
	secret := make([]byte, size)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	return db.update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte("secret:"+name), secret) })
}
