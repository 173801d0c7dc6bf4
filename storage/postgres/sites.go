package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"parley/moderation"
)

// Sites implements moderation.SiteStore.
func (db *DB) Sites(ctx context.Context) ([]*moderation.Site, error) {
	rows, err := db.pool.Query(ctx, "SELECT doc FROM sites ORDER BY id")
	if err != nil {
		return nil, mapError(err)
	}
	sites, err := pgx.CollectRows(rows, decodeRow[moderation.Site])
	return sites, mapError(err)
}

// Site implements moderation.SiteStore.
func (db *DB) Site(ctx context.Context, id string) (*moderation.Site, error) {
	rows, err := db.pool.Query(ctx, "SELECT doc FROM sites WHERE id = $1", id)
	if err != nil {
		return nil, mapError(err)
	}
	s, err := pgx.CollectExactlyOneRow(rows, decodeRow[moderation.Site])
	if err != nil {
		return nil, fmt.Errorf("site %q: %w", id, mapError(err))
	}
	return s, nil
}

// SiteByOrigin implements moderation.SiteStore.
func (db *DB) SiteByOrigin(ctx context.Context, origin string) (*moderation.Site, error) {
	rows, err := db.pool.Query(ctx,
		"SELECT s.doc FROM site_origins o JOIN sites s ON s.id = o.site WHERE o.origin = $1", origin)
	if err != nil {
		return nil, mapError(err)
	}
	s, err := pgx.CollectExactlyOneRow(rows, decodeRow[moderation.Site])
	if err != nil {
		return nil, fmt.Errorf("origin %q: %w", origin, mapError(err))
	}
	return s, nil
}

// PutSite implements moderation.SiteStore. The origins' primary key is what
// keeps two sites from claiming one origin, whichever process asks.
func (db *DB) PutSite(ctx context.Context, site *moderation.Site, create bool, entry *moderation.AuditEntry) error {
	doc, err := json.Marshal(site)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		var res pgconn.CommandTag
		if create {
			res, err = tx.Exec(ctx, "INSERT INTO sites (id, created, doc) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING", site.ID, site.Created, doc)
		} else {
			res, err = tx.Exec(ctx, "UPDATE sites SET doc = $2 WHERE id = $1", site.ID, doc)
		}
		switch {
		case err != nil:
			return err
		case res.RowsAffected() == 0 && create:
			return fmt.Errorf("site %q: %w", site.ID, moderation.ErrConflict)
		case res.RowsAffected() == 0:
			return fmt.Errorf("site %q: %w", site.ID, moderation.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM site_origins WHERE site = $1 AND NOT origin = ANY($2)", site.ID, site.Origins); err != nil {
			return err
		}
		// The insert waits for any concurrent claim of the same origin and
		// returns only the origins that are now this site's: fewer than
		// asked means another site holds one.
		rows, err := tx.Query(ctx, `
			INSERT INTO site_origins (origin, site) SELECT DISTINCT unnest($2::text[]), $1
			ON CONFLICT (origin) DO UPDATE SET site = excluded.site WHERE site_origins.site = excluded.site
			RETURNING origin`, site.ID, site.Origins)
		if err != nil {
			return err
		}
		claimed, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if taken := missing(site.Origins, claimed); taken != "" {
			var owner string
			if err := tx.QueryRow(ctx, "SELECT site FROM site_origins WHERE origin = $1", taken).Scan(&owner); err != nil {
				return err
			}
			return fmt.Errorf("origin %s belongs to site %s: %w", taken, owner, moderation.ErrOriginTaken)
		}
		if entry == nil {
			return nil
		}
		return appendAudit(ctx, tx, entry)
	})
}

// DeleteSite implements moderation.SiteStore. Everything of the site goes
// with its row (ON DELETE CASCADE); the instance's audit log keeps entry.
func (db *DB) DeleteSite(ctx context.Context, id string, withComments bool, entry *moderation.AuditEntry) error {
	if id == moderation.DefaultSite {
		return moderation.ErrForbidden
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		var hasComments bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM comments WHERE site = s.id) FROM sites s WHERE s.id = $1 FOR UPDATE`, id).Scan(&hasComments)
		if err != nil {
			return fmt.Errorf("site %q: %w", id, mapError(err))
		}
		if hasComments && !withComments {
			return moderation.ErrSiteInUse
		}
		if _, err := tx.Exec(ctx, "DELETE FROM sites WHERE id = $1", id); err != nil {
			return err
		}
		return appendAudit(ctx, tx, entry)
	})
}

// missing returns the first of want that is not in got, or "".
func missing(want, got []string) string {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return w
		}
	}
	return ""
}

// decodeRow reads a row of one JSONB document into a T.
func decodeRow[T any](row pgx.CollectableRow) (*T, error) {
	var doc []byte
	if err := row.Scan(&doc); err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(doc, v); err != nil {
		return nil, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, nil
}
