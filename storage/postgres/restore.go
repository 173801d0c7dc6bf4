package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// Restore implements moderation.DumpStore in one transaction. Records are
// written in runs of one kind, each run one round trip (a pgx.Batch of
// upserts, or one statement over arrays for comments and features); every
// write is an upsert by the record's key, so a retried or repeated restore
// leaves one copy. Afterwards the comment write's counters (post counts;
// status counts follow by trigger) move by what changed, and the sequences
// past the numbers restored.
func (db *DB) Restore(ctx context.Context, recs []*moderation.Record) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		// The comment write's counters: the approved count of each post
		// moves by what the comments restored change.
		counts := newCommentWrites(&pgx.Batch{})
		for start := 0; start < len(recs); {
			end := start + 1
			for end < len(recs) && recs[end].Kind == recs[start].Kind {
				end++
			}
			if err := restoreRun(ctx, tx, recs[start:end], counts); err != nil {
				return err
			}
			start = end
		}
		if err := counts.send(ctx, tx); err != nil {
			return err
		}
		return moveSequences(ctx, tx, recs)
	})
}

// restoreRun writes records of one kind.
func restoreRun(ctx context.Context, tx pgx.Tx, recs []*moderation.Record, counts *commentWrites) error {
	switch recs[0].Kind {
	case moderation.KindComment:
		return restoreComments(ctx, tx, recs, counts)
	case moderation.KindFeature:
		return restoreFeatures(ctx, tx, recs)
	case moderation.KindImported:
		return restoreImportKeys(ctx, tx, recs)
	}
	b := &pgx.Batch{}
	for _, r := range recs {
		if err := queueRecord(b, r); err != nil {
			return fmt.Errorf("restore %s %q of site %q: %w", r.Kind, r.Key, r.Site, err)
		}
	}
	return sendBatch(ctx, tx, b)
}

// sendBatch sends queued statements and returns the first error.
func sendBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}

// Statements that restore one record each.
const (
	restoreSecret  = `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value`
	restoreSiteRow = `INSERT INTO sites (id, created, doc) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET created = excluded.created, doc = excluded.doc`
	restoreNoOrigins = `DELETE FROM site_origins WHERE site = $1`
	restoreOrigins   = `INSERT INTO site_origins (origin, site) SELECT unnest($2::text[]), $1`
	restoreBlocklist = `INSERT INTO blocklists (site, doc) VALUES ($1, $2) ON CONFLICT (site) DO UPDATE SET doc = excluded.doc`
	restoreModel     = `INSERT INTO classifier_models (site, version, ham, spam) VALUES ($1, NULLIF($2, 0), $3, $4)
		ON CONFLICT (site) DO UPDATE SET version = excluded.version, ham = excluded.ham, spam = excluded.spam`
	restoreNoFeatures = `DELETE FROM classifier_features WHERE site = $1`
	restoreAudit      = `INSERT INTO audit (seq, site, doc) VALUES ($1, $2, $3)
		ON CONFLICT (site, seq) DO UPDATE SET doc = excluded.doc WHERE audit.doc <> excluded.doc`
	restoreModerator = `INSERT INTO moderators (name, folded, doc) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET folded = excluded.folded, doc = excluded.doc`
	restoreTokenID = `DELETE FROM tokens WHERE id = $2 AND hash <> $1`
	restoreToken   = `INSERT INTO tokens (hash, id, site, doc) VALUES ($1, $2, $3, $4)
		ON CONFLICT (hash) DO UPDATE SET id = excluded.id, site = excluded.site, doc = excluded.doc`
	restoreSession = `INSERT INTO sessions (id, moderator, created, last_seen, doc) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET moderator = excluded.moderator, created = excluded.created,
		last_seen = excluded.last_seen, doc = excluded.doc`
	restoreCommenter = `INSERT INTO commenters (email, approved, doc) VALUES ($1, $2, $3)
		ON CONFLICT (email) DO UPDATE SET approved = excluded.approved, doc = excluded.doc`
	restoreClaim  = `INSERT INTO claims (key, until_ns) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET until_ns = excluded.until_ns`
	restoreLink   = `INSERT INTO used_links (nonce, expires) VALUES ($1, $2) ON CONFLICT (nonce) DO UPDATE SET expires = excluded.expires`
	restoreChange = `INSERT INTO outbox_changes (seq, doc) VALUES ($1, $2) ON CONFLICT (seq) DO UPDATE SET doc = excluded.doc`
	restoreOutbox = `INSERT INTO outbox_deliveries (seq, grp, due, status, failed_at, doc) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (seq) DO UPDATE SET grp = excluded.grp, due = excluded.due, status = excluded.status,
		failed_at = excluded.failed_at, held_until = NULL, doc = excluded.doc`
)

// queueRecord queues the statements that restore one record.
func queueRecord(b *pgx.Batch, r *moderation.Record) error {
	switch r.Kind {
	case moderation.KindSecret:
		secret, err := moderation.DecodeSecret(r)
		if err != nil {
			return err
		}
		b.Queue(restoreSecret, r.Key, secret)
	case moderation.KindSite:
		s, err := moderation.DecodeRecord[moderation.Site](r)
		if err != nil {
			return err
		}
		b.Queue(restoreSiteRow, s.ID, s.Created, jsonDoc(s))
		origins := s.Origins
		if origins == nil {
			origins = []string{}
		}
		// An origin of another site is a unique violation: ErrConflict.
		b.Queue(restoreNoOrigins, s.ID)
		b.Queue(restoreOrigins, s.ID, origins)
	case moderation.KindBlocklist:
		v, err := moderation.DecodeRecord[moderation.Blocklist](r)
		if err != nil {
			return err
		}
		b.Queue(restoreBlocklist, r.Site, jsonDoc(v))
	case moderation.KindModel:
		m, err := moderation.DecodeRecord[moderation.ModelRecord](r)
		if err != nil {
			return err
		}
		b.Queue(restoreModel, r.Site, m.Version, m.Ham, m.Spam)
		b.Queue(restoreNoFeatures, r.Site)
	case moderation.KindAudit:
		e, err := moderation.DecodeRecord[moderation.AuditEntry](r)
		if err != nil {
			return err
		}
		if e.Seq == 0 {
			return &moderation.ValidationError{Fields: map[string]string{"record": "a sequence number starts at 1"}}
		}
		b.Queue(restoreAudit, int64(e.Seq), r.Site, jsonDoc(e))
	default:
		return queueInstanceRecord(b, r)
	}
	return nil
}

// queueInstanceRecord queues a record of the instance's people and outbox.
func queueInstanceRecord(b *pgx.Batch, r *moderation.Record) error {
	switch r.Kind {
	case moderation.KindModerator:
		m, err := moderation.DecodeRecord[moderation.Moderator](r)
		if err != nil {
			return err
		}
		b.Queue(restoreModerator, m.Name, moderation.FoldName(m.Name), jsonDoc(m))
	case moderation.KindToken:
		t, err := moderation.DecodeRecord[moderation.Token](r)
		if err != nil {
			return err
		}
		b.Queue(restoreTokenID, t.Hash, t.ID)
		b.Queue(restoreToken, t.Hash, t.ID, t.Site, jsonDoc(t))
	case moderation.KindSession:
		s, err := moderation.DecodeRecord[moderation.Session](r)
		if err != nil {
			return err
		}
		b.Queue(restoreSession, s.ID, s.Moderator, s.Created, s.LastSeen, jsonDoc(s))
	case moderation.KindCommenter:
		c, err := moderation.DecodeRecord[moderation.Commenter](r)
		if err != nil {
			return err
		}
		b.Queue(restoreCommenter, r.Key, c.Approved, jsonDoc(c))
	case moderation.KindClaim:
		t, err := moderation.DecodeRecord[moderation.TimeRecord](r)
		if err != nil {
			return err
		}
		b.Queue(restoreClaim, r.Key, t.Until.UnixNano())
	case moderation.KindLink:
		t, err := moderation.DecodeRecord[moderation.TimeRecord](r)
		if err != nil {
			return err
		}
		b.Queue(restoreLink, r.Key, moderation.LinkTime(t.Until))
	case moderation.KindChange:
		t, err := moderation.DecodeRecord[moderation.Transition](r)
		if err != nil || t.Seq == 0 {
			return seqError(err)
		}
		b.Queue(restoreChange, int64(t.Seq), jsonDoc(t))
	case moderation.KindDelivery:
		d, err := moderation.DecodeRecord[moderation.Delivery](r)
		if err != nil || d.Seq == 0 {
			return seqError(err)
		}
		row, err := rowOf(d) // the outbox's own columns for a delivery
		if err != nil {
			return err
		}
		b.Queue(restoreOutbox, row.seq, row.grp, row.due, row.status, row.failedAt, string(row.doc))
	default:
		return &moderation.ValidationError{Fields: map[string]string{"record": fmt.Sprintf("unknown kind %q", r.Kind)}}
	}
	return nil
}

func seqError(err error) error {
	if err != nil {
		return err
	}
	return &moderation.ValidationError{Fields: map[string]string{"record": "a sequence number starts at 1"}}
}

// jsonDoc encodes a document as bbolt stores it. The domain types always
// encode; a failure would be a bug, caught by the tests.
func jsonDoc(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err))
	}
	return string(b)
}

// restoreCommentRows upserts comments from arrays, one statement for a
// run of them, and returns the post and status each had before.
const restoreCommentRows = `WITH old AS (
		SELECT c.site, c.post, c.status FROM comments c
		JOIN unnest($1::text[], $2::text[]) AS n(site, id) ON c.site = n.site AND c.id = n.id
	), put AS (
		INSERT INTO comments (site, id, post, parent, status, created, doc, training)
		SELECT site, id, post, parent, status, created, doc::jsonb, training::jsonb
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[])
			AS n(site, id, post, parent, status, created, doc, training)
		ON CONFLICT (site, id) DO UPDATE SET post = excluded.post, parent = excluded.parent, status = excluded.status,
			created = excluded.created, doc = excluded.doc, training = excluded.training
		-- A comment stored as it comes is left alone: copying again writes nothing.
		WHERE (comments.doc, comments.training) IS DISTINCT FROM (excluded.doc, excluded.training)
	)
	SELECT site, post, status FROM old`

// restoreComments writes a run of comments with their training, without
// counting it in the model: the model's own records carry the counts. The
// approved count of each post moves by what the run changed.
func restoreComments(ctx context.Context, tx pgx.Tx, recs []*moderation.Record, counts *commentWrites) error {
	// One statement may write a row once: a comment given twice in a run
	// is written as its last record says.
	last := make(map[[2]string]int, len(recs))
	for i, r := range recs {
		last[[2]string{r.Site, r.Key}] = i
	}
	n := len(last)
	sites, ids, posts, statuses := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	parents, training := make([]*string, 0, n), make([]*string, 0, n)
	created, docs := make([]time.Time, 0, n), make([]string, 0, n)
	for i, r := range recs {
		if last[[2]string{r.Site, r.Key}] != i {
			continue
		}
		c, err := moderation.DecodeComment(r)
		if err != nil {
			return fmt.Errorf("restore comment %q of site %q: %w", r.Key, r.Site, err)
		}
		var parent, trained *string
		if c.Parent != "" {
			parent = &c.Parent
		}
		if c.Trained != nil {
			t := jsonDoc(c.Trained)
			trained = &t
		}
		sites, ids, posts, statuses = append(sites, c.Site), append(ids, c.ID), append(posts, c.Post), append(statuses, string(c.Status))
		parents, training, created, docs = append(parents, parent), append(training, trained), append(created, c.Created), append(docs, jsonDoc(c))
		counts.counted(c.Site, c.Post, c.Status, +1)
	}
	rows, err := tx.Query(ctx, restoreCommentRows, sites, ids, posts, parents, statuses, created, docs, training)
	if err != nil {
		return err
	}
	var site, post, status string
	_, err = pgx.ForEachRow(rows, []any{&site, &post, &status}, func() error {
		counts.counted(site, post, moderation.Status(status), -1)
		return nil
	})
	return err
}

// restoreImportRows upserts a run of import keys (one per imported
// comment: as many as a migrated blog has comments); a key given twice
// takes its last record, as written one by one.
const restoreImportRows = `INSERT INTO imported (site, key, comment)
	SELECT DISTINCT ON (site, key) site, key, comment
	FROM unnest($1::text[], $2::bytea[], $3::text[]) WITH ORDINALITY AS n(site, key, comment, i)
	ORDER BY site, key, i DESC
	ON CONFLICT (site, key) DO UPDATE SET comment = excluded.comment WHERE imported.comment <> excluded.comment`

func restoreImportKeys(ctx context.Context, tx pgx.Tx, recs []*moderation.Record) error {
	n := len(recs)
	sites, keys, ids := make([]string, n), make([][]byte, n), make([]string, n)
	for i, r := range recs {
		key, id, err := moderation.DecodeImported(r)
		if err != nil {
			return err
		}
		sites[i], keys[i], ids[i] = r.Site, key, id
	}
	_, err := tx.Exec(ctx, restoreImportRows, sites, keys, ids)
	return err
}

// restoreFeatureRows upserts a run of one site's (or several sites')
// feature counts; a bucket of zeros is removed, as bbolt keeps none.
const restoreFeatureRows = `WITH n AS (
		SELECT DISTINCT ON (site, feature) site, feature, ham, spam
		FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS n(site, feature, ham, spam, i)
		ORDER BY site, feature, i DESC -- a bucket given twice: the last record wins, as one by one
	), zero AS (
		DELETE FROM classifier_features f USING n WHERE f.site = n.site AND f.feature = n.feature AND n.ham = 0 AND n.spam = 0
	)
	INSERT INTO classifier_features (site, feature, ham, spam) SELECT * FROM n WHERE ham <> 0 OR spam <> 0
	ON CONFLICT (site, feature) DO UPDATE SET ham = excluded.ham, spam = excluded.spam
	WHERE (classifier_features.ham, classifier_features.spam) IS DISTINCT FROM (excluded.ham, excluded.spam)`

func restoreFeatures(ctx context.Context, tx pgx.Tx, recs []*moderation.Record) error {
	n := len(recs)
	sites, features, hams, spams := make([]string, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, r := range recs {
		h, f, err := moderation.DecodeFeature(r)
		if err != nil {
			return err
		}
		sites[i], features[i], hams[i], spams[i] = r.Site, int64(h), int64(f.Ham), int64(f.Spam)
	}
	_, err := tx.Exec(ctx, restoreFeatureRows, sites, features, hams, spams)
	return err
}

// counted moves the counters of a comment restored into status (delta
// +1) or out of it (-1): its post's approved count. (The status counts
// follow the rows by a trigger; commenters' counts and the model are
// records of their own.)
func (w *commentWrites) counted(site, post string, status moderation.Status, delta int64) {
	if status == moderation.StatusApproved {
		w.approved[postKey{site, post}] += delta
	}
}

// moveSequences moves each serial past the numbers a restore wrote, so that
// an entry appended later never takes a restored one's place.
func moveSequences(ctx context.Context, tx pgx.Tx, recs []*moderation.Record) error {
	tables := map[moderation.RecordKind]string{
		moderation.KindAudit: "audit", moderation.KindChange: "outbox_changes", moderation.KindDelivery: "outbox_deliveries",
	}
	done := map[string]bool{}
	for _, r := range recs {
		table := tables[r.Kind]
		if table == "" || done[table] {
			continue
		}
		done[table] = true
		// setval is not undone by a rollback: at worst it leaves a gap.
		_, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'seq'), m) FROM (SELECT max(seq) AS m FROM `+table+`) x
			WHERE m >= (SELECT last_value FROM `+table+`_seq_seq)`, table)
		if err != nil {
			return err
		}
	}
	return nil
}
