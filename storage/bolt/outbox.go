package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// The notification outbox. Comment writes append to the changes feed in
// their own transaction (noteEntered); the notify worker plans each change
// into deliveries, and sends those from the outbox, surviving restarts.

var (
	bucketChanges    = []byte("changes")
	bucketOutbox     = []byte("outbox")
	bucketCommenters = []byte("commenters")
	bucketLinks      = []byte("links")
	// bucketHeld: delivery sequence → uint64 Unix nanoseconds until which
	// a DueDeliveries caller holds it. Created when first needed (an older
	// file has none, which means nothing is held); holds are kept in the
	// file, like everything the outbox promises, so that they mean the
	// same whichever process reads them.
	bucketHeld = []byte("held")
)

// holdDeliveries is how long DueDeliveries keeps what it returned from
// other callers when neither FinishDeliveries nor SaveDelivery comes (the
// caller crashed mid-send): long enough for any send to time out, short
// enough that a crash delays mail by minutes, not hours.
const holdDeliveries = 5 * time.Minute

// migrateOutbox creates the notification buckets and counts the approved
// comments of each address already stored.
func migrateOutbox(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketChanges, bucketOutbox, bucketCommenters, bucketLinks} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketStatus).Bucket([]byte(moderation.StatusApproved)).ForEach(func(id, _ []byte) error {
		var c moderation.Comment
		if err := load(tx.Bucket(bucketComments), id, &c); err != nil {
			return err
		}
		return countApproved(tx, c.Email, +1)
	})
}

// noteEntered runs inside the transaction that puts c into a new status:
// it appends the transition to the changes feed and counts the approval.
func noteEntered(tx *bbolt.Tx, c *moderation.Comment) error {
	if c.Status == moderation.StatusDeleted {
		return nil
	}
	changes := tx.Bucket(bucketChanges)
	seq, err := changes.NextSequence()
	if err != nil {
		return err
	}
	if err := save(changes, u64(seq), moderation.Transition{Seq: seq, Site: c.Site, Comment: c.ID, To: c.Status, At: c.Updated}); err != nil {
		return err
	}
	if c.Status == moderation.StatusApproved {
		return countApproved(tx, c.Email, +1)
	}
	return nil
}

// noteLeft runs inside the transaction that takes c out of its status.
func noteLeft(tx *bbolt.Tx, c *moderation.Comment) error {
	if c.Status == moderation.StatusApproved {
		return countApproved(tx, c.Email, -1)
	}
	return nil
}

// Changes returns up to limit transitions not yet planned, oldest first.
func (db *DB) Changes(_ context.Context, limit int) ([]moderation.Transition, error) {
	var out []moderation.Transition
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		cur := tx.Bucket(bucketChanges).Cursor()
		for k, v := cur.First(); k != nil && len(out) < limit; k, v = cur.Next() {
			var t moderation.Transition
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("change %x: %w", k, err)
			}
			out = append(out, t)
		}
		return nil
	})
	return out, err
}

// PlanChange replaces the transition seq by the deliveries it calls for, in
// one transaction: a crash leaves either the change or its deliveries. A
// transition that is gone was planned already: nothing is queued twice.
func (db *DB) PlanChange(_ context.Context, seq uint64, ds []*moderation.Delivery) error {
	return db.update(func(tx *bbolt.Tx) error {
		changes := tx.Bucket(bucketChanges)
		if changes.Get(u64(seq)) == nil {
			return nil
		}
		if err := changes.Delete(u64(seq)); err != nil {
			return err
		}
		return enqueue(tx, ds)
	})
}

// Enqueue adds deliveries to the outbox.
func (db *DB) Enqueue(_ context.Context, ds ...*moderation.Delivery) error {
	return db.update(func(tx *bbolt.Tx) error { return enqueue(tx, ds) })
}

// enqueue numbers each delivery; one joining a group that is already
// waiting takes that group's due time, so the group goes out as one.
func enqueue(tx *bbolt.Tx, ds []*moderation.Delivery) error {
	outbox := tx.Bucket(bucketOutbox)
	for _, d := range ds {
		if d.Group != "" {
			if due, ok := groupDue(outbox, d.Group); ok {
				d.Due = due
			}
		}
		seq, err := outbox.NextSequence()
		if err != nil {
			return err
		}
		d.Seq = seq
		if err := save(outbox, u64(seq), d); err != nil {
			return err
		}
	}
	return nil
}

func groupDue(outbox *bbolt.Bucket, group string) (time.Time, bool) {
	var due time.Time
	found := false
	_ = eachDelivery(outbox, func(d *moderation.Delivery) error {
		if d.Group == group && !d.Failed() && d.Attempts == 0 {
			due, found = d.Due, true
		}
		return nil
	})
	return due, found
}

func eachDelivery(outbox *bbolt.Bucket, fn func(d *moderation.Delivery) error) error {
	return outbox.ForEach(func(k, v []byte) error {
		var d moderation.Delivery
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("delivery %x: %w", k, err)
		}
		return fn(&d)
	})
}

// DueDeliveries returns the deliveries to try now, oldest first: those due
// by now, with every other member of a due one's group. It holds them for
// holdDeliveries (by now's clock) or until finished or saved; held ones go
// to no other caller. Only when something is due does it write.
func (db *DB) DueDeliveries(_ context.Context, now time.Time) ([]*moderation.Delivery, error) {
	var out []*moderation.Delivery
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		out, err = dueDeliveries(tx, now)
		return err
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	err = db.update(func(tx *bbolt.Tx) error {
		var err error
		if out, err = dueDeliveries(tx, now); err != nil || len(out) == 0 {
			return err
		}
		held, err := tx.CreateBucketIfNotExists(bucketHeld)
		if err != nil {
			return err
		}
		until := u64(uint64(now.Add(holdDeliveries).UnixNano()))
		for _, d := range out {
			if err := held.Put(u64(d.Seq), until); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// dueDeliveries is what DueDeliveries returns at now, leaving out what
// another caller holds.
func dueDeliveries(tx *bbolt.Tx, now time.Time) ([]*moderation.Delivery, error) {
	held := tx.Bucket(bucketHeld)
	isHeld := func(seq uint64) bool {
		if held == nil {
			return false
		}
		v := held.Get(u64(seq))
		return len(v) == 8 && int64(binary.BigEndian.Uint64(v)) > now.UnixNano()
	}
	var all []*moderation.Delivery
	dueGroups := map[string]bool{}
	err := eachDelivery(tx.Bucket(bucketOutbox), func(d *moderation.Delivery) error {
		if d.Failed() || isHeld(d.Seq) {
			return nil
		}
		if !d.Due.After(now) && d.Group != "" {
			dueGroups[d.Group] = true
		}
		all = append(all, d)
		return nil
	})
	out := all[:0]
	for _, d := range all {
		if !d.Due.After(now) || dueGroups[d.Group] {
			out = append(out, d)
		}
	}
	return out, err
}

// release ends the holds on seqs.
func release(tx *bbolt.Tx, seqs ...uint64) error {
	held := tx.Bucket(bucketHeld)
	if held == nil {
		return nil
	}
	for _, seq := range seqs {
		if err := held.Delete(u64(seq)); err != nil {
			return err
		}
	}
	return nil
}

// FinishDeliveries removes sent (or pointless) deliveries.
func (db *DB) FinishDeliveries(_ context.Context, seqs ...uint64) error {
	return db.update(func(tx *bbolt.Tx) error {
		outbox := tx.Bucket(bucketOutbox)
		for _, seq := range seqs {
			if err := outbox.Delete(u64(seq)); err != nil {
				return err
			}
		}
		return release(tx, seqs...)
	})
}

// SaveDelivery records an attempt: its new due time, error and count.
func (db *DB) SaveDelivery(_ context.Context, d *moderation.Delivery) error {
	return db.update(func(tx *bbolt.Tx) error {
		outbox := tx.Bucket(bucketOutbox)
		if outbox.Get(u64(d.Seq)) == nil {
			return fmt.Errorf("delivery %d: %w", d.Seq, moderation.ErrNotFound)
		}
		if err := release(tx, d.Seq); err != nil {
			return err
		}
		return save(outbox, u64(d.Seq), d)
	})
}

// OutboxDepth counts deliveries by state: "pending" (never tried),
// "retrying", "failed" (given up), and "changes" not yet planned.
func (db *DB) OutboxDepth(_ context.Context) (map[string]int, error) {
	depth := map[string]int{"pending": 0, "retrying": 0, "failed": 0, "changes": 0}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		depth["changes"] = tx.Bucket(bucketChanges).Stats().KeyN
		return eachDelivery(tx.Bucket(bucketOutbox), func(d *moderation.Delivery) error {
			switch {
			case d.Failed():
				depth["failed"]++
			case d.Attempts > 0:
				depth["retrying"]++
			default:
				depth["pending"]++
			}
			return nil
		})
	})
	return depth, err
}

// PruneOutbox forgets deliveries that failed before failedBefore and
// single-use link records that expired before now.
func (db *DB) PruneOutbox(_ context.Context, failedBefore, now time.Time) error {
	return db.update(func(tx *bbolt.Tx) error {
		var old [][]byte
		err := eachDelivery(tx.Bucket(bucketOutbox), func(d *moderation.Delivery) error {
			if d.Failed() && d.FailedAt.Before(failedBefore) {
				old = append(old, u64(d.Seq))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := tx.Bucket(bucketOutbox).Delete(k); err != nil {
				return err
			}
			if err := release(tx, binary.BigEndian.Uint64(k)); err != nil {
				return err
			}
		}
		links := tx.Bucket(bucketLinks)
		var expired [][]byte
		_ = links.ForEach(func(k, v []byte) error {
			if len(v) == 8 && int64(binary.BigEndian.Uint64(v)) < now.Unix() {
				expired = append(expired, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range expired {
			if err := links.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}
