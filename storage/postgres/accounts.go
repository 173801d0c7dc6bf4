package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// CreateModerator implements moderation.AccountStore. The unique folded
// name makes a second "Admin" beside "admin" ErrConflict, whichever
// instance adds it.
func (db *DB) CreateModerator(ctx context.Context, m *moderation.Moderator) error {
	doc, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return db.execOne(ctx, fmt.Sprintf("moderator %q", m.Name), "INSERT INTO moderators (name, folded, doc) VALUES ($1, $2, $3)",
		m.Name, moderation.FoldName(m.Name), doc)
}

// Moderator implements moderation.AccountStore. A typed name finds the
// moderator it folds to, as in bbolt: the exact name folds the same way.
func (db *DB) Moderator(ctx context.Context, name string) (*moderation.Moderator, error) {
	var m moderation.Moderator
	err := db.pool.QueryRow(ctx, "SELECT doc FROM moderators WHERE folded = $1", moderation.FoldName(name)).Scan(&m)
	if err = mapError(err); err != nil {
		return nil, fmt.Errorf("moderator %q: %w", name, err)
	}
	return &m, nil
}

// Moderators implements moderation.AccountStore, in bbolt's key order (the
// names' bytes).
func (db *DB) Moderators(ctx context.Context) ([]*moderation.Moderator, error) {
	rows, _ := db.pool.Query(ctx, `SELECT doc FROM moderators ORDER BY name COLLATE "C"`)
	out, err := pgx.CollectRows(rows, pgx.RowToAddrOf[moderation.Moderator])
	if err = mapError(err); err != nil {
		return nil, fmt.Errorf("moderators: %w", err)
	}
	return out, nil
}

// UpdateModerator implements moderation.CommenterStore: the row stays
// locked from read to write, so a concurrent EditModerator (a role change,
// a new password) is neither lost nor undone.
func (db *DB) UpdateModerator(ctx context.Context, name string, fn func(m *moderation.Moderator) error) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		var key string
		var m moderation.Moderator
		err := tx.QueryRow(ctx, "SELECT name, doc FROM moderators WHERE folded = $1 FOR UPDATE",
			moderation.FoldName(name)).Scan(&key, &m)
		if err != nil {
			return fmt.Errorf("moderator %q: %w", name, err)
		}
		if err := fn(&m); err != nil {
			return err
		}
		batch := &pgx.Batch{}
		if err := queueSaveModerator(batch, key, &m); err != nil {
			return err
		}
		return tx.SendBatch(ctx, batch).Close()
	})
}

// EditModerator implements moderation.AdminStore. It locks every moderator
// (in one order, so that two edits queue rather than deadlock): rules such
// as "at least one owner" read them all, and two edits that each keep one
// owner must not together remove both.
func (db *DB) EditModerator(ctx context.Context, name string,
	edit func(m *moderation.Moderator, all []*moderation.Moderator) (bool, *moderation.AuditEntry, error)) error {
	want := moderation.FoldName(name)
	return db.tx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT name, folded, doc FROM moderators ORDER BY name COLLATE "C" FOR UPDATE`)
		var all []*moderation.Moderator
		var m *moderation.Moderator
		var found, key, folded string
		var raw []byte
		_, err := pgx.ForEachRow(rows, []any{&key, &folded, &raw}, func() error {
			var x moderation.Moderator
			if err := json.Unmarshal(raw, &x); err != nil {
				return fmt.Errorf("moderator %q: %w", key, err)
			}
			all = append(all, &x)
			if folded == want {
				m, found = &x, key
			}
			return nil
		})
		if err != nil {
			return err
		}
		if m == nil {
			return fmt.Errorf("moderator %q: %w", name, moderation.ErrNotFound)
		}
		remove, entry, err := edit(m, all)
		if err != nil {
			return err
		}
		batch := &pgx.Batch{}
		if remove {
			// Its sessions end with it, in the same transaction: no instance
			// can sign a removed moderator in after the commit.
			batch.Queue(`WITH ended AS (DELETE FROM sessions WHERE moderator = $1)
				DELETE FROM moderators WHERE name = $1`, found)
		} else if err := queueSaveModerator(batch, found, m); err != nil {
			return err
		}
		if entry != nil {
			if err := queueAudit(batch, entry); err != nil {
				return err
			}
		}
		return tx.SendBatch(ctx, batch).Close()
	})
}

// queueSaveModerator writes m under the name it was found by; like bbolt,
// the key does not follow an edit of m.Name.
func queueSaveModerator(b *pgx.Batch, key string, m *moderation.Moderator) error {
	doc, err := json.Marshal(m)
	if err != nil {
		return err
	}
	b.Queue("UPDATE moderators SET doc = $2 WHERE name = $1", key, doc)
	return nil
}

// RecordAudit implements moderation.AdminStore.
func (db *DB) RecordAudit(ctx context.Context, e *moderation.AuditEntry) error {
	return mapError(appendAudit(ctx, db.pool, e))
}

// CreateToken implements moderation.AccountStore. A hash or ID that exists
// is ErrConflict (both are 256 random bits in practice).
func (db *DB) CreateToken(ctx context.Context, t *moderation.Token) error {
	doc, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return db.execOne(ctx, fmt.Sprintf("token %q", t.ID), "INSERT INTO tokens (hash, id, site, doc) VALUES ($1, $2, $3, $4)", t.Hash, t.ID, t.Site, doc)
}

// TokenByHash implements moderation.AccountStore.
func (db *DB) TokenByHash(ctx context.Context, hash string) (*moderation.Token, error) {
	var t moderation.Token
	if err := mapError(db.pool.QueryRow(ctx, "SELECT doc FROM tokens WHERE hash = $1", hash).Scan(&t)); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	return &t, nil
}

// TouchToken implements moderation.AccountStore in one statement: the last
// use is set inside the document, so concurrent uses need no read first.
func (db *DB) TouchToken(ctx context.Context, hash string, at time.Time) error {
	field, err := json.Marshal(at)
	if err != nil {
		return err
	}
	sql := "UPDATE tokens SET doc = jsonb_set(doc, '{last_used}', $2) WHERE hash = $1"
	args := []any{hash, field}
	if at.IsZero() { // omitted from the document, as encoding/json's omitzero does
		sql, args = "UPDATE tokens SET doc = doc - 'last_used' WHERE hash = $1", args[:1]
	}
	return db.execOne(ctx, "token", sql, args...)
}

// Tokens implements moderation.AccountStore, by ID as bbolt lists them.
func (db *DB) Tokens(ctx context.Context) ([]*moderation.Token, error) {
	rows, _ := db.pool.Query(ctx, `SELECT doc FROM tokens ORDER BY id COLLATE "C"`)
	out, err := pgx.CollectRows(rows, pgx.RowToAddrOf[moderation.Token])
	if err = mapError(err); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return out, nil
}

// DeleteToken implements moderation.AccountStore.
func (db *DB) DeleteToken(ctx context.Context, id string) error {
	return db.execOne(ctx, fmt.Sprintf("token %q", id), "DELETE FROM tokens WHERE id = $1", id)
}

// execOne runs a statement that must write one row: none is ErrNotFound,
// and errors are mapped and named by what.
func (db *DB) execOne(ctx context.Context, what, sql string, args ...any) error {
	tag, err := db.pool.Exec(ctx, sql, args...)
	if err = mapError(err); err == nil && tag.RowsAffected() == 0 {
		err = moderation.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
