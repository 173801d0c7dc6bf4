package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

var (
	bucketModel       = []byte("model")
	bucketModelCounts = []byte("counts")  // nested in model
	bucketTrained     = []byte("trained") // nested in model
	keyVersion        = []byte("version")
	keyDocs           = []byte("docs")
)

// migrateModel is schema 6: the spam classifier's model, top-level until
// schema 7 moves it into the default site. It starts unbuilt (no version),
// so the next start trains it from the decided comments.
func migrateModel(tx *bbolt.Tx) error {
	model, err := tx.CreateBucketIfNotExists(bucketModel)
	if err != nil {
		return err
	}
	return createModelBuckets(model)
}

// createModelBuckets makes the nested buckets of a model bucket.
func createModelBuckets(model *bbolt.Bucket) error {
	for _, name := range [][]byte{bucketModelCounts, bucketTrained} {
		if _, err := model.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// Model implements moderation.Store.
func (db *DB) Model(_ context.Context, siteID string, fn func(hash, ham, spam uint32)) (version, ham, spam int, err error) {
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, siteID)
		if err != nil {
			return err
		}
		model := site.Bucket(bucketModel)
		if v := model.Get(keyVersion); len(v) == 8 {
			version = int(binary.BigEndian.Uint64(v))
		}
		h, s := pair(model.Get(keyDocs))
		ham, spam = int(h), int(s)
		if fn == nil {
			return nil
		}
		return model.Bucket(bucketModelCounts).ForEach(func(k, v []byte) error {
			if len(k) != 4 {
				return fmt.Errorf("spam model: bad key %x", k)
			}
			h, s := pair(v)
			fn(binary.BigEndian.Uint32(k), h, s)
			return nil
		})
	})
	return version, ham, spam, err
}

// RebuildModel implements moderation.Store.
func (db *DB) RebuildModel(ctx context.Context, siteID string, version int, train func(c *moderation.Comment) *moderation.Training) error {
	return db.update(func(tx *bbolt.Tx) error {
		site, err := siteOf(tx, siteID)
		if err != nil {
			return err
		}
		model := site.Bucket(bucketModel)
		for _, name := range [][]byte{bucketModelCounts, bucketTrained} {
			if err := model.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := model.CreateBucket(name); err != nil {
				return err
			}
		}
		counts, trained := model.Bucket(bucketModelCounts), model.Bucket(bucketTrained)
		trained.FillPercent = appendFill
		sums := make(map[uint32]*[2]uint32)
		var docs [2]uint32
		cur := site.Bucket(bucketComments).Cursor()
		n := 0
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			if n++; n%checkEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			var c moderation.Comment
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("comment %s: %w", k, err)
			}
			t := train(&c)
			if t == nil || c.Status == moderation.StatusDeleted {
				continue
			}
			if err := save(trained, k, t); err != nil {
				return err
			}
			cl := slot(t)
			docs[cl]++
			for _, h := range t.Features {
				if sums[h] == nil {
					sums[h] = new([2]uint32)
				}
				sums[h][cl]++
			}
		}
		for h, s := range sums {
			if err := counts.Put(u32(h), pairBytes(s[0], s[1])); err != nil {
				return err
			}
		}
		if err := model.Put(keyDocs, pairBytes(docs[0], docs[1])); err != nil {
			return err
		}
		return model.Put(keyVersion, u64(uint64(version)))
	})
}

// loadTraining returns what is recorded of what comment id of site taught,
// or nil.
func loadTraining(site *bbolt.Bucket, id []byte) *moderation.Training {
	var t moderation.Training
	if load(site.Bucket(bucketModel).Bucket(bucketTrained), id, &t) != nil {
		return nil
	}
	return &t
}

// teach keeps site's model in step with a comment written to site: the training
// recorded for it comes out, c.Trained goes in and is recorded. A tombstone
// loses its record but keeps its counts: deleting a comment is not a change
// of mind about it.
func teach(site *bbolt.Bucket, old, c *moderation.Comment) error {
	model := site.Bucket(bucketModel)
	trained, id := model.Bucket(bucketTrained), []byte(c.ID)
	if c.Status == moderation.StatusDeleted {
		return trained.Delete(id)
	}
	var was *moderation.Training
	if old != nil {
		was = loadTraining(site, id)
	}
	if moderation.SameTraining(was, c.Trained) {
		return nil
	}
	if err := count(model, was, -1); err != nil {
		return err
	}
	if err := count(model, c.Trained, +1); err != nil {
		return err
	}
	if c.Trained == nil {
		return trained.Delete(id)
	}
	return save(trained, id, c.Trained)
}

// count adds delta to every bucket of t's class and to the class's
// comments; counts never go below zero.
func count(model *bbolt.Bucket, t *moderation.Training, delta int64) error {
	if t == nil {
		return nil
	}
	cl := slot(t)
	counts := model.Bucket(bucketModelCounts)
	for _, h := range t.Features {
		key := u32(h)
		var s [2]uint32
		s[0], s[1] = pair(counts.Get(key))
		s[cl] = uint32(max(int64(s[cl])+delta, 0))
		var err error
		if s == [2]uint32{} {
			err = counts.Delete(key)
		} else {
			err = counts.Put(key, pairBytes(s[0], s[1]))
		}
		if err != nil {
			return err
		}
	}
	var d [2]uint32
	d[0], d[1] = pair(model.Get(keyDocs))
	d[cl] = uint32(max(int64(d[cl])+delta, 0))
	return model.Put(keyDocs, pairBytes(d[0], d[1]))
}

// slot is where a class's count sits in a bucket's pair: ham first.
func slot(t *moderation.Training) int {
	if t.Class == "spam" {
		return 1
	}
	return 0
}

func u32(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// pair decodes a bucket's (ham, spam) counts; a missing value is (0, 0).
func pair(v []byte) (uint32, uint32) {
	if len(v) != 8 {
		return 0, 0
	}
	return binary.BigEndian.Uint32(v), binary.BigEndian.Uint32(v[4:])
}

func pairBytes(ham, spam uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(make([]byte, 0, 8), ham), spam)
}
