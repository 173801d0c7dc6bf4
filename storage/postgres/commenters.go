package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// Commenter returns what is known of an address; an unknown one is a zero
// record. The approved count comes from its column, which comment writes
// move without rewriting the document.
func (db *DB) Commenter(ctx context.Context, email string) (*moderation.Commenter, error) {
	var approved int64
	var doc []byte
	err := db.pool.QueryRow(ctx, "SELECT approved, doc FROM commenters WHERE email = $1", moderation.EmailKey(email)).
		Scan(&approved, &doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return &moderation.Commenter{}, nil
	}
	if err != nil {
		return nil, mapError(err)
	}
	return decodeCommenter(approved, doc)
}

func decodeCommenter(approved int64, doc []byte) (*moderation.Commenter, error) {
	var c moderation.Commenter
	if err := json.Unmarshal(doc, &c); err != nil {
		// The address is personal data: the error names the table only.
		return nil, fmt.Errorf("a commenters row: %w", err)
	}
	c.Approved = int(approved)
	return &c, nil
}

// UpdateCommenter changes an address's record and queues the deliveries fn
// returns, in one transaction. The row is locked while fn runs, so two
// requests for one address (two verification requests at once) take turns
// and see each other's change.
func (db *DB) UpdateCommenter(ctx context.Context, email string, fn func(c *moderation.Commenter) ([]*moderation.Delivery, error)) error {
	key := moderation.EmailKey(email)
	return db.tx(ctx, func(tx pgx.Tx) error {
		var c *moderation.Commenter
		b := &pgx.Batch{}
		// A new address gets an empty row first, so that there is always a
		// row to lock: of two first requests, the second waits here.
		b.Queue(`INSERT INTO commenters (email, doc) VALUES ($1, '{"approved":0}') ON CONFLICT (email) DO NOTHING`, key)
		b.Queue("SELECT approved, doc FROM commenters WHERE email = $1 FOR UPDATE", key).QueryRow(func(row pgx.Row) error {
			var approved int64
			var doc []byte
			if err := row.Scan(&approved, &doc); err != nil {
				return err
			}
			var err error
			c, err = decodeCommenter(approved, doc)
			return err
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		ds, err := fn(c)
		if err != nil {
			return err
		}
		doc, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE commenters SET approved = $2, doc = $3 WHERE email = $1", key, c.Approved, string(doc)); err != nil {
			return err
		}
		return enqueue(ctx, tx, ds)
	})
}

// UseLink records a used single-use link until it expires; ErrConflict if
// it was used already. The primary key decides between instances using one
// link at once: exactly one insert succeeds.
func (db *DB) UseLink(ctx context.Context, nonce string, expires time.Time) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO used_links (nonce, expires) VALUES ($1, $2)", nonce, expires.Truncate(time.Second))
	if err != nil {
		return fmt.Errorf("link: %w", mapError(err))
	}
	return nil
}

// LinkUsed reports whether a single-use link was used.
func (db *DB) LinkUsed(ctx context.Context, nonce string) (bool, error) {
	var used bool
	err := db.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM used_links WHERE nonce = $1)", nonce).Scan(&used)
	return used, mapError(err)
}
