package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	"parley/moderation"
)

// testDump holds Dump and Restore to the contract: a database restored into
// a fresh store dumps to the same records, every kind included, answers
// every read the same, and restoring again changes nothing.
func testDump(t *testing.T, open Opener) {
	t.Run("round trip of every kind", func(t *testing.T) {
		src := open(t)
		FillEveryKind(t, src)
		want := dumpAll(t, src)
		kinds := map[moderation.RecordKind]bool{}
		for _, r := range want {
			kinds[r.Kind] = true
		}
		for _, k := range moderation.RecordKinds {
			if !kinds[k] {
				t.Errorf("the dump holds no %s record", k)
			}
		}
		checkDumpOrder(t, want)

		dst := open(t)
		for round := 1; round <= 2; round++ {
			n, err := moderation.Copy(t.Context(), dst, src.Dump, nil)
			if err != nil || n.Records != len(want) {
				t.Fatalf("copy %d: %d records, %v; want %d", round, n.Records, err, len(want))
			}
			if got := dumpAll(t, dst); !sameRecords(got, want) {
				t.Errorf("copy %d dumps otherwise than its source:\n%s", round, diffRecords(got, want))
			}
			sameReads(t, dst, src)
		}

		// What is written after a restore is numbered after what was restored.
		e := &moderation.AuditEntry{Site: def, At: at(100), Actor: "ada", Action: "export"}
		if err := dst.RecordAudit(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		if last := audit(t, src, def)[0]; e.Seq <= last.Seq {
			t.Errorf("an audit entry after restore got seq %d, not after the restored %d", e.Seq, last.Seq)
		}
		c := create(t, dst, comment(def, "/after", at(101)))
		changes, err := dst.Changes(t.Context(), 1000)
		if err != nil || len(changes) == 0 || changes[len(changes)-1].Comment != c.ID {
			t.Fatalf("changes after restore: %+v, %v", changes, err)
		}
		for _, ch := range changes[:len(changes)-1] {
			if ch.Seq >= changes[len(changes)-1].Seq {
				t.Errorf("a change after restore got seq %d, not after the restored %d", changes[len(changes)-1].Seq, ch.Seq)
			}
		}
	})

	t.Run("restore replaces", func(t *testing.T) {
		s := open(t)
		c := create(t, s, comment(def, "/p", at(1)))
		move(t, s, def, moderation.StatusApproved, at(2), c.ID)
		recs := dumpAll(t, s)
		move(t, s, def, moderation.StatusSpam, at(3), c.ID)
		if err := s.Restore(t.Context(), recs); err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, def, c.ID); got.Status != moderation.StatusApproved {
			t.Errorf("restored comment is %s", got.Status)
		}
		if got := counts(t, s, def, "/p"); got["/p"] != 1 {
			t.Errorf("approved count after restore = %d", got["/p"])
		}
		if got := list(t, s, def, moderation.StatusSpam); len(got) != 0 {
			t.Errorf("the spam queue still lists %v", ids(got))
		}
	})

	t.Run("a record given twice in one restore", func(t *testing.T) {
		s := open(t)
		c := comment(def, "/p", at(1))
		c.Status = moderation.StatusApproved
		first, err := moderation.NewCommentRecord(def, c.ID, mustJSON(t, c), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Status = moderation.StatusSpam
		second, err := moderation.NewCommentRecord(def, c.ID, mustJSON(t, c), []byte(`{"class":"spam","features":[3]}`))
		if err != nil {
			t.Fatal(err)
		}
		feature := func(spam uint32) *moderation.Record {
			r, _ := moderation.NewRecord(moderation.KindFeature, def, "3", moderation.FeatureRecord{Spam: spam})
			return r
		}
		key := func(id string) *moderation.Record {
			r, _ := moderation.NewRecord(moderation.KindImported, def, "abcd", id)
			return r
		}
		recs := []*moderation.Record{first, second, feature(1), feature(2), key("x"), key(c.ID)}
		if err := s.Restore(t.Context(), recs); err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, def, c.ID); got.Status != moderation.StatusSpam {
			t.Errorf("the comment is %s, want the last record's spam", got.Status)
		}
		if n := counts(t, s, def, "/p")["/p"]; n != 0 {
			t.Errorf("approved count = %d, want 0", n)
		}
		if got := list(t, s, def, moderation.StatusSpam); !same(ids(got), []string{c.ID}) {
			t.Errorf("spam = %v", ids(got))
		}
		if m := readModel(t, s, def); m.counts[3] != [2]uint32{0, 2} {
			t.Errorf("feature 3 = %v, want the last record's (0, 2)", m.counts[3])
		}
		var gotKey string
		for _, r := range dumpAll(t, s) {
			if r.Kind == moderation.KindImported {
				gotKey = string(r.Value)
			}
		}
		if gotKey != `"`+c.ID+`"` {
			t.Errorf("import key names %s, want the last record's %s", gotKey, c.ID)
		}
	})

	t.Run("bad records write nothing", func(t *testing.T) {
		s := open(t)
		before := dumpAll(t, s)
		c := comment("nowhere", "/p", at(1))
		rec, err := moderation.NewCommentRecord("nowhere", c.ID, mustJSON(t, c), nil)
		if err != nil {
			t.Fatal(err)
		}
		site := addSiteRecord(t, "blog")
		wantErr(t, s.Restore(t.Context(), []*moderation.Record{site, rec}), moderation.ErrNotFound, "a comment of a missing site")
		mod, _ := moderation.NewRecord(moderation.KindModerator, "", "grace", &moderation.Moderator{Name: "ada", Role: moderation.RoleOwner})
		err = s.Restore(t.Context(), []*moderation.Record{site, mod})
		var ve *moderation.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("a moderator under another's name: %v, want a ValidationError", err)
		}
		unknown := &moderation.Record{Kind: "gadget", Site: def, Key: "x", Value: []byte(`{}`)}
		if err := s.Restore(t.Context(), []*moderation.Record{site, unknown}); !errors.As(err, &ve) {
			t.Errorf("an unknown kind: %v, want a ValidationError", err)
		}
		if after := dumpAll(t, s); !sameRecords(after, before) {
			t.Errorf("a failed restore wrote something:\n%s", diffRecords(after, before))
		}
	})
}

// FillEveryKind writes at least one record of every kind, the way the
// service does, on two sites (the default and "blog"): tests of copying
// between databases start from it.
func FillEveryKind(t *testing.T, s moderation.Store) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.Secret(ctx, "ip-hash", 32); err != nil {
		t.Fatal(err)
	}
	addSite(t, s, "blog", "https://blog.example", "https://www.blog.example")
	err := s.UpdateBlocklist(ctx, "blog", func(b *moderation.Blocklist) error {
		b.Words, b.Emails, b.Networks = []string{"casino"}, []string{"spam@example.com"}, []string{"203.0.113.0/24"}
		return nil
	}, &moderation.AuditEntry{At: at(1), Actor: "ada", Action: "blocklist.add"})
	if err != nil {
		t.Fatal(err)
	}
	for _, site := range []string{def, "blog"} {
		root := comment(site, "/hello", at(2))
		root.Trained = &moderation.Training{Class: "ham", Features: []uint32{1, 7, 4_000_000_000}}
		root.NotifyReplies = true
		create(t, s, root)
		reply := create(t, s, replyTo(root, at(3)))
		spam := comment(site, "/hello", at(4))
		spam.Trained = &moderation.Training{Class: "spam", Features: []uint32{7, 9}}
		create(t, s, spam)
		gone := comment(site, "/bye", at(5))
		gone.Trained = &moderation.Training{Class: "ham", Features: []uint32{11}}
		create(t, s, gone)
		move(t, s, site, moderation.StatusApproved, at(6), root.ID, reply.ID, gone.ID)
		move(t, s, site, moderation.StatusSpam, at(7), spam.ID)
		lone := create(t, s, comment(site, "/bye", at(8)))
		// A tombstone with replies stays; one without goes, its lessons kept.
		if err := s.DeleteComments(ctx, site, []string{root.ID, gone.ID}, tombstone(at(9))); err != nil {
			t.Fatal(err)
		}
		_ = lone
		imported := comment(site, "/old", at(-100))
		imported.Status = moderation.StatusApproved
		// An imported reply may be older than its parent (clocks of another
		// system): its ID sorts first, and the dump must still put it after.
		early := replyTo(imported, at(-200))
		items := []*moderation.ImportItem{
			{Comment: imported, Key: []byte{0xde, 0xad, byte(len(site))}},
			{Comment: early, Key: []byte{0xbe, 0xef, byte(len(site))}, Attach: attachTo(early)},
		}
		if err := s.ImportComments(ctx, site, items); err != nil || items[0].Outcome != moderation.ImportCreated || items[1].Outcome != moderation.ImportCreated {
			t.Fatalf("import on %s: %v, outcomes %d %d", site, err, items[0].Outcome, items[1].Outcome)
		}
	}
	if err := s.RebuildModel(ctx, "blog", 3, func(c *moderation.Comment) *moderation.Training {
		if c.Status == moderation.StatusSpam {
			return &moderation.Training{Class: "spam", Features: []uint32{5}}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	claimed := comment(def, "/claims", at(10))
	claims := []moderation.Claim{{Key: "form:00ff", Until: at(70).Add(123456789), Taken: func(*moderation.Comment) error { return nil }}}
	if err := s.CreateCommentClaiming(ctx, claimed, claims, noParent); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateModerator(ctx, &moderation.Moderator{Name: "ada", Role: moderation.RoleOwner, PasswordHash: []byte("$2a$10$hash"), Created: at(0)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateModerator(ctx, &moderation.Moderator{Name: "grace", Role: moderation.RoleModerator, Created: at(0),
		Sites: map[string]moderation.SiteRole{"blog": moderation.SiteModerator}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, &moderation.Token{ID: "tok1", Name: "ci", Role: moderation.RoleModerator, Site: "blog", Hash: "ab12", Created: at(1), LastUsed: at(2)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, &moderation.Session{ID: "sess1", Moderator: "ada", CSRF: "csrf", Created: at(1), LastSeen: at(2), From: "ff00"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAudit(ctx, &moderation.AuditEntry{At: at(11), Actor: "ada", Action: "backup"}); err != nil {
		t.Fatal(err)
	}
	err = s.UpdateCommenter(ctx, "Ada@Example.com", func(c *moderation.Commenter) ([]*moderation.Delivery, error) {
		c.Verified = at(12)
		return []*moderation.Delivery{{Kind: moderation.DeliverVerify, To: "ada@example.com", Created: at(12), Due: at(12)}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UseLink(ctx, "nonce1", at(3600)); err != nil {
		t.Fatal(err)
	}
	changes, err := s.Changes(ctx, 1)
	if err != nil || len(changes) != 1 {
		t.Fatalf("changes: %v, %v", changes, err)
	}
	d := &moderation.Delivery{Kind: moderation.DeliverModerator, To: "ada", Site: changes[0].Site, Comment: changes[0].Comment, Group: "digest:ada", Created: at(13), Due: at(300)}
	if err := s.PlanChange(ctx, changes[0].Seq, []*moderation.Delivery{d}); err != nil {
		t.Fatal(err)
	}
}

// dumpAll is everything a store dumps.
func dumpAll(t *testing.T, s moderation.Store) []*moderation.Record {
	t.Helper()
	var out []*moderation.Record
	if err := s.Dump(t.Context(), func(r *moderation.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatalf("dump: %v", err)
	}
	return out
}

// checkDumpOrder checks what Restore needs of the order: each site before
// its records, each comment's parent before it.
func checkDumpOrder(t *testing.T, recs []*moderation.Record) {
	t.Helper()
	sites, comments := map[string]bool{"": true}, map[string]bool{}
	for _, r := range recs {
		if !sites[r.Site] {
			t.Errorf("%s %s comes before its site %s", r.Kind, r.Key, r.Site)
		}
		switch r.Kind {
		case moderation.KindSite:
			sites[r.Key] = true
		case moderation.KindComment:
			c, err := moderation.DecodeComment(r)
			if err != nil {
				t.Fatal(err)
			}
			if c.Parent != "" && !comments[r.Site+"/"+c.Parent] {
				t.Errorf("reply %s comes before its parent %s", c.ID, c.Parent)
			}
			comments[r.Site+"/"+c.ID] = true
		}
	}
}

func sameRecords(a, b []*moderation.Record) bool {
	return slices.EqualFunc(a, b, func(x, y *moderation.Record) bool {
		return x.Kind == y.Kind && x.Site == y.Site && x.Key == y.Key && string(x.Value) == string(y.Value)
	})
}

// diffRecords shows the first records where two dumps part.
func diffRecords(got, want []*moderation.Record) string {
	out := ""
	for i := 0; i < max(len(got), len(want)) && len(out) < 2000; i++ {
		var g, w string
		if i < len(got) {
			g = string(got[i].Kind) + " " + got[i].Site + " " + got[i].Key + " " + string(got[i].Value)
		}
		if i < len(want) {
			w = string(want[i].Kind) + " " + want[i].Site + " " + want[i].Key + " " + string(want[i].Value)
		}
		if g != w {
			out += "got  " + g + "\nwant " + w + "\n"
		}
	}
	return out
}

// sameReads checks that dst answers what src does, derived state included:
// counts, threads, queues, models, trainings, audit logs, commenters, outbox.
func sameReads(t *testing.T, dst, src moderation.Store) {
	t.Helper()
	ctx := t.Context()
	for _, site := range []string{def, "blog"} {
		for _, post := range []string{"/hello", "/bye", "/old", "/claims"} {
			if g, w := thread(t, dst, site, post), thread(t, src, site, post); !reflect.DeepEqual(ids(g), ids(w)) {
				t.Errorf("thread %s%s = %v, want %v", site, post, ids(g), ids(w))
			}
		}
		if g, w := counts(t, dst, site, "/hello", "/bye", "/old"), counts(t, src, site, "/hello", "/bye", "/old"); !reflect.DeepEqual(g, w) {
			t.Errorf("counts of %s = %v, want %v", site, g, w)
		}
		g, err1 := dst.StatusCounts(ctx, site)
		w, err2 := src.StatusCounts(ctx, site)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(g, w) {
			t.Errorf("status counts of %s = %v, want %v (%v %v)", site, g, w, err1, err2)
		}
		for _, st := range moderation.Statuses {
			if g, w := list(t, dst, site, st), list(t, src, site, st); !slices.EqualFunc(g, w, sameComment) {
				t.Errorf("%s of %s = %v, want %v", st, site, ids(g), ids(w))
			}
		}
		if g, w := readModel(t, dst, site), readModel(t, src, site); !reflect.DeepEqual(g, w) {
			t.Errorf("model of %s = %+v, want %+v", site, g, w)
		}
		if g, w := audit(t, dst, site), audit(t, src, site); !reflect.DeepEqual(g, w) {
			t.Errorf("audit of %s = %+v, want %+v", site, g, w)
		}
	}
	if g, w := audit(t, dst, ""), audit(t, src, ""); !reflect.DeepEqual(g, w) {
		t.Errorf("instance audit = %+v, want %+v", g, w)
	}
	for _, email := range []string{"ada@example.com", "charles@example.com"} {
		g, err1 := dst.Commenter(ctx, email)
		w, err2 := src.Commenter(ctx, email)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(g, w) {
			t.Errorf("commenter %s = %+v, want %+v (%v %v)", email, g, w, err1, err2)
		}
	}
	if g, w := secretOf(t, dst), secretOf(t, src); string(g) != string(w) {
		t.Errorf("secret = %x, want %x", g, w)
	}
	if used, err := dst.LinkUsed(ctx, "nonce1"); !used || err != nil {
		t.Errorf("link used = %v, %v", used, err)
	}
	if tok, err := dst.TokenByHash(ctx, "ab12"); err != nil || tok.ID != "tok1" {
		t.Errorf("token = %+v, %v", tok, err)
	}
	if sess, err := dst.Session(ctx, "sess1"); err != nil || sess.Moderator != "ada" {
		t.Errorf("session = %+v, %v", sess, err)
	}
	if site, err := dst.SiteByOrigin(ctx, "https://www.blog.example"); err != nil || site.ID != "blog" {
		t.Errorf("site by origin = %+v, %v", site, err)
	}
	g, err1 := dst.OutboxDepth(ctx)
	w, err2 := src.OutboxDepth(ctx)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(g, w) {
		t.Errorf("outbox depth = %v, want %v (%v %v)", g, w, err1, err2)
	}
}

func secretOf(t *testing.T, s moderation.Store) []byte {
	t.Helper()
	b, err := s.Secret(t.Context(), "ip-hash", 32)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func addSiteRecord(t *testing.T, id string) *moderation.Record {
	t.Helper()
	r, err := moderation.NewRecord(moderation.KindSite, "", id, &moderation.Site{ID: id, Name: id, Origins: []string{}, Created: t0})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
