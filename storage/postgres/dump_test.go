package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/moderation"
	"parley/storage/bolt"
	"parley/storage/storetest"
)

// boltSource is a bbolt database holding every kind of record.
func boltSource(t *testing.T) *bolt.DB {
	t.Helper()
	b, err := bolt.Open(filepath.Join(t.TempDir(), "source.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	storetest.FillEveryKind(t, b)
	return b
}

// records is everything a store dumps, one line each.
func records(t *testing.T, s moderation.DumpStore) []string {
	t.Helper()
	var out []string
	err := s.Dump(context.Background(), func(r *moderation.Record) error {
		out = append(out, string(r.Kind)+" "+r.Site+" "+r.Key+" "+string(r.Value))
		return nil
	})
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	return out
}

func sameDump(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("%s: record %d\n got %s\nwant %s", what, i, got[i], want[i])
		}
	}
}

func copyInto(t *testing.T, dst moderation.DumpStore, src moderation.DumpStore) {
	t.Helper()
	if _, err := moderation.Copy(context.Background(), dst, src.Dump, nil); err != nil {
		t.Fatalf("copy: %v", err)
	}
}

// TestDumpRestoreAcrossBackends: bbolt's records restored into PostgreSQL
// dump to the same bytes, again after a second restore, and back in a new
// bbolt file; PostgreSQL's backup file holds the same records.
func TestDumpRestoreAcrossBackends(t *testing.T) {
	src := boltSource(t)
	want := records(t, src)
	pg, _ := open(t)
	copyInto(t, pg, src)
	sameDump(t, "bbolt into PostgreSQL", records(t, pg), want)
	copyInto(t, pg, src)
	sameDump(t, "restored twice", records(t, pg), want)

	back, err := bolt.Open(filepath.Join(t.TempDir(), "back.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	copyInto(t, back, pg)
	sameDump(t, "PostgreSQL into bbolt", records(t, back), want)
	if err := back.Check(context.Background()); err != nil {
		t.Errorf("bbolt's indexes after a copy from PostgreSQL: %v", err)
	}

	var file bytes.Buffer
	size := int64(0)
	n, err := pg.Backup(context.Background(), &file, func(s int64) { size = s })
	if err != nil || n != int64(file.Len()) || size != -1 {
		t.Fatalf("backup: %d bytes (buffer %d), started(%d), %v", n, file.Len(), size, err)
	}
	if !strings.HasPrefix(file.String(), moderation.DumpFormat+"\n") {
		t.Fatalf("the backup does not start with the dump format: %.80q", file.String())
	}
	var fromFile []string
	err = moderation.ReadDump(context.Background(), &file, func(r *moderation.Record) error {
		fromFile = append(fromFile, string(r.Kind)+" "+r.Site+" "+r.Key+" "+string(r.Value))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sameDump(t, "the backup file", fromFile, want)
}

// TestPostCountsRecountedOnRestore: the approved counts are an index that a
// restore rebuilds, also when a comment moves off a post.
func TestPostCountsRecountedOnRestore(t *testing.T) {
	pg, _ := open(t)
	copyInto(t, pg, boltSource(t))
	var recs []*moderation.Record
	_ = pg.Dump(context.Background(), func(r *moderation.Record) error {
		if r.Kind == moderation.KindComment && r.Site == moderation.DefaultSite {
			recs = append(recs, r)
		}
		return nil
	})
	var moved []*moderation.Record
	for _, r := range recs {
		c, err := moderation.DecodeComment(r)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == moderation.StatusApproved && c.Post == "/old" {
			c.Post = "/elsewhere"
			c.Parent, c.Depth = "", 0
			raw, _ := json.Marshal(c)
			r, err := moderation.NewCommentRecord(c.Site, c.ID, raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			moved = append(moved, r)
		}
	}
	if len(moved) == 0 {
		t.Fatal("no approved comment on /old to move")
	}
	if err := pg.Restore(context.Background(), moved); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	rows, err := pg.pool.Query(context.Background(), "SELECT post, approved FROM post_counts WHERE site = $1", moderation.DefaultSite)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var post string
		var n int
		if err := rows.Scan(&post, &n); err != nil {
			t.Fatal(err)
		}
		counts[post] = n
	}
	if counts["/old"] != 0 || counts["/elsewhere"] != len(moved) || counts["/hello"] != 1 {
		t.Errorf("approved counts after moving %d comments: %v", len(moved), counts)
	}
}

// TestExportMatchesBolt: the same comments export to the same bytes and in
// the same order from both backends, for every kind of query.
func TestExportMatchesBolt(t *testing.T) {
	src := boltSource(t)
	pg, _ := open(t)
	copyInto(t, pg, src)
	ctx := context.Background()
	since := time.Date(2026, 12, 1, 10, 0, 6, 0, time.UTC)
	for _, q := range []moderation.ExportQuery{
		{Site: moderation.DefaultSite},
		{Site: "blog"},
		{Site: moderation.DefaultSite, ByPost: true},
		{Site: moderation.DefaultSite, Status: moderation.StatusApproved},
		{Site: moderation.DefaultSite, Status: moderation.StatusDeleted},
		{Site: moderation.DefaultSite, Post: "/hello"},
		{Site: moderation.DefaultSite, Since: since},
		{Site: moderation.DefaultSite, Since: since, ByPost: true, Status: moderation.StatusPending},
	} {
		walk := func(s interface {
			ExportComments(context.Context, moderation.ExportQuery, func(*moderation.Comment) error) error
			ExportJSON(context.Context, moderation.ExportQuery, func([]byte) error) error
		}) (string, string) {
			var comments, raw strings.Builder
			err := s.ExportComments(ctx, q, func(c *moderation.Comment) error {
				b, _ := json.Marshal(c)
				comments.Write(append(b, '\n'))
				return nil
			})
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			if err := s.ExportJSON(ctx, q, func(b []byte) error { raw.Write(append(b, '\n')); return nil }); err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			return comments.String(), raw.String()
		}
		wantComments, wantJSON := walk(src)
		gotComments, gotJSON := walk(pg)
		if wantComments == "" {
			t.Errorf("%+v selects nothing: a useless case", q)
		}
		if gotComments != wantComments {
			t.Errorf("ExportComments %+v:\n got %s\nwant %s", q, gotComments, wantComments)
		}
		if !q.ByPost && gotJSON != wantJSON {
			t.Errorf("ExportJSON %+v:\n got %s\nwant %s", q, gotJSON, wantJSON)
		}
	}
	err := pg.ExportComments(ctx, moderation.ExportQuery{Site: "nosuch"}, func(*moderation.Comment) error { return nil })
	if !strings.Contains(err.Error(), moderation.ErrNotFound.Message) {
		t.Errorf("export of a missing site: %v", err)
	}
	stop := moderation.ErrForbidden
	if err := pg.ExportJSON(ctx, moderation.ExportQuery{Site: "blog"}, func([]byte) error { return stop }); err != stop {
		t.Errorf("fn's error came back as %v", err)
	}
}

// TestDumpIsOneSnapshot: what another connection commits while a dump or
// an export walks is not in it.
func TestDumpIsOneSnapshot(t *testing.T) {
	pg, dsn := open(t)
	copyInto(t, pg, boltSource(t))
	other, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	mod, _ := moderation.NewRecord(moderation.KindModerator, "", "late", &moderation.Moderator{Name: "late", Role: moderation.RoleModerator})
	saw := false
	first := true
	err = pg.Dump(context.Background(), func(r *moderation.Record) error {
		if first {
			first = false
			if err := other.Restore(context.Background(), []*moderation.Record{mod}); err != nil {
				return err
			}
		}
		saw = saw || (r.Kind == moderation.KindModerator && r.Key == "late")
		return nil
	})
	if err != nil || saw {
		t.Errorf("dump saw a moderator committed after it began: %v, %v", saw, err)
	}
	if got := records(t, pg); !strings.Contains(strings.Join(got, "\n"), "moderator  late ") {
		t.Error("the moderator committed during the dump is not in the next one")
	}

	var c *moderation.Comment
	n := 0
	err = pg.ExportComments(context.Background(), moderation.ExportQuery{Site: "blog"}, func(x *moderation.Comment) error {
		if n++; n == 1 {
			c = &moderation.Comment{ID: moderation.NewID(time.Now()), Site: "blog", Post: "/late", Status: moderation.StatusApproved,
				Created: time.Now(), Updated: time.Now(), History: []moderation.Change{}}
			raw, _ := json.Marshal(c)
			r, _ := moderation.NewCommentRecord("blog", c.ID, raw, nil)
			return other.Restore(context.Background(), []*moderation.Record{r})
		}
		if x.ID == c.ID {
			t.Error("the export saw a comment committed after it began")
		}
		return nil
	})
	if err != nil || n < 2 {
		t.Errorf("export: %d comments, %v", n, err)
	}
}
