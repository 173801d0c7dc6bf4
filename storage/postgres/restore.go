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
// leaves one copy. Afterwards the approved counts of the posts touched move
// by what changed and the sequences move past the numbers restored.
func (db *DB) Restore(ctx context.Context, recs []*moderation.Record) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		counts := map[[2]string]int{} // (site, post) → how its approved count moves
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
		if err := recount(ctx, tx, counts); err != nil {
			return err
		}
		return moveSequences(ctx, tx, recs)
	})
}

// restoreRun writes records of one kind.
func restoreRun(ctx context.Context, tx pgx.Tx, recs []*moderation.Record, counts map[[2]string]int) error {
	switch recs[0].Kind {
	case moderation.KindComment:
		return restoreComments(ctx, tx, recs, counts)
	case moderation.KindFeature:
		return restoreFeatures(ctx, tx, recs)
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
	restoreImported   = `INSERT INTO imported (site, key, comment) VALUES ($1, $2, $3)
		ON CONFLICT (site, key) DO UPDATE SET comment = excluded.comment`
	restoreAudit = `INSERT INTO audit (seq, site, doc) VALUES ($1, $2, $3)
		ON CONFLICT (site, seq) DO UPDATE SET doc = excluded.doc`
	restoreModerator = `INSERT INTO moderators (name, folded, doc) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET folded = excluded.folded, doc = excluded.doc`
	restoreTokenID   = `DELETE FROM tokens WHERE id = $2 AND hash <> $1`
	restoreToken     = `INSERT INTO tokens (hash, id, site, doc) VALUES ($1, $2, $3, $4)
		ON CONFLICT (hash) DO UPDATE SET id = excluded.id, site = excluded.site, doc = excluded.doc`
	restoreSession = `INSERT INTO sessions (id, moderator, created, last_seen, doc) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET moderator = excluded.moderator, created = excluded.created,
		last_seen = excluded.last_seen, doc = excluded.doc`
	restoreCommenter = `INSERT INTO commenters (email, approved, doc) VALUES ($1, $2, $3)
		ON CONFLICT (email) DO UPDATE SET approved = excluded.approved, doc = excluded.doc`
	restoreClaim  = `INSERT INTO claims (key, until_ns) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET until_ns = excluded.until_ns`
	restoreLink   = `INSERT INTO used_links (nonce, expires) VALUES ($1, $2) ON CONFLICT (nonce) DO UPDATE SET expires = excluded.expires`
	restoreChange = `INSERT INTO outbox_changes (seq, doc) VALUES ($1, $2) ON CONFLICT (seq) DO UPDATE SET doc = excluded.doc`
	restoreOutbox = `INSERT INTO outbox_deliveries (seq, grp, due, status, doc) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (seq) DO UPDATE SET grp = excluded.grp, due = excluded.due, status = excluded.status, doc = excluded.doc`
)

// queueRecord queues the statements that restore one record.
func queueRecord(b *pgx.Batch, r *moderation.Record) error {
	switch r.Kind {
	case moderation.KindSecret:
		var secret []byte
		if err := json.Unmarshal(r.Value, &secret); err != nil || r.Key == "" {
			return &moderation.ValidationError{Fields: map[string]string{"record": "a secret must be a name and base64 bytes"}}
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
	case moderation.KindImported:
		key, err := moderation.RecordBytes(r)
		if err != nil {
			return err
		}
		var id string
		if err := json.Unmarshal(r.Value, &id); err != nil || id == "" {
			return &moderation.ValidationError{Fields: map[string]string{"record": "an import key must name a comment ID"}}
		}
		b.Queue(restoreImported, r.Site, key, id)
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
		b.Queue(restoreClaim, r.Key, moderation.ClaimTime(t.Until).UnixNano())
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
		status := "pending"
		if d.Failed() {
			status = "failed"
		}
		b.Queue(restoreOutbox, int64(d.Seq), d.Group, d.Due, status, jsonDoc(d))
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
	)
	SELECT site, post, status FROM old`

// restoreComments writes a run of comments with their training, without
// counting it in the model: the model's own records carry the counts. The
// approved count of each post moves by what the run changed.
func restoreComments(ctx context.Context, tx pgx.Tx, recs []*moderation.Record, counts map[[2]string]int) error {
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
		if c.Status == moderation.StatusApproved {
			counts[[2]string{c.Site, c.Post}]++
		}
	}
	rows, err := tx.Query(ctx, restoreCommentRows, sites, ids, posts, parents, statuses, created, docs, training)
	if err != nil {
		return err
	}
	var site, post, status string
	_, err = pgx.ForEachRow(rows, []any{&site, &post, &status}, func() error {
		if status == string(moderation.StatusApproved) {
			counts[[2]string{site, post}]--
		}
		return nil
	})
	return err
}

// restoreFeatureRows upserts a run of one site's (or several sites')
// feature counts; a bucket of zeros is removed, as bbolt keeps none.
const restoreFeatureRows = `WITH n AS (
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS n(site, feature, ham, spam)
	), zero AS (
		DELETE FROM classifier_features f USING n WHERE f.site = n.site AND f.feature = n.feature AND n.ham = 0 AND n.spam = 0
	)
	INSERT INTO classifier_features (site, feature, ham, spam) SELECT * FROM n WHERE ham <> 0 OR spam <> 0
	ON CONFLICT (site, feature) DO UPDATE SET ham = excluded.ham, spam = excluded.spam`

func restoreFeatures(ctx context.Context, tx pgx.Tx, recs []*moderation.Record) error {
	n := len(recs)
	sites, features, hams, spams := make([]string, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, r := range recs {
		h, err := moderation.RecordSeq(r)
		if err != nil {
			return err
		}
		f, err := moderation.DecodeRecord[moderation.FeatureRecord](r)
		if err != nil {
			return err
		}
		sites[i], features[i], hams[i], spams[i] = r.Site, int64(h), int64(f.Ham), int64(f.Spam)
	}
	_, err := tx.Exec(ctx, restoreFeatureRows, sites, features, hams, spams)
	return err
}

// countPosts moves the approved count of each (site, post) by its delta;
// a count that reaches zero goes, as bbolt keeps none. The counts are an
// index of the comments: a restore keeps them, it does not restore them.
const countPosts = `WITH d AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) AS d(site, post, delta)
	), up AS (
		UPDATE post_counts pc SET approved = pc.approved + d.delta FROM d WHERE pc.site = d.site AND pc.post = d.post
	)
	INSERT INTO post_counts (site, post, approved) SELECT site, post, delta FROM d
	WHERE delta > 0 AND NOT EXISTS (SELECT 1 FROM post_counts pc WHERE pc.site = d.site AND pc.post = d.post)`

const dropZeroCounts = `DELETE FROM post_counts pc USING unnest($1::text[], $2::text[]) AS d(site, post)
	WHERE pc.site = d.site AND pc.post = d.post AND pc.approved = 0`

func recount(ctx context.Context, tx pgx.Tx, counts map[[2]string]int) error {
	var sites, posts []string
	var deltas []int64
	for k, d := range counts {
		if d != 0 {
			sites, posts, deltas = append(sites, k[0]), append(posts, k[1]), append(deltas, int64(d))
		}
	}
	if len(sites) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, countPosts, sites, posts, deltas); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, dropZeroCounts, sites, posts)
	return err
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
