package postgres

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// Dump implements moderation.DumpStore from one snapshot (REPEATABLE READ,
// read only), one streamed query per table, in bbolt's order: text keys
// sort in the "C" collation (bytes), as bbolt's keys do. Documents are
// decoded into the domain types and encoded again, since JSONB does not
// keep a document's bytes: both backends then dump a database to the same
// records. Counters kept in columns (a commenter's approved count, a
// record's sequence number) are read from the column, the truth under
// concurrent writers.
func (db *DB) Dump(ctx context.Context, fn func(*moderation.Record) error) error {
	d := &pgDumper{ctx: ctx, fn: fn}
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		d.tx = tx
		return d.all()
	})
	if d.fnErr != nil {
		return d.fnErr
	}
	return err
}

type pgDumper struct {
	ctx   context.Context
	tx    pgx.Tx
	fn    func(*moderation.Record) error
	fnErr error // fn's own error, returned as is
}

func (d *pgDumper) emit(r *moderation.Record, err error) error {
	if err != nil {
		return err
	}
	if d.fnErr = d.fn(r); d.fnErr != nil {
		return d.fnErr
	}
	return nil
}

// each runs query and emits the record that row makes of each row.
func (d *pgDumper) each(query string, args []any, row func(rows pgx.Rows) (*moderation.Record, error)) error {
	rows, err := d.tx.Query(d.ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := d.emit(row(rows)); err != nil {
			return err
		}
	}
	return rows.Err()
}

// docs emits a table of key and document as kind, the document re-encoded
// as T. With fix, the query has a third column, a number that the column
// keeps rather than the document (a sequence, a counter), and fix sets it.
func docs[T any](d *pgDumper, kind moderation.RecordKind, site, query string, args []any, fix func(v *T, n int64)) error {
	return d.each(query, args, func(rows pgx.Rows) (*moderation.Record, error) {
		var key string
		var doc []byte
		var n int64
		dest := []any{&key, &doc}
		if fix != nil {
			dest = append(dest, &n)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		v := new(T)
		if err := json.Unmarshal(doc, v); err != nil {
			return nil, fmt.Errorf("dump %s %s: %w", kind, key, err)
		}
		if fix != nil {
			fix(v, n)
		}
		return moderation.NewRecord(kind, site, key, v)
	})
}

func (d *pgDumper) all() error {
	err := d.each(`SELECT name, value FROM secrets ORDER BY name COLLATE "C"`, nil, func(rows pgx.Rows) (*moderation.Record, error) {
		var name string
		var value []byte
		if err := rows.Scan(&name, &value); err != nil {
			return nil, err
		}
		return moderation.NewRecord(moderation.KindSecret, "", name, value)
	})
	if err != nil {
		return err
	}
	rows, err := d.tx.Query(d.ctx, `SELECT id FROM sites ORDER BY id COLLATE "C"`)
	if err != nil {
		return err
	}
	sites, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	err = docs[moderation.Site](d, moderation.KindSite, "", `SELECT id, doc FROM sites ORDER BY id COLLATE "C"`, nil, nil)
	if err != nil {
		return err
	}
	for _, site := range sites {
		if err := d.site(site); err != nil {
			return err
		}
	}
	steps := []func() error{
		func() error { return d.audit("") },
		func() error {
			return docs[moderation.Moderator](d, moderation.KindModerator, "", `SELECT name, doc FROM moderators ORDER BY name COLLATE "C"`, nil, nil)
		},
		func() error {
			return docs[moderation.Token](d, moderation.KindToken, "", `SELECT hash, doc FROM tokens ORDER BY hash COLLATE "C"`, nil, nil)
		},
		func() error {
			return docs[moderation.Session](d, moderation.KindSession, "", `SELECT id, doc FROM sessions ORDER BY id COLLATE "C"`, nil, nil)
		},
		func() error {
			return docs(d, moderation.KindCommenter, "", `SELECT email, doc, approved FROM commenters ORDER BY email COLLATE "C"`, nil,
				func(c *moderation.Commenter, n int64) { c.Approved = int(n) })
		},
		func() error {
			return d.each(`SELECT key, until_ns FROM claims ORDER BY key COLLATE "C"`, nil, func(rows pgx.Rows) (*moderation.Record, error) {
				var key string
				var ns int64
				if err := rows.Scan(&key, &ns); err != nil {
					return nil, err
				}
				return moderation.NewRecord(moderation.KindClaim, "", key, moderation.TimeRecord{Until: time.Unix(0, ns).UTC()})
			})
		},
		func() error {
			return d.links()
		},
		func() error {
			return docs(d, moderation.KindChange, "", `SELECT seq::text AS key, doc, seq FROM outbox_changes ORDER BY seq`, nil,
				func(t *moderation.Transition, n int64) { t.Seq = uint64(n) })
		},
		func() error {
			return docs(d, moderation.KindDelivery, "", `SELECT seq::text AS key, doc, seq FROM outbox_deliveries ORDER BY seq`, nil,
				func(x *moderation.Delivery, n int64) { x.Seq = uint64(n) })
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// links emits the used single-use links.
func (d *pgDumper) links() error {
	return d.each(`SELECT nonce, expires FROM used_links ORDER BY nonce COLLATE "C"`, nil, func(rows pgx.Rows) (*moderation.Record, error) {
		var key string
		var t time.Time
		if err := rows.Scan(&key, &t); err != nil {
			return nil, err
		}
		return moderation.NewRecord(moderation.KindLink, "", key, moderation.TimeRecord{Until: moderation.LinkTime(t)})
	})
}

// audit emits an audit log: the instance's (site "") or a site's.
func (d *pgDumper) audit(site string) error {
	return docs(d, moderation.KindAudit, site, `SELECT seq::text AS key, doc, seq FROM audit WHERE site = $1 ORDER BY seq`, []any{site},
		func(e *moderation.AuditEntry, n int64) { e.Seq, e.Site = uint64(n), site })
}

// site emits everything of one site, in bbolt's order.
func (d *pgDumper) site(site string) error {
	args := []any{site}
	err := docs[moderation.Blocklist](d, moderation.KindBlocklist, site, `SELECT '', doc FROM blocklists WHERE site = $1`, args, nil)
	if err != nil {
		return err
	}
	var m moderation.ModelRecord
	var version *int64
	var ham, spam int64
	err = d.tx.QueryRow(d.ctx, `SELECT version, ham, spam FROM classifier_models WHERE site = $1`, site).Scan(&version, &ham, &spam)
	switch {
	case err == pgx.ErrNoRows:
	case err != nil:
		return err
	default:
		if version != nil {
			m.Version = int(*version)
		}
		m.Ham, m.Spam = int(ham), int(spam)
	}
	if err := d.emit(moderation.NewRecord(moderation.KindModel, site, "", m)); err != nil {
		return err
	}
	// A bucket whose counts fell to zero may stay as a row; bbolt keeps none.
	err = d.each(`SELECT feature, ham, spam FROM classifier_features WHERE site = $1 AND (ham <> 0 OR spam <> 0) ORDER BY feature`, args, func(rows pgx.Rows) (*moderation.Record, error) {
		var h, ham, spam int64
		if err := rows.Scan(&h, &ham, &spam); err != nil {
			return nil, err
		}
		return moderation.NewRecord(moderation.KindFeature, site, strconv.FormatInt(h, 10), moderation.FeatureRecord{Ham: uint32(ham), Spam: uint32(spam)})
	})
	if err != nil {
		return err
	}
	if err := d.comments(site); err != nil {
		return err
	}
	err = d.each(`SELECT key, comment FROM imported WHERE site = $1 ORDER BY key`, args, func(rows pgx.Rows) (*moderation.Record, error) {
		var key []byte
		var id string
		if err := rows.Scan(&key, &id); err != nil {
			return nil, err
		}
		return moderation.NewRecord(moderation.KindImported, site, hex.EncodeToString(key), id)
	})
	if err != nil {
		return err
	}
	return d.audit(site)
}

// dumpComments reads a site's comments in ID order with their training, and
// whether each must wait for a parent that sorts after it.
const dumpComments = `SELECT c.id, c.doc, c.training,
	c.parent COLLATE "C" > c.id COLLATE "C" AND EXISTS (SELECT 1 FROM comments p WHERE p.site = c.site AND p.id = c.parent)
	FROM comments c WHERE c.site = $1 ORDER BY c.id COLLATE "C"`

// comments emits a site's comments in ID order, holding back a reply whose
// ID sorts before its parent's until the parent is out (as bbolt does).
func (d *pgDumper) comments(site string) error {
	waiting := map[string][]*moderation.Record{}
	var out func(id string, r *moderation.Record) error
	out = func(id string, r *moderation.Record) error {
		if err := d.emit(r, nil); err != nil {
			return err
		}
		children := waiting[id]
		delete(waiting, id)
		for _, child := range children {
			if err := out(child.Key, child); err != nil {
				return err
			}
		}
		return nil
	}
	rows, err := d.tx.Query(d.ctx, dumpComments, site)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var doc, training []byte
		var wait *bool
		if err := rows.Scan(&id, &doc, &training, &wait); err != nil {
			return err
		}
		r, parent, err := commentRecord(site, id, doc, training)
		if err != nil {
			return err
		}
		if wait != nil && *wait {
			waiting[parent] = append(waiting[parent], r)
			continue
		}
		if err := out(id, r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// commentRecord re-encodes a stored comment and its training as bbolt
// stores them, and returns its parent's ID.
func commentRecord(site, id string, doc, training []byte) (*moderation.Record, string, error) {
	var c moderation.Comment
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, "", fmt.Errorf("dump comment %s: %w", id, err)
	}
	raw, err := json.Marshal(&c)
	if err != nil {
		return nil, "", err
	}
	var trained []byte
	if training != nil {
		var t moderation.Training
		if err := json.Unmarshal(training, &t); err != nil {
			return nil, "", fmt.Errorf("dump training of comment %s: %w", id, err)
		}
		if trained, err = json.Marshal(&t); err != nil {
			return nil, "", err
		}
	}
	r, err := moderation.NewCommentRecord(site, id, raw, trained)
	return r, c.Parent, err
}
