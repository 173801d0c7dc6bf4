package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// Deleting a site deletes everything of it, and nothing of the instance.
func TestSchemaDeletingASiteCascades(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	err := db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO sites (id, created, doc) VALUES ('blog', now(), '{}'), ('other', now(), '{}');
			INSERT INTO site_origins VALUES ('https://blog.example', 'blog');
			INSERT INTO comments (site, id, post, status, created, doc) VALUES ('blog', 'c1', '/p', 'approved', now(), '{}');
			INSERT INTO post_counts VALUES ('blog', '/p', 1);
			INSERT INTO classifier_models (site) VALUES ('blog');
			INSERT INTO classifier_features VALUES ('blog', 4294967295, 1, 0);
			INSERT INTO blocklists VALUES ('blog', '{}');
			INSERT INTO imported VALUES ('blog', '\x00', 'c1');
			INSERT INTO audit (site, doc) VALUES ('blog', '{}'), ('', '{}'), ('other', '{}');
		`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, "DELETE FROM sites WHERE id = 'blog'"); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{
		"site_origins": 0, "comments": 0, "post_counts": 0, "classifier_models": 0,
		"classifier_features": 0, "blocklists": 0, "imported": 0, "audit": 2,
	} {
		var n int
		if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s has %d rows after deleting the site, want %d", table, n, want)
		}
	}
}

// One origin belongs to one site; a site's rows need the site.
func TestSchemaConstraints(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	exec := func(sql string) error {
		return db.tx(ctx, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, sql); return err })
	}
	if err := exec(`INSERT INTO sites (id, created, doc) VALUES ('a', now(), '{}'), ('b', now(), '{}');
		INSERT INTO site_origins VALUES ('https://a.example', 'a')`); err != nil {
		t.Fatal(err)
	}
	if err := exec(`INSERT INTO site_origins VALUES ('https://a.example', 'b')`); !errors.Is(err, moderation.ErrConflict) {
		t.Errorf("one origin for two sites: %v, want ErrConflict", err)
	}
	if err := exec(`INSERT INTO comments (site, id, post, status, created, doc) VALUES ('nowhere', 'c', '/p', 'pending', now(), '{}')`); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("a comment of a site that does not exist: %v, want ErrNotFound", err)
	}
	if err := exec(`INSERT INTO tokens (hash, id, doc) VALUES ('h1', 't', '{}'); INSERT INTO tokens (hash, id, doc) VALUES ('h2', 't', '{}')`); !errors.Is(err, moderation.ErrConflict) {
		t.Errorf("two tokens with one ID: %v, want ErrConflict", err)
	}
}
