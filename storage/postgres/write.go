package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"parley/moderation"
)

// The comment write: every method that stores a comment (CreateComment,
// UpdateComments, DeleteComments, PublishReply, ImportComments) goes
// through commentWrites, so that the row, the approved counts of its post
// and its author (commenters.approved, the column being the count), the
// outbox transition and the classifier's counts move together, in the same
// transaction, as bbolt's putComment keeps them. The count of each status
// is kept by a trigger on comments (status_counts in 001_init.sql), so that
// a restore, which writes rows as they were, keeps it too.
//
// Statements are queued on a pgx.Batch, so a whole write is one round trip.
// Counters are gathered while comments are queued and added once, in flush,
// in one order (post counts by site and post, commenters by address, then
// each site's model, its features ascending): transactions that touch the
// same counters take their row locks in the same order and rarely deadlock
// (db.tx retries those that do).

// commentWrites gathers the writes of one transaction.
type commentWrites struct {
	batch      *pgx.Batch
	approved   map[postKey]int64        // change of each post's approved count
	commenters map[string]int64         // change of each address's approved count (moderation.EmailKey)
	models     map[string]*modelChanges // site → what its model learns and unlearns
}

type postKey struct{ site, post string }

func comparePostKeys(a, b postKey) int {
	return cmp.Or(cmp.Compare(a.site, b.site), cmp.Compare(a.post, b.post))
}

// modelChanges are a site's classifier counts to add: comments per class
// and, per feature bucket, its (ham, spam) counts.
type modelChanges struct {
	ham, spam int64
	features  map[uint32]*[2]int64
}

func newCommentWrites(b *pgx.Batch) *commentWrites {
	return &commentWrites{batch: b, approved: map[postKey]int64{}, commenters: map[string]int64{},
		models: map[string]*modelChanges{}}
}

// writeComment stores c in tx with everything that follows from it, as one
// batch: old is c as stored before (with Trained as recorded, as
// loadForUpdate gives it), or nil for a new comment. A new comment whose ID
// exists is ErrConflict; an old one that is gone is ErrNotFound.
func writeComment(ctx context.Context, tx pgx.Tx, old, c *moderation.Comment) error {
	w := newCommentWrites(&pgx.Batch{})
	if err := w.put(old, c); err != nil {
		return err
	}
	return w.send(ctx, tx)
}

// send queues the counters and runs the batch in tx (a pgx.Tx or a
// connection), returning the first error.
func (w *commentWrites) send(ctx context.Context, tx interface {
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
}) error {
	w.flush()
	return tx.SendBatch(ctx, w.batch).Close()
}

// put queues the write of c: the row, the status change's transition and
// counts, and the model's lesson. old is c as stored before, or nil.
func (w *commentWrites) put(old, c *moderation.Comment) error {
	doc, err := json.Marshal(c)
	if err != nil {
		return err
	}
	// A tombstone loses its training record; its lesson stays counted.
	var training []byte
	if c.Trained != nil && c.Status != moderation.StatusDeleted {
		if training, err = json.Marshal(c.Trained); err != nil {
			return err
		}
	}
	if old == nil {
		w.batch.Queue(`INSERT INTO comments (site, id, post, parent, status, created, doc, training)
			VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6, $7, $8)`,
			c.Site, c.ID, c.Post, c.Parent, string(c.Status), c.Created, doc, training)
	} else {
		id := c.ID
		w.batch.Queue(`UPDATE comments SET post = $3, parent = NULLIF($4, ''), status = $5, doc = $6, training = $7
			WHERE site = $1 AND id = $2`,
			c.Site, c.ID, c.Post, c.Parent, string(c.Status), doc, training).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != 1 {
				return fmt.Errorf("comment %q: %w", id, moderation.ErrNotFound)
			}
			return nil
		})
	}
	if old != nil && old.Status != c.Status {
		w.left(old)
	}
	if old == nil || old.Status != c.Status {
		if err := w.entered(c); err != nil {
			return err
		}
	}
	if c.Status != moderation.StatusDeleted {
		var was *moderation.Training
		if old != nil {
			was = old.Trained
		}
		if !moderation.SameTraining(was, c.Trained) {
			w.learn(c.Site, was, -1)
			w.learn(c.Site, c.Trained, +1)
		}
	}
	return nil
}

// remove queues the removal of old, a comment nothing hangs from, as
// deleting it to tombstone c: it leaves its status (and the counts) and its
// training record, whose counts stay.
func (w *commentWrites) remove(old *moderation.Comment) {
	w.batch.Queue(`DELETE FROM comments WHERE site = $1 AND id = $2`, old.Site, old.ID)
	w.left(old)
}

// entered is bbolt's noteEntered and index: c moved into its status.
func (w *commentWrites) entered(c *moderation.Comment) error {
	if c.Status == moderation.StatusDeleted {
		return nil
	}
	doc, err := json.Marshal(moderation.Transition{Site: c.Site, Comment: c.ID, To: c.Status, At: c.Updated})
	if err != nil {
		return err
	}
	w.batch.Queue(insertTransition, doc)
	if c.Status == moderation.StatusApproved {
		w.approved[postKey{c.Site, c.Post}]++
		if c.Email != "" {
			w.commenters[moderation.EmailKey(c.Email)]++
		}
	}
	return nil
}

// insertTransition numbers a transition and stores it, its number in the
// document as bbolt keeps it.
const insertTransition = `
INSERT INTO outbox_changes (seq, doc)
SELECT n, $1::jsonb || jsonb_build_object('seq', n) FROM nextval('outbox_changes_seq_seq') AS n`

// left is bbolt's noteLeft and unindex: old moved out of its status.
func (w *commentWrites) left(old *moderation.Comment) {
	if old.Status != moderation.StatusApproved {
		return
	}
	w.approved[postKey{old.Site, old.Post}]--
	if old.Email != "" {
		w.commenters[moderation.EmailKey(old.Email)]--
	}
}

// learn adds t's lesson to site's model delta times.
func (w *commentWrites) learn(site string, t *moderation.Training, delta int64) {
	if t == nil {
		return
	}
	m := w.models[site]
	if m == nil {
		m = &modelChanges{features: map[uint32]*[2]int64{}}
		w.models[site] = m
	}
	cl := 0
	if t.Class == "spam" {
		cl = 1
	}
	if cl == 0 {
		m.ham += delta
	} else {
		m.spam += delta
	}
	for _, h := range t.Features {
		f := m.features[h]
		if f == nil {
			f = new([2]int64)
			m.features[h] = f
		}
		f[cl] += delta
	}
}

// flush queues the counters gathered, in their fixed order. Counts never
// go below zero, as bbolt's do not.
func (w *commentWrites) flush() {
	for _, k := range slices.SortedFunc(maps.Keys(w.approved), comparePostKeys) {
		n := w.approved[k]
		switch {
		case n > 0:
			w.batch.Queue(`INSERT INTO post_counts (site, post, approved) VALUES ($1, $2, $3)
				ON CONFLICT (site, post) DO UPDATE SET approved = post_counts.approved + excluded.approved`, k.site, k.post, n)
		case n < 0:
			w.batch.Queue(`UPDATE post_counts SET approved = greatest(approved + $3, 0) WHERE site = $1 AND post = $2`, k.site, k.post, n)
		}
	}
	for _, email := range slices.Sorted(maps.Keys(w.commenters)) {
		n := w.commenters[email]
		switch {
		case n > 0:
			w.batch.Queue(`INSERT INTO commenters (email, approved, doc) VALUES ($1, $2, '{"approved":0}')
				ON CONFLICT (email) DO UPDATE SET approved = commenters.approved + excluded.approved`, email, n)
		case n < 0:
			w.batch.Queue(`UPDATE commenters SET approved = greatest(approved + $2, 0) WHERE email = $1`, email, n)
		}
	}
	for _, site := range slices.Sorted(maps.Keys(w.models)) {
		queueModelChanges(w.batch, site, w.models[site])
	}
	clear(w.approved)
	clear(w.commenters)
	clear(w.models)
}

// queueModelChanges adds m to site's model. The model's row is written
// first: it is the lock that RebuildModel takes, so no lesson slips between
// a rebuild's read and its write.
func queueModelChanges(b *pgx.Batch, site string, m *modelChanges) {
	b.Queue(`INSERT INTO classifier_models (site, ham, spam) VALUES ($1, greatest($2::bigint, 0), greatest($3::bigint, 0))
		ON CONFLICT (site) DO UPDATE SET ham = greatest(classifier_models.ham + $2, 0), spam = greatest(classifier_models.spam + $3, 0)`,
		site, m.ham, m.spam)
	var grow []int64
	var hashes, ham, spam []int64
	for _, h := range slices.Sorted(maps.Keys(m.features)) {
		d := m.features[h]
		if *d == [2]int64{} {
			continue
		}
		hashes, ham, spam = append(hashes, int64(h)), append(ham, d[0]), append(spam, d[1])
		if d[0] > 0 || d[1] > 0 {
			grow = append(grow, int64(h))
		}
	}
	if len(hashes) == 0 {
		return
	}
	// Buckets that gain a count must exist; a bucket whose counts fall to
	// zero stays as a row of zeros, which Model does not report.
	if len(grow) > 0 {
		b.Queue(`INSERT INTO classifier_features (site, feature) SELECT $1, f FROM unnest($2::bigint[]) AS f ORDER BY f
			ON CONFLICT (site, feature) DO NOTHING`, site, grow)
	}
	b.Queue(`UPDATE classifier_features AS f SET ham = greatest(f.ham + d.ham, 0), spam = greatest(f.spam + d.spam, 0)
		FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) AS d(feature, ham, spam)
		WHERE f.site = $1 AND f.feature = d.feature`, site, hashes, ham, spam)
}
