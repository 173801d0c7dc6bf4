package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// The buckets each site holds, under sites/<id>.
var siteBuckets = [][]byte{bucketComments, bucketStatus, bucketThread, bucketCounts, bucketReplies,
	bucketAudit, bucketBlocklist, bucketImported, bucketModel}

// siteOf returns the bucket of a site, or ErrNotFound.
func siteOf(tx *bbolt.Tx, id string) (*bbolt.Bucket, error) {
	if id != "" {
		if b := tx.Bucket(bucketSites).Bucket([]byte(id)); b != nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("site %q: %w", id, moderation.ErrNotFound)
}

// createSiteBuckets makes the buckets of a new site.
func createSiteBuckets(tx *bbolt.Tx, id string) (*bbolt.Bucket, error) {
	site, err := tx.Bucket(bucketSites).CreateBucket([]byte(id))
	if err != nil {
		return nil, err
	}
	for _, name := range siteBuckets {
		if _, err := site.CreateBucket(name); err != nil {
			return nil, err
		}
	}
	status := site.Bucket(bucketStatus)
	for _, s := range moderation.Statuses {
		if _, err := status.CreateBucket([]byte(s)); err != nil {
			return nil, err
		}
	}
	if err := createModelBuckets(site.Bucket(bucketModel)); err != nil {
		return nil, err
	}
	return site, nil
}

// Sites implements moderation.SiteStore.
func (db *DB) Sites(_ context.Context) ([]*moderation.Site, error) {
	var out []*moderation.Site
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketSiteInfo).ForEach(func(k, v []byte) error {
			var s moderation.Site
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("site %s: %w", k, err)
			}
			out = append(out, &s)
			return nil
		})
	})
	return out, err
}

// Site implements moderation.SiteStore.
func (db *DB) Site(_ context.Context, id string) (*moderation.Site, error) {
	var s moderation.Site
	err := db.bolt.View(func(tx *bbolt.Tx) error { return load(tx.Bucket(bucketSiteInfo), []byte(id), &s) })
	if err != nil {
		return nil, fmt.Errorf("site %q: %w", id, err)
	}
	return &s, nil
}

// SiteByOrigin implements moderation.SiteStore.
func (db *DB) SiteByOrigin(_ context.Context, origin string) (*moderation.Site, error) {
	var s moderation.Site
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		id := tx.Bucket(bucketOrigins).Get([]byte(origin))
		if id == nil {
			return moderation.ErrNotFound
		}
		return load(tx.Bucket(bucketSiteInfo), id, &s)
	})
	if err != nil {
		return nil, fmt.Errorf("origin %q: %w", origin, err)
	}
	return &s, nil
}

// PutSite implements moderation.SiteStore: the origin index and the site
// change in one transaction, so two sites can never claim one origin.
func (db *DB) PutSite(_ context.Context, site *moderation.Site, create bool, entry *moderation.AuditEntry) error {
	return db.update(func(tx *bbolt.Tx) error {
		info, origins := tx.Bucket(bucketSiteInfo), tx.Bucket(bucketOrigins)
		id := []byte(site.ID)
		var old moderation.Site
		err := load(info, id, &old)
		switch {
		case err == nil && create:
			return fmt.Errorf("site %q: %w", site.ID, moderation.ErrConflict)
		case err == moderation.ErrNotFound && !create:
			return fmt.Errorf("site %q: %w", site.ID, moderation.ErrNotFound)
		case err != nil && err != moderation.ErrNotFound:
			return err
		}
		for _, o := range old.Origins {
			if bytes.Equal(origins.Get([]byte(o)), id) {
				if err := origins.Delete([]byte(o)); err != nil {
					return err
				}
			}
		}
		for _, o := range site.Origins {
			if owner := origins.Get([]byte(o)); owner != nil && !bytes.Equal(owner, id) {
				return fmt.Errorf("origin %s belongs to site %s: %w", o, owner, moderation.ErrOriginTaken)
			}
			if err := origins.Put([]byte(o), id); err != nil {
				return err
			}
		}
		if create {
			if _, err := createSiteBuckets(tx, site.ID); err != nil {
				return err
			}
		}
		if err := save(info, id, site); err != nil {
			return err
		}
		if entry == nil {
			return nil
		}
		return appendAudit(tx, entry)
	})
}

// DeleteSite implements moderation.SiteStore.
func (db *DB) DeleteSite(_ context.Context, id string, withComments bool, entry *moderation.AuditEntry) error {
	if id == moderation.DefaultSite {
		return moderation.ErrForbidden
	}
	return db.update(func(tx *bbolt.Tx) error {
		info, origins := tx.Bucket(bucketSiteInfo), tx.Bucket(bucketOrigins)
		var old moderation.Site
		if err := load(info, []byte(id), &old); err != nil {
			return fmt.Errorf("site %q: %w", id, err)
		}
		site, err := siteOf(tx, id)
		if err != nil {
			return err
		}
		if k, _ := site.Bucket(bucketComments).Cursor().First(); k != nil && !withComments {
			return moderation.ErrSiteInUse
		}
		for _, o := range old.Origins {
			if bytes.Equal(origins.Get([]byte(o)), []byte(id)) {
				if err := origins.Delete([]byte(o)); err != nil {
					return err
				}
			}
		}
		if err := info.Delete([]byte(id)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSites).DeleteBucket([]byte(id)); err != nil {
			return err
		}
		return appendAudit(tx, entry)
	})
}

// migrateSites (schema 7) moves everything of the one blog a database held
// into the default site: every comment (now carrying its site), every index,
// the blocklist, import keys, the spam model (schema 6) as built, and audit
// entries, with their sequences. The
// default site starts with no origins; serve gives it --origins. Moderators
// who were not owners, and their API tokens, keep working on it.
func migrateSites(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketSites, bucketSiteInfo, bucketOrigins} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	site, err := createSiteBuckets(tx, moderation.DefaultSite)
	if err != nil {
		return err
	}
	def := moderation.Site{ID: moderation.DefaultSite, Name: "Default", Origins: []string{}, Created: time.Now().UTC()}
	if err := save(tx.Bucket(bucketSiteInfo), []byte(def.ID), &def); err != nil {
		return err
	}
	// Comments are rewritten: "site" was a bool (posted as the site), and
	// is the site's id now.
	err = tx.Bucket(bucketComments).ForEach(func(k, v []byte) error {
		var c moderation.Comment
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("comment %s: %w", k, err)
		}
		c.Site = moderation.DefaultSite
		return save(site.Bucket(bucketComments), k, &c)
	})
	if err != nil {
		return err
	}
	for _, name := range [][]byte{bucketStatus, bucketThread, bucketCounts, bucketReplies, bucketBlocklist, bucketImported, bucketModel} {
		if err := copyBucket(site.Bucket(name), tx.Bucket(name)); err != nil {
			return fmt.Errorf("move %s: %w", name, err)
		}
	}
	audit := site.Bucket(bucketAudit)
	err = tx.Bucket(bucketAudit).ForEach(func(k, v []byte) error {
		var e moderation.AuditEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("audit entry %x: %w", k, err)
		}
		e.Site = moderation.DefaultSite
		return save(audit, k, &e)
	})
	if err != nil {
		return err
	}
	if err := audit.SetSequence(tx.Bucket(bucketAudit).Sequence()); err != nil {
		return err
	}
	for _, name := range [][]byte{bucketComments, bucketStatus, bucketThread, bucketCounts, bucketReplies,
		bucketBlocklist, bucketImported, bucketModel, bucketAudit} {
		if err := tx.DeleteBucket(name); err != nil {
			return err
		}
	}
	if _, err := tx.CreateBucket(bucketAudit); err != nil {
		return err
	}
	return migratePeopleToSites(tx)
}

// migratePeopleToSites gives the default site to every moderator who is
// not an owner and to every moderator's token, and names the default site
// in the notifications owed.
func migratePeopleToSites(tx *bbolt.Tx) error {
	mods := tx.Bucket(bucketModerators)
	err := rewrite(mods, func(m *moderation.Moderator) {
		if m.Role != moderation.RoleOwner && len(m.Sites) == 0 {
			m.Sites = map[string]moderation.SiteRole{moderation.DefaultSite: moderation.SiteModerator}
		}
	})
	if err != nil {
		return err
	}
	err = rewrite(tx.Bucket(bucketTokens), func(t *moderation.Token) {
		if t.Role != moderation.RoleOwner && t.Site == "" {
			t.Site = moderation.DefaultSite
		}
	})
	if err != nil {
		return err
	}
	err = rewrite(tx.Bucket(bucketChanges), func(t *moderation.Transition) { t.Site = moderation.DefaultSite })
	if err != nil {
		return err
	}
	return rewrite(tx.Bucket(bucketOutbox), func(d *moderation.Delivery) {
		if d.Comment != "" {
			d.Site = moderation.DefaultSite
		}
	})
}

// rewrite decodes every value of b as a T, lets fix change it, and saves it.
func rewrite[T any](b *bbolt.Bucket, fix func(*T)) error {
	type kv struct {
		k []byte
		v *T
	}
	var all []kv
	err := b.ForEach(func(k, v []byte) error {
		if v == nil {
			return nil
		}
		x := new(T)
		if err := json.Unmarshal(v, x); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		fix(x)
		all = append(all, kv{bytes.Clone(k), x})
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range all {
		if err := save(b, e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

// copyBucket copies every key of src into dst, nested buckets included.
func copyBucket(dst, src *bbolt.Bucket) error {
	if src == nil {
		return nil
	}
	return src.ForEach(func(k, v []byte) error {
		if v != nil {
			return dst.Put(k, v)
		}
		sub, err := dst.CreateBucketIfNotExists(k)
		if err != nil {
			return err
		}
		return copyBucket(sub, src.Bucket(k))
	})
}
