package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"parley/moderation"
)

// exported is what an export walk gives, by ID.
func exported(t *testing.T, s moderation.Store, q moderation.ExportQuery) []*moderation.Comment {
	t.Helper()
	var out []*moderation.Comment
	if err := s.ExportComments(t.Context(), q, func(c *moderation.Comment) error {
		out = append(out, c)
		return nil
	}); err != nil {
		t.Fatalf("export %+v: %v", q, err)
	}
	return out
}

func testTransfer(t *testing.T, open Opener) {
	t.Run("export", func(t *testing.T) {
		s := open(t)
		addSite(t, s, "b")
		// Posts in the order of their first comment: /z, then /a.
		z1 := create(t, s, comment(def, "/z", at(1)))
		a1 := create(t, s, comment(def, "/a", at(2)))
		z2 := create(t, s, replyTo(z1, at(3)))
		a2 := create(t, s, comment(def, "/a", at(4)))
		create(t, s, comment("b", "/z", at(5)))
		move(t, s, def, moderation.StatusApproved, at(10), z1.ID, z2.ID)
		move(t, s, def, moderation.StatusSpam, at(20), a2.ID)
		if err := s.DeleteComments(t.Context(), def, []string{z1.ID}, tombstone(at(30))); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			q    moderation.ExportQuery
			want []string
		}{
			{moderation.ExportQuery{Site: def}, []string{z1.ID, a1.ID, z2.ID, a2.ID}},
			{moderation.ExportQuery{Site: def, ByPost: true}, []string{z1.ID, z2.ID, a1.ID, a2.ID}},
			{moderation.ExportQuery{Site: def, Status: moderation.StatusApproved}, []string{z2.ID}},
			{moderation.ExportQuery{Site: def, Status: moderation.StatusDeleted}, []string{z1.ID}},
			{moderation.ExportQuery{Site: def, Post: "/a"}, []string{a1.ID, a2.ID}},
			{moderation.ExportQuery{Site: def, Post: "/a", Status: moderation.StatusPending}, []string{a1.ID}},
			{moderation.ExportQuery{Site: def, Since: at(20)}, []string{z1.ID, a2.ID}},
			{moderation.ExportQuery{Site: def, Since: at(20), ByPost: true, Status: moderation.StatusSpam}, []string{a2.ID}},
		} {
			got := exported(t, s, c.q)
			if !same(ids(got), c.want) {
				t.Errorf("export %+v:\n got %v\nwant %v", c.q, ids(got), c.want)
			}
			var raw []string
			err := s.ExportJSON(t.Context(), c.q, func(b []byte) error {
				var x moderation.Comment
				if err := json.Unmarshal(b, &x); err != nil {
					return err
				}
				raw = append(raw, x.ID)
				if want := get(t, s, def, x.ID); !sameComment(&x, want) {
					t.Errorf("exported JSON of %s: %s", x.ID, b)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if c.q.ByPost {
				continue // ExportJSON ignores it
			}
			if !same(raw, c.want) {
				t.Errorf("export JSON %+v: %v, want %v", c.q, raw, c.want)
			}
		}
		// The walk gives whole comments, private fields included.
		if got := exported(t, s, moderation.ExportQuery{Site: def, Post: "/a"}); !sameComment(got[0], a1) {
			t.Errorf("an exported comment:\n got %+v\nwant %+v", got[0], a1)
		}
		if got := exported(t, s, moderation.ExportQuery{Site: "b"}); len(got) != 1 || got[0].Site != "b" {
			t.Errorf("b's export: %v", ids(got))
		}
		stop := errors.New("client went away")
		n := 0
		err := s.ExportComments(t.Context(), moderation.ExportQuery{Site: def}, func(*moderation.Comment) error {
			n++
			return stop
		})
		if err != stop || n != 1 {
			t.Errorf("a failing fn: %v after %d comments, want its error after one", err, n)
		}
		n = 0
		if err := s.ExportJSON(t.Context(), moderation.ExportQuery{Site: def}, func([]byte) error { n++; return stop }); err != stop || n != 1 {
			t.Errorf("a failing JSON fn: %v after %d comments", err, n)
		}
	})

	t.Run("export is a snapshot", func(t *testing.T) {
		s := open(t)
		for i := range 5 {
			create(t, s, comment(def, "/p", at(i)))
		}
		var seen []string
		late := comment(def, "/p", at(100))
		err := s.ExportComments(t.Context(), moderation.ExportQuery{Site: def}, func(c *moderation.Comment) error {
			if len(seen) == 0 {
				// A writer carries on while the walk reads.
				done := make(chan error)
				go func() { done <- s.CreateComment(t.Context(), late, noParent) }()
				if err := <-done; err != nil {
					return err
				}
			}
			seen = append(seen, c.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != 5 {
			t.Errorf("the walk saw %d comments, want the 5 there when it began", len(seen))
		}
		if got := exported(t, s, moderation.ExportQuery{Site: def}); len(got) != 6 {
			t.Errorf("a later walk sees %d", len(got))
		}
	})

	t.Run("import", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		addSite(t, s, "b")
		stored := create(t, s, comment(def, "/p", at(1)))
		item := func(key string, c *moderation.Comment) *moderation.ImportItem {
			it := &moderation.ImportItem{Comment: c, Key: []byte(key)}
			it.Attach = func(parent *moderation.Comment) error {
				if parent.Post != c.Post {
					return &moderation.ValidationError{Fields: map[string]string{"parent": "is a comment on another post"}}
				}
				c.Depth = parent.Depth + 1
				return nil
			}
			return it
		}
		old := func(post string, n int, status moderation.Status) *moderation.Comment {
			c := comment("elsewhere", post, at(n)) // the store puts it on the site it imports to
			c.Status, c.Updated = status, at(n+1)
			c.History = []moderation.Change{{Status: status, At: at(n + 1), By: "wordpress"}}
			return c
		}
		root := old("/p", 10, moderation.StatusApproved)
		root.Trained = &moderation.Training{Class: "ham", Features: []uint32{5}}
		reply := old("/p", 11, moderation.StatusApproved)
		byParent := old("/p", 12, moderation.StatusPending)
		byParent.Parent = stored.ID
		orphan := old("/p", 13, moderation.StatusApproved)
		refusedC := old("/other", 14, moderation.StatusApproved)
		dupID := old("/p", 15, moderation.StatusApproved)
		dupID.ID = stored.ID
		items := []*moderation.ImportItem{
			item("wp:1", root),
			item("wp:2", reply),
			item("wp:3", byParent),
			item("wp:4", orphan),
			item("wp:5", refusedC),
			item("wp:6", dupID),
			item("wp:1", old("/p", 16, moderation.StatusApproved)), // the same key again
		}
		items[1].ParentKey = []byte("wp:1") // earlier in the same batch
		items[3].ParentKey = []byte("wp:404")
		items[4].ParentKey = []byte("wp:1")
		if err := s.ImportComments(ctx, def, items); err != nil {
			t.Fatal(err)
		}
		want := []moderation.ImportOutcome{moderation.ImportCreated, moderation.ImportCreated, moderation.ImportCreated,
			moderation.ImportOrphan, moderation.ImportRefused, moderation.ImportDuplicate, moderation.ImportDuplicate}
		for i, it := range items {
			if it.Outcome != want[i] {
				t.Errorf("item %d (%s): outcome %d, want %d", i, it.Key, it.Outcome, want[i])
			}
		}
		if items[4].Refusal == nil {
			t.Error("a refused item carries no Refusal")
		}
		for _, c := range []*moderation.Comment{orphan, refusedC} {
			_, err := s.Comment(ctx, def, c.ID)
			wantErr(t, err, moderation.ErrNotFound, "an item not imported")
		}
		if got := get(t, s, def, stored.ID); !sameComment(got, stored) {
			t.Errorf("a duplicate ID overwrote the stored comment: %+v", got)
		}
		if got := get(t, s, def, reply.ID); got.Parent != root.ID || got.Depth != 1 || got.Site != def || !sameComment(got, reply) {
			t.Errorf("an imported reply: %+v", got)
		}
		// Imports are indexed as any comment: thread, counts, queue, model.
		if th := thread(t, s, def, "/p"); !same(ids(th), []string{root.ID, reply.ID}) {
			t.Errorf("thread after the import: %v", ids(th))
		}
		if n := counts(t, s, def, "/p")["/p"]; n != 2 {
			t.Errorf("count after the import: %d", n)
		}
		if got := list(t, s, def, moderation.StatusPending); !same(ids(got), []string{stored.ID, byParent.ID}) {
			t.Errorf("queue after the import: %v", ids(got))
		}
		if m := readModel(t, s, def); m.ham != 1 || m.counts[5] != [2]uint32{1, 0} {
			t.Errorf("model after importing a trained comment: %+v", m)
		}

		// The same file again creates nothing; the orphan finds its
		// parent once that is imported.
		again := []*moderation.ImportItem{item("wp:404", old("/p", 20, moderation.StatusApproved)), item("wp:4", orphan), item("wp:1", root)}
		again[1].ParentKey = []byte("wp:404")
		orphan.Site = "elsewhere"
		if err := s.ImportComments(ctx, def, again); err != nil {
			t.Fatal(err)
		}
		if again[0].Outcome != moderation.ImportCreated || again[1].Outcome != moderation.ImportCreated || again[2].Outcome != moderation.ImportDuplicate {
			t.Errorf("second import: %d %d %d", again[0].Outcome, again[1].Outcome, again[2].Outcome)
		}
		// Keys belong to the site they were imported to.
		other := item("wp:1", old("/p", 30, moderation.StatusApproved))
		if err := s.ImportComments(ctx, "b", []*moderation.ImportItem{other}); err != nil || other.Outcome != moderation.ImportCreated {
			t.Errorf("wp:1 on site b: %d, %v", other.Outcome, err)
		}
		if n := counts(t, s, "b", "/p")["/p"]; n != 1 {
			t.Errorf("b's count after its import: %d", n)
		}

		// An import into no site stores nothing and says so.
		lost := item("wp:9", old("/p", 40, moderation.StatusApproved))
		wantErr(t, s.ImportComments(ctx, "nosuch", []*moderation.ImportItem{lost}), moderation.ErrNotFound, "an import into an unknown site")
		_, err := s.Comment(ctx, def, lost.Comment.ID)
		wantErr(t, err, moderation.ErrNotFound, "a comment of a failed import")
	})

	t.Run("backup", func(t *testing.T) {
		s := open(t)
		for i := range 20 {
			create(t, s, comment(def, "/p", at(i)))
		}
		var buf bytes.Buffer
		var size int64 = -2
		calls := 0
		n, err := s.Backup(t.Context(), &buf, func(sz int64) { size, calls = sz, calls+1 })
		if err != nil {
			t.Fatal(err)
		}
		// The size is known before writing (bbolt's file) or -1 (a dump).
		if n <= 0 || n != int64(buf.Len()) || calls != 1 || (size != n && size != -1) {
			t.Errorf("backup wrote %d bytes (reported %d), started called %d times with %d", buf.Len(), n, calls, size)
		}
		if bytes.HasPrefix(buf.Bytes(), []byte(moderation.DumpFormat)) {
			comments := 0
			err := moderation.ReadDump(t.Context(), &buf, func(r *moderation.Record) error {
				if r.Kind == moderation.KindComment {
					comments++
				}
				return nil
			})
			if err != nil || comments != 20 {
				t.Errorf("the dump file holds %d comments, %v", comments, err)
			}
		}
		t.Logf("a backup of 20 comments: %d bytes (started said %d)", n, size)
	})
}
