package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// CreateSession implements moderation.AdminStore; an ID that exists is
// ErrConflict.
func (db *DB) CreateSession(ctx context.Context, s *moderation.Session) error {
	doc, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return db.execOne(ctx, "session", "INSERT INTO sessions (id, moderator, created, last_seen, doc) VALUES ($1, $2, $3, $4, $5)",
		s.ID, s.Moderator, s.Created, s.LastSeen, doc)
}

// Session implements moderation.AdminStore.
func (db *DB) Session(ctx context.Context, id string) (*moderation.Session, error) {
	var s moderation.Session
	if err := mapError(db.pool.QueryRow(ctx, "SELECT doc FROM sessions WHERE id = $1", id).Scan(&s)); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return &s, nil
}

// TouchSession implements moderation.AdminStore in one statement, the
// column and the document together.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	field, err := json.Marshal(at)
	if err != nil {
		return err
	}
	return db.execOne(ctx, "session", "UPDATE sessions SET last_seen = $2, doc = jsonb_set(doc, '{last_seen}', $3) WHERE id = $1",
		id, at, field)
}

// DeleteSessions implements moderation.AdminStore. Sessions are few (one per
// signed-in browser), so match sees them all; only those it picks are then
// locked and asked again, so a session touched meanwhile is judged as it is
// now, and signing in (which purges expired sessions) never waits on the
// sessions in use.
func (db *DB) DeleteSessions(ctx context.Context, match func(*moderation.Session) bool) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		picked, err := matchSessions(ctx, tx, "SELECT id, doc FROM sessions", nil, match)
		if err != nil || len(picked) == 0 {
			return err
		}
		doomed, err := matchSessions(ctx, tx, "SELECT id, doc FROM sessions WHERE id = ANY($1) ORDER BY id FOR UPDATE", picked, match)
		if err != nil || len(doomed) == 0 {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM sessions WHERE id = ANY($1)", doomed)
		return err
	})
}

// matchSessions returns the IDs of the sessions query finds (with ids as
// its argument when not nil) that match.
func matchSessions(ctx context.Context, tx pgx.Tx, query string, ids []string, match func(*moderation.Session) bool) ([]string, error) {
	var args []any
	if ids != nil {
		args = append(args, ids)
	}
	rows, _ := tx.Query(ctx, query, args...)
	var out []string
	var id string
	var raw []byte
	_, err := pgx.ForEachRow(rows, []any{&id, &raw}, func() error {
		var s moderation.Session
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("session: %w", err)
		}
		if match(&s) {
			out = append(out, id)
		}
		return nil
	})
	return out, err
}
