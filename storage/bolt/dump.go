package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// secretPrefix starts the meta keys that hold server secrets.
const secretPrefix = "secret:"

// Dump implements moderation.DumpStore from one read transaction: bbolt
// readers see a snapshot and never block writers. Stored JSON passes
// through as it is; only the comments waiting for a parent are held.
func (db *DB) Dump(ctx context.Context, fn func(*moderation.Record) error) error {
	return db.bolt.View(func(tx *bbolt.Tx) error {
		d := dumper{ctx: ctx, fn: fn}
		meta := tx.Bucket(bucketMeta)
		cur := meta.Cursor()
		for k, v := cur.Seek([]byte(secretPrefix)); k != nil && bytes.HasPrefix(k, []byte(secretPrefix)); k, v = cur.Next() {
			d.value(moderation.KindSecret, "", string(k[len(secretPrefix):]), v)
		}
		var sites []string
		d.each(tx.Bucket(bucketSiteInfo), moderation.KindSite, "", func(k, v []byte) (string, []byte) {
			sites = append(sites, string(k))
			return string(k), v
		})
		for _, id := range sites {
			if d.err == nil {
				d.site(tx, id)
			}
		}
		d.audit(tx.Bucket(bucketAudit), "")
		d.each(tx.Bucket(bucketModerators), moderation.KindModerator, "", nil)
		d.each(tx.Bucket(bucketTokens), moderation.KindToken, "", nil)
		d.each(tx.Bucket(bucketSessions), moderation.KindSession, "", nil)
		d.each(tx.Bucket(bucketCommenters), moderation.KindCommenter, "", nil)
		d.times(tx.Bucket(bucketClaims), moderation.KindClaim, func(n uint64) time.Time {
			return time.Unix(0, int64(n)).UTC()
		})
		d.times(tx.Bucket(bucketLinks), moderation.KindLink, func(n uint64) time.Time {
			return moderation.LinkTime(time.Unix(int64(n), 0))
		})
		d.each(tx.Bucket(bucketChanges), moderation.KindChange, "", seqKey)
		d.each(tx.Bucket(bucketOutbox), moderation.KindDelivery, "", seqKey)
		return d.err
	})
}

// dumper walks the buckets, remembering the first error so that each step
// reads as one line; after an error it does nothing.
type dumper struct {
	ctx context.Context
	fn  func(*moderation.Record) error
	n   int
	err error
}

// emit hands a record to fn, looking at the context now and then.
func (d *dumper) emit(r *moderation.Record, err error) {
	if d.err != nil {
		return
	}
	if d.n++; d.n%checkEvery == 0 && d.ctx.Err() != nil {
		err = d.ctx.Err()
	}
	if err == nil {
		err = d.fn(r)
	}
	d.err = err
}

// value emits a record whose value is stored JSON, or bytes for a secret.
func (d *dumper) value(kind moderation.RecordKind, site, key string, v []byte) {
	if kind == moderation.KindSecret {
		d.emit(moderation.NewRecord(kind, site, key, v))
		return
	}
	d.emit(&moderation.Record{Kind: kind, Site: site, Key: key, Value: bytes.Clone(v)}, nil)
}

// each emits every key of b as kind; rekey, when not nil, gives the key
// and value to emit for a stored key and value.
func (d *dumper) each(b *bbolt.Bucket, kind moderation.RecordKind, site string, rekey func(k, v []byte) (string, []byte)) {
	if d.err != nil || b == nil {
		return
	}
	cur := b.Cursor()
	for k, v := cur.First(); k != nil && d.err == nil; k, v = cur.Next() {
		if v == nil {
			continue // a nested bucket
		}
		key := string(k)
		if rekey != nil {
			key, v = rekey(k, v)
		}
		d.value(kind, site, key, v)
	}
}

// seqKey names a record by the uint64 sequence number it is stored under.
func seqKey(k, v []byte) (string, []byte) {
	return strconv.FormatUint(binary.BigEndian.Uint64(k), 10), v
}

// times emits the keys of a bucket of uint64 times.
func (d *dumper) times(b *bbolt.Bucket, kind moderation.RecordKind, decode func(uint64) time.Time) {
	d.each(b, kind, "", func(k, v []byte) (string, []byte) {
		var n uint64
		if len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		raw, _ := json.Marshal(moderation.TimeRecord{Until: decode(n)})
		return string(k), raw
	})
}

// audit emits an audit bucket, the instance's (site "") or a site's.
func (d *dumper) audit(b *bbolt.Bucket, site string) {
	d.each(b, moderation.KindAudit, site, seqKey)
}

// site emits everything of one site: blocklist, model, features, comments
// (parents first), import keys and audit entries.
func (d *dumper) site(tx *bbolt.Tx, id string) {
	site, err := siteOf(tx, id)
	if err != nil {
		d.err = err
		return
	}
	if v := site.Bucket(bucketBlocklist).Get(keyBlocklist); v != nil {
		d.value(moderation.KindBlocklist, id, "", v)
	}
	model := site.Bucket(bucketModel)
	var m moderation.ModelRecord
	if v := model.Get(keyVersion); len(v) == 8 {
		m.Version = int(binary.BigEndian.Uint64(v))
	}
	ham, spam := pair(model.Get(keyDocs))
	m.Ham, m.Spam = int(ham), int(spam)
	d.emit(moderation.NewRecord(moderation.KindModel, id, "", m))
	d.each(model.Bucket(bucketModelCounts), moderation.KindFeature, id, func(k, v []byte) (string, []byte) {
		h, s := pair(v)
		raw, _ := json.Marshal(moderation.FeatureRecord{Ham: h, Spam: s})
		return strconv.FormatUint(uint64(binary.BigEndian.Uint32(k)), 10), raw
	})
	d.comments(site, id)
	d.each(site.Bucket(bucketImported), moderation.KindImported, id, func(k, v []byte) (string, []byte) {
		raw, _ := json.Marshal(string(v))
		return hex.EncodeToString(k), raw
	})
	d.audit(site.Bucket(bucketAudit), id)
}

// comments emits a site's comments in ID order, holding back a reply whose
// ID sorts before its parent's until the parent is out. Only such replies
// (imported from a system whose clocks disagreed) are held in memory.
func (d *dumper) comments(site *bbolt.Bucket, id string) {
	comments, trained := site.Bucket(bucketComments), site.Bucket(bucketModel).Bucket(bucketTrained)
	waiting := map[string][][]byte{} // parent ID → keys of the replies waiting for it
	var out func(k, v []byte)
	out = func(k, v []byte) {
		d.emit(moderation.NewCommentRecord(id, string(k), v, trained.Get(k)))
		for _, child := range waiting[string(k)] {
			out(child, comments.Get(child))
		}
		delete(waiting, string(k))
	}
	cur := comments.Cursor()
	for k, v := cur.First(); k != nil && d.err == nil; k, v = cur.Next() {
		var p struct {
			Parent string `json:"parent"`
		}
		if err := json.Unmarshal(v, &p); err != nil {
			d.err = fmt.Errorf("dump comment %s: %w", k, err)
			return
		}
		if p.Parent > string(k) && comments.Get([]byte(p.Parent)) != nil {
			waiting[p.Parent] = append(waiting[p.Parent], bytes.Clone(k))
			continue
		}
		out(k, v)
	}
}

// Restore implements moderation.DumpStore in one write transaction.
func (db *DB) Restore(_ context.Context, recs []*moderation.Record) error {
	return db.update(func(tx *bbolt.Tx) error {
		for _, r := range recs {
			if err := restore(tx, r); err != nil {
				return fmt.Errorf("restore %s %q of site %q: %w", r.Kind, r.Key, r.Site, err)
			}
		}
		return nil
	})
}

// restore writes one record.
func restore(tx *bbolt.Tx, r *moderation.Record) error {
	switch r.Kind {
	case moderation.KindSecret:
		secret, err := moderation.DecodeSecret(r)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put([]byte(secretPrefix+r.Key), secret)
	case moderation.KindSite:
		return restoreSite(tx, r)
	case moderation.KindAudit:
		e, err := moderation.DecodeRecord[moderation.AuditEntry](r)
		if err != nil {
			return err
		}
		audit, err := auditBucket(tx, r.Site)
		if err != nil {
			return err
		}
		return putSeq(audit, e.Seq, e)
	case moderation.KindModerator:
		return restoreValue[moderation.Moderator](tx.Bucket(bucketModerators), r)
	case moderation.KindToken:
		return restoreToken(tx, r)
	case moderation.KindSession:
		return restoreValue[moderation.Session](tx.Bucket(bucketSessions), r)
	case moderation.KindCommenter:
		return restoreValue[moderation.Commenter](tx.Bucket(bucketCommenters), r)
	case moderation.KindClaim:
		t, err := moderation.DecodeRecord[moderation.TimeRecord](r)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketClaims).Put([]byte(r.Key), u64(uint64(t.Until.UnixNano())))
	case moderation.KindLink:
		t, err := moderation.DecodeRecord[moderation.TimeRecord](r)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketLinks).Put([]byte(r.Key), u64(uint64(t.Until.Unix())))
	case moderation.KindChange:
		t, err := moderation.DecodeRecord[moderation.Transition](r)
		if err != nil {
			return err
		}
		return putSeq(tx.Bucket(bucketChanges), t.Seq, t)
	case moderation.KindDelivery:
		d, err := moderation.DecodeRecord[moderation.Delivery](r)
		if err != nil {
			return err
		}
		return putSeq(tx.Bucket(bucketOutbox), d.Seq, d)
	}
	site, err := siteOf(tx, r.Site)
	if err != nil {
		return err
	}
	return restoreSiteRecord(site, r)
}

// restoreSiteRecord writes a record that belongs to a site.
func restoreSiteRecord(site *bbolt.Bucket, r *moderation.Record) error {
	model := site.Bucket(bucketModel)
	switch r.Kind {
	case moderation.KindBlocklist:
		b, err := moderation.DecodeRecord[moderation.Blocklist](r)
		if err != nil {
			return err
		}
		return save(site.Bucket(bucketBlocklist), keyBlocklist, b)
	case moderation.KindModel:
		m, err := moderation.DecodeRecord[moderation.ModelRecord](r)
		if err != nil {
			return err
		}
		if err := model.DeleteBucket(bucketModelCounts); err != nil {
			return err
		}
		if _, err := model.CreateBucket(bucketModelCounts); err != nil {
			return err
		}
		if err := model.Put(keyDocs, pairBytes(uint32(m.Ham), uint32(m.Spam))); err != nil {
			return err
		}
		if m.Version == 0 {
			return model.Delete(keyVersion)
		}
		return model.Put(keyVersion, u64(uint64(m.Version)))
	case moderation.KindFeature:
		h, f, err := moderation.DecodeFeature(r)
		if err != nil {
			return err
		}
		counts := model.Bucket(bucketModelCounts)
		if f.Ham == 0 && f.Spam == 0 {
			return counts.Delete(u32(h))
		}
		return counts.Put(u32(h), pairBytes(f.Ham, f.Spam))
	case moderation.KindComment:
		return restoreComment(site, r)
	case moderation.KindImported:
		key, id, err := moderation.DecodeImported(r)
		if err != nil {
			return err
		}
		return site.Bucket(bucketImported).Put(key, []byte(id))
	}
	return &moderation.ValidationError{Fields: map[string]string{"record": fmt.Sprintf("unknown kind %q", r.Kind)}}
}

// restoreValue replaces the value stored under the record's key.
func restoreValue[T any](b *bbolt.Bucket, r *moderation.Record) error {
	v, err := moderation.DecodeRecord[T](r)
	if err != nil {
		return err
	}
	return save(b, []byte(r.Key), v)
}

// putSeq stores v under sequence number seq, and moves the bucket's
// sequence past it so that what is appended later never takes its place.
func putSeq(b *bbolt.Bucket, seq uint64, v any) error {
	if seq == 0 {
		return &moderation.ValidationError{Fields: map[string]string{"record": "a sequence number starts at 1"}}
	}
	if seq > b.Sequence() {
		if err := b.SetSequence(seq); err != nil {
			return err
		}
	}
	return save(b, u64(seq), v)
}

// restoreSite writes a site and its origins, creating its buckets if new.
func restoreSite(tx *bbolt.Tx, r *moderation.Record) error {
	s, err := moderation.DecodeRecord[moderation.Site](r)
	if err != nil {
		return err
	}
	info, origins, id := tx.Bucket(bucketSiteInfo), tx.Bucket(bucketOrigins), []byte(s.ID)
	var old moderation.Site
	if err := load(info, id, &old); err == nil {
		for _, o := range old.Origins {
			if bytes.Equal(origins.Get([]byte(o)), id) {
				if err := origins.Delete([]byte(o)); err != nil {
					return err
				}
			}
		}
	}
	for _, o := range s.Origins {
		if owner := origins.Get([]byte(o)); owner != nil && !bytes.Equal(owner, id) {
			return fmt.Errorf("origin %s belongs to site %s: %w", o, owner, moderation.ErrOriginTaken)
		}
		if err := origins.Put([]byte(o), id); err != nil {
			return err
		}
	}
	if tx.Bucket(bucketSites).Bucket(id) == nil {
		if _, err := createSiteBuckets(tx, s.ID); err != nil {
			return err
		}
	}
	return save(info, id, s)
}

// restoreToken writes a token and its ID index; a token stored under the
// same ID with another secret goes.
func restoreToken(tx *bbolt.Tx, r *moderation.Record) error {
	t, err := moderation.DecodeRecord[moderation.Token](r)
	if err != nil {
		return err
	}
	ids, tokens := tx.Bucket(bucketTokenIDs), tx.Bucket(bucketTokens)
	if hash := ids.Get([]byte(t.ID)); hash != nil && string(hash) != t.Hash {
		if err := tokens.Delete(hash); err != nil {
			return err
		}
	}
	if err := ids.Put([]byte(t.ID), []byte(t.Hash)); err != nil {
		return err
	}
	return save(tokens, []byte(t.Hash), t)
}

// restoreComment replaces a comment, moving it between the status, thread,
// count and reply indexes as its stored self was. Its training is recorded
// as it comes, without counting it in the model: the model's own records
// carry the counts. No change is noted for the notify worker, and the
// commenters' counts are left to their own records.
func restoreComment(site *bbolt.Bucket, r *moderation.Record) error {
	c, err := moderation.DecodeComment(r)
	if err != nil {
		return err
	}
	comments, replies := site.Bucket(bucketComments), site.Bucket(bucketReplies)
	id := []byte(c.ID)
	if v := comments.Get(id); v != nil {
		var old moderation.Comment
		if err := json.Unmarshal(v, &old); err != nil {
			return fmt.Errorf("stored comment %s: %w", id, err)
		}
		if err := unindexStatus(site, &old); err != nil {
			return err
		}
		if old.Parent != "" {
			if err := replies.Delete(replyKey(old.Parent, old.ID)); err != nil {
				return err
			}
		}
	}
	if err := indexStatus(site, c); err != nil {
		return err
	}
	if c.Parent != "" {
		if err := replies.Put(replyKey(c.Parent, c.ID), nil); err != nil {
			return err
		}
	}
	trained := site.Bucket(bucketModel).Bucket(bucketTrained)
	trained.FillPercent = appendFill
	if c.Trained == nil {
		if err := trained.Delete(id); err != nil {
			return err
		}
	} else if err := save(trained, id, c.Trained); err != nil {
		return err
	}
	comments.FillPercent = appendFill
	return save(comments, id, c)
}
