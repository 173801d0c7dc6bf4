package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"parley/moderation"
)

func session(id, moderator string, created time.Time) *moderation.Session {
	return &moderation.Session{ID: id, Moderator: moderator, CSRF: "csrf-" + id, Created: created, LastSeen: created, From: "ab12"}
}

func moderator(name string, role moderation.Role) *moderation.Moderator {
	m := &moderation.Moderator{Name: name, Role: role, PasswordHash: []byte("$2a$10$" + name), Created: t0}
	if role != moderation.RoleOwner {
		m.Sites = map[string]moderation.SiteRole{def: moderation.SiteModerator}
	}
	return m
}

func testAdmin(t *testing.T, open Opener) {
	t.Run("sessions", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		a, b, c := session("s1", "ada", at(1)), session("s2", "ada", at(2)), session("s3", "bob", at(3))
		for _, x := range []*moderation.Session{a, b, c} {
			if err := s.CreateSession(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, s.CreateSession(ctx, session("s1", "eve", at(4))), moderation.ErrConflict, "a second session s1")
		got, err := s.Session(ctx, "s1")
		if err != nil || got.Moderator != "ada" || got.CSRF != a.CSRF || !got.Created.Equal(at(1)) || !got.LastSeen.Equal(at(1)) || got.From != "ab12" {
			t.Errorf("session s1: %+v, %v", got, err)
		}
		_, err = s.Session(ctx, "nosuch")
		wantErr(t, err, moderation.ErrNotFound, "an unknown session")
		if err := s.TouchSession(ctx, "s1", at(10)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Session(ctx, "s1"); !got.LastSeen.Equal(at(10)) || !got.Created.Equal(at(1)) {
			t.Errorf("a touched session: %+v", got)
		}
		wantErr(t, s.TouchSession(ctx, "nosuch", at(10)), moderation.ErrNotFound, "touching an unknown session")
		if err := s.DeleteSessions(ctx, func(x *moderation.Session) bool { return x.LastSeen.Before(at(5)) }); err != nil {
			t.Fatal(err)
		}
		for id, live := range map[string]bool{"s1": true, "s2": false, "s3": false} {
			if _, err := s.Session(ctx, id); (err == nil) != live {
				t.Errorf("session %s after deleting the idle ones: %v", id, err)
			}
		}
	})

	t.Run("edit moderator", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		for _, m := range []*moderation.Moderator{moderator("ada", moderation.RoleOwner), moderator("bob", moderation.RoleModerator), moderator("cyd", moderation.RoleModerator)} {
			if err := s.CreateModerator(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		for _, x := range []*moderation.Session{session("s1", "bob", at(1)), session("s2", "bob", at(2)), session("s3", "cyd", at(3))} {
			if err := s.CreateSession(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		err := s.EditModerator(ctx, "nosuch", func(*moderation.Moderator, []*moderation.Moderator) (bool, *moderation.AuditEntry, error) {
			t.Error("edit called for an unknown moderator")
			return false, nil, nil
		})
		wantErr(t, err, moderation.ErrNotFound, "editing an unknown moderator")

		err = s.EditModerator(ctx, "bob", func(m *moderation.Moderator, all []*moderation.Moderator) (bool, *moderation.AuditEntry, error) {
			var names []string
			for _, x := range all {
				names = append(names, x.Name)
			}
			slices.Sort(names)
			if m.Name != "bob" || !slices.Equal(names, []string{"ada", "bob", "cyd"}) {
				t.Errorf("edit got %s and %v", m.Name, names)
			}
			m.Sites = map[string]moderation.SiteRole{def: moderation.SiteAdmin}
			return false, &moderation.AuditEntry{At: at(5), Actor: "ada", Action: "moderator.role", Detail: "bob as admin"}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := s.Moderator(ctx, "bob"); m.Sites[def] != moderation.SiteAdmin || m.Role != moderation.RoleModerator {
			t.Errorf("bob after the edit: %+v", m)
		}

		// A failing edit writes nothing.
		refused := errors.New("the last owner stays")
		err = s.EditModerator(ctx, "ada", func(m *moderation.Moderator, _ []*moderation.Moderator) (bool, *moderation.AuditEntry, error) {
			m.Role = moderation.RoleModerator
			return true, &moderation.AuditEntry{At: at(6), Actor: "ada", Action: "moderator.remove"}, refused
		})
		if err != refused {
			t.Errorf("a refused edit: %v, want its error as is", err)
		}
		if m, err := s.Moderator(ctx, "ada"); err != nil || m.Role != moderation.RoleOwner {
			t.Errorf("ada after a refused edit: %+v, %v", m, err)
		}

		// Removal ends the moderator's sessions, and only theirs.
		err = s.EditModerator(ctx, "bob", func(*moderation.Moderator, []*moderation.Moderator) (bool, *moderation.AuditEntry, error) {
			return true, &moderation.AuditEntry{At: at(7), Actor: "ada", Action: "moderator.remove", Detail: "bob"}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Moderator(ctx, "bob")
		wantErr(t, err, moderation.ErrNotFound, "a removed moderator")
		for id, live := range map[string]bool{"s1": false, "s2": false, "s3": true} {
			if _, err := s.Session(ctx, id); (err == nil) != live {
				t.Errorf("session %s after bob's removal: %v", id, err)
			}
		}
		log := audit(t, s, "")
		if len(log) != 2 || log[0].Action != "moderator.remove" || log[1].Detail != "bob as admin" {
			t.Errorf("instance audit: %+v", log)
		}
	})

	t.Run("publish reply", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		parent := create(t, s, comment(def, "/p", at(1)))
		approve := func(p *moderation.Comment) (*moderation.AuditEntry, error) {
			return moveTo(moderation.StatusApproved, at(5))(p)
		}
		reply := func(n int) (*moderation.Comment, *moderation.AuditEntry) {
			r := replyTo(parent, at(n))
			r.Status, r.BySite, r.Author, r.Email = moderation.StatusApproved, true, "ada", ""
			r.Depth = 1
			return r, &moderation.AuditEntry{At: at(n), Actor: "ada", Action: "reply", Comment: r.ID, Post: "/p"}
		}

		// The parent is missing: nothing is stored.
		r, entry := reply(2)
		r.Parent = moderation.NewID(at(0))
		wantErr(t, s.PublishReply(ctx, r, approve, entry), moderation.ErrNotFound, "a reply to a missing comment")
		// approve refuses: nothing is stored, the parent stays as it was.
		refused := errors.New("the comment was deleted")
		r, entry = reply(3)
		if err := s.PublishReply(ctx, r, func(*moderation.Comment) (*moderation.AuditEntry, error) { return nil, refused }, entry); err != refused {
			t.Errorf("approve refusing: %v, want its error as is", err)
		}
		_, err := s.Comment(ctx, def, r.ID)
		wantErr(t, err, moderation.ErrNotFound, "a refused reply")
		// The reply's ID is taken: the parent does not move either.
		r, entry = reply(4)
		r.ID = parent.ID
		wantErr(t, s.PublishReply(ctx, r, approve, entry), moderation.ErrConflict, "a reply with a taken ID")
		if got := get(t, s, def, parent.ID); got.Status != moderation.StatusPending {
			t.Errorf("a failed reply approved its parent: %s", got.Status)
		}
		if log := audit(t, s, def); len(log) != 0 {
			t.Errorf("failed replies left audit entries: %+v", log)
		}

		r, entry = reply(5)
		if err := s.PublishReply(ctx, r, approve, entry); err != nil {
			t.Fatal(err)
		}
		if th := thread(t, s, def, "/p"); !same(ids(th), []string{parent.ID, r.ID}) {
			t.Errorf("thread after the reply: %v", ids(th))
		}
		if n := counts(t, s, def, "/p")["/p"]; n != 2 {
			t.Errorf("count after the reply: %d", n)
		}
		if got := get(t, s, def, r.ID); !sameComment(got, r) {
			t.Errorf("the reply read back as %+v", got)
		}
		log := audit(t, s, def)
		if len(log) != 2 || log[0].Action != "reply" || log[1].Action != "approved" || log[0].Site != def || log[1].Comment != parent.ID {
			t.Errorf("audit after the reply: %+v", log)
		}
		// A second reply to an approved parent: approve changes nothing.
		r2, entry := reply(6)
		if err := s.PublishReply(ctx, r2, approve, entry); err != nil {
			t.Fatal(err)
		}
		if log := audit(t, s, def); len(log) != 3 {
			t.Errorf("a reply that moved nothing wrote %d entries", len(log)-2)
		}
		if got := get(t, s, def, parent.ID); len(got.History) != 2 {
			t.Errorf("the parent's history: %+v", got.History)
		}
	})

	t.Run("audit log", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		addSite(t, s, "b")
		for i := range 25 {
			e := &moderation.AuditEntry{Site: def, At: at(i), Actor: "ada", Action: "export", Post: fmt.Sprintf("/p%d", i), Detail: "d", From: "ff00", Comment: "C"}
			if err := s.RecordAudit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RecordAudit(ctx, &moderation.AuditEntry{Site: "b", At: at(30), Actor: "bob", Action: "import"}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordAudit(ctx, &moderation.AuditEntry{At: at(31), Actor: "ada", Action: "backup"}); err != nil {
			t.Fatal(err)
		}
		var got []moderation.AuditEntry
		before, pages := uint64(0), 0
		for {
			page, err := s.AuditLog(ctx, def, 10, before)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(page) == 0 || pages > 10 {
				break
			}
			got = append(got, page...)
			before = page[len(page)-1].Seq
		}
		if len(got) != 25 || pages != 4 {
			t.Fatalf("%d entries in %d pages of 10, want 25 in 3 and an empty one", len(got), pages)
		}
		for i, e := range got {
			if e.Post != fmt.Sprintf("/p%d", 24-i) || e.Site != def || !e.At.Equal(at(24-i)) || e.Actor != "ada" || e.Detail != "d" || e.From != "ff00" || e.Comment != "C" {
				t.Fatalf("entry %d: %+v, want /p%d newest first", i, e, 24-i)
			}
			if i > 0 && e.Seq >= got[i-1].Seq {
				t.Fatalf("entry %d has seq %d after %d", i, e.Seq, got[i-1].Seq)
			}
		}
		if log := audit(t, s, "b"); len(log) != 1 || log[0].Action != "import" {
			t.Errorf("b's log: %+v", log)
		}
		if log := audit(t, s, ""); len(log) != 2 || log[0].Action != "backup" || log[1].Action != "site.add" {
			t.Errorf("the instance's log: %+v", log)
		}
		if log, _ := s.AuditLog(ctx, def, 3, 0); len(log) != 3 || log[0].Post != "/p24" {
			t.Errorf("the newest 3: %+v", log)
		}
	})
}
