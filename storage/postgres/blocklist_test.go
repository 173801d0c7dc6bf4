package postgres

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"parley/moderation"
)

func TestBlocklist(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	withSite(t, db, "blog")
	withSite(t, db, "other")
	if _, err := db.Blocklist(ctx, "nope"); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("Blocklist of a missing site = %v, want ErrNotFound", err)
	}
	if b, err := db.Blocklist(ctx, "blog"); err != nil || !reflect.DeepEqual(b, moderation.Blocklist{}) {
		t.Errorf("Blocklist never saved = %+v, %v; want empty", b, err)
	}
	entry := &moderation.AuditEntry{At: accountsT0, Actor: "admin", Action: "blocklist add"}
	err := db.UpdateBlocklist(ctx, "blog", func(b *moderation.Blocklist) error {
		b.Words = append(b.Words, "casino")
		b.Networks = append(b.Networks, "203.0.113.0/24")
		return nil
	}, entry)
	if err != nil {
		t.Fatal(err)
	}
	want := moderation.Blocklist{Words: []string{"casino"}, Networks: []string{"203.0.113.0/24"}}
	if b, err := db.Blocklist(ctx, "blog"); err != nil || !reflect.DeepEqual(b, want) {
		t.Errorf("Blocklist = %+v, %v; want %+v", b, err, want)
	}
	if b, _ := db.Blocklist(ctx, "other"); !reflect.DeepEqual(b, moderation.Blocklist{}) {
		t.Errorf("another site's blocklist changed: %+v", b)
	}
	if got := auditRows(t, db, "blog"); len(got) != 1 || got[0].Action != "blocklist add" || got[0].Site != "blog" || entry.Seq != got[0].Seq {
		t.Errorf("audit = %+v (entry %+v)", got, entry)
	}

	// A refusal writes nothing: no row made for the site, no audit entry.
	refuse := &moderation.ValidationError{Fields: map[string]string{"words": "bad"}}
	err = db.UpdateBlocklist(ctx, "other", func(b *moderation.Blocklist) error { b.Words = []string{"x"}; return refuse },
		&moderation.AuditEntry{Action: "never"})
	if err != refuse {
		t.Errorf("change's own error = %v, want it as is", err)
	}
	var rows int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM blocklists WHERE site = 'other'").Scan(&rows); err != nil || rows != 0 {
		t.Errorf("a refused change left %d rows (%v)", rows, err)
	}
	if got := auditRows(t, db, "other"); len(got) != 0 {
		t.Errorf("a refused change recorded %+v", got)
	}
	called := false
	err = db.UpdateBlocklist(ctx, "nope", func(*moderation.Blocklist) error { called = true; return nil }, &moderation.AuditEntry{Action: "x"})
	if !errors.Is(err, moderation.ErrNotFound) || called {
		t.Errorf("UpdateBlocklist of a missing site = %v (change called: %v), want ErrNotFound", err, called)
	}
}

// Owners adding words at once through two instances, the site's first
// blocklist included, keep every word.
func TestBlocklistUpdatesLoseNothing(t *testing.T) {
	dbs := instances(t, 2)
	ctx := context.Background()
	withSite(t, dbs[0], "blog")
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- dbs[i%2].UpdateBlocklist(ctx, "blog", func(b *moderation.Blocklist) error {
				b.Words = append(b.Words, fmt.Sprintf("word%02d", i))
				return nil
			}, &moderation.AuditEntry{At: accountsT0, Actor: "admin", Action: "blocklist add"})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := dbs[1].Blocklist(ctx, "blog")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(b.Words)
	if len(b.Words) != n || len(slices.Compact(b.Words)) != n {
		t.Errorf("%d words kept of %d: %q", len(b.Words), n, b.Words)
	}
	if got := len(auditRows(t, dbs[0], "blog")); got != n {
		t.Errorf("%d audit entries, want %d", got, n)
	}
}
