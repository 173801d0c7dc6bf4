package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"parley/moderation"
)

// A fresh database holds the default site, as a new bbolt file does.
func TestDefaultSiteExists(t *testing.T) {
	db, _ := open(t)
	var doc []byte
	if err := db.pool.QueryRow(context.Background(), "SELECT doc FROM sites WHERE id = $1", moderation.DefaultSite).Scan(&doc); err != nil {
		t.Fatal(err)
	}
	var s moderation.Site
	if err := json.Unmarshal(doc, &s); err != nil {
		t.Fatal(err)
	}
	if s.ID != moderation.DefaultSite || s.Name != "Default" || s.Origins == nil || len(s.Origins) != 0 || s.Created.IsZero() {
		t.Errorf("default site = %+v", s)
	}
}

// Entries are numbered as written, kept per site, read newest first and
// paged by sequence number; a missing site is ErrNotFound.
func TestAuditLog(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	var written []moderation.AuditEntry
	err := db.tx(ctx, func(tx pgx.Tx) error {
		written = nil
		for i, site := range []string{"default", "", "default", "default"} {
			e := &moderation.AuditEntry{Site: site, At: at.Add(time.Duration(i) * time.Second), Actor: "ada", Action: "approve", Comment: "c"}
			if err := appendAudit(ctx, tx, e); err != nil {
				return err
			}
			written = append(written, *e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(written); i++ {
		if written[i].Seq <= written[i-1].Seq {
			t.Fatalf("sequence numbers %d then %d", written[i-1].Seq, written[i].Seq)
		}
	}
	got, err := db.AuditLog(ctx, "default", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != written[3] || got[1] != written[2] {
		t.Fatalf("newest two = %+v, want %+v and %+v", got, written[3], written[2])
	}
	got, err = db.AuditLog(ctx, "default", 10, got[1].Seq)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != written[0] {
		t.Fatalf("next page = %+v, want %+v", got, written[0])
	}
	got, err = db.AuditLog(ctx, "", 10, 0)
	if err != nil || len(got) != 1 || got[0] != written[1] {
		t.Fatalf("instance log = %+v, %v", got, err)
	}
	if _, err := db.AuditLog(ctx, "nowhere", 10, 0); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("log of a missing site: %v, want ErrNotFound", err)
	}
	err = db.tx(ctx, func(tx pgx.Tx) error {
		return appendAudit(ctx, tx, &moderation.AuditEntry{Site: "nowhere", At: at, Actor: "ada", Action: "x"})
	})
	if !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("entry for a missing site: %v, want ErrNotFound", err)
	}
}
