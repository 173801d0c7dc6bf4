package storetest

import (
	"slices"
	"testing"

	"parley/moderation"
)

func testSites(t *testing.T, open Opener) {
	t.Run("default site", func(t *testing.T) {
		s := open(t)
		sites, err := s.Sites(t.Context())
		if err != nil || len(sites) != 1 || sites[0].ID != def {
			t.Fatalf("a new store's sites: %v, %v; want the default site only", sites, err)
		}
		if site, err := s.Site(t.Context(), def); err != nil || site.ID != def {
			t.Fatalf("default site: %+v, %v", site, err)
		}
		_, err = s.Site(t.Context(), "nosuch")
		wantErr(t, err, moderation.ErrNotFound, "an unknown site")
		_, err = s.SiteByOrigin(t.Context(), "https://nowhere.example")
		wantErr(t, err, moderation.ErrNotFound, "an unknown origin")
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("ping: %v", err)
		}
		for _, st := range s.Stats() {
			if st.Name == "" || st.Help == "" {
				t.Errorf("a stat without a name or help: %+v", st)
			}
		}
	})

	t.Run("create and replace", func(t *testing.T) {
		s := open(t)
		trust, theme, notify := 3, "dark", []string{"ada"}
		b := &moderation.Site{ID: "b", Name: "Blog B", Origins: []string{"https://b.example", "https://www.b.example"}, Created: at(1),
			Settings: moderation.SiteSettings{TrustAfter: &trust, Theme: &theme, NotifyPeople: &notify}}
		entry := &moderation.AuditEntry{At: at(1), Actor: "ada", Action: "site.add", Detail: "b"}
		if err := s.PutSite(t.Context(), b, true, entry); err != nil {
			t.Fatal(err)
		}
		addSite(t, s, "a", "https://a.example")
		sites, err := s.Sites(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, st := range sites {
			names = append(names, st.ID)
		}
		if !slices.Equal(names, []string{"a", "b", def}) {
			t.Errorf("sites = %v, want every site by id", names)
		}
		got, err := s.Site(t.Context(), "b")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Blog B" || !slices.Equal(got.Origins, b.Origins) || !got.Created.Equal(b.Created) ||
			got.Settings.TrustAfter == nil || *got.Settings.TrustAfter != 3 || got.Settings.Theme == nil || *got.Settings.Theme != "dark" ||
			got.Settings.NotifyPeople == nil || !slices.Equal(*got.Settings.NotifyPeople, notify) || got.Settings.MaxLinks != nil {
			t.Errorf("site b read back as %+v (settings %+v)", got, got.Settings)
		}
		for _, o := range b.Origins {
			if st, err := s.SiteByOrigin(t.Context(), o); err != nil || st.ID != "b" {
				t.Errorf("origin %s: %v, %v; want site b", o, st, err)
			}
		}
		err = s.PutSite(t.Context(), &moderation.Site{ID: "b", Name: "again", Origins: []string{}}, true, nil)
		wantErr(t, err, moderation.ErrConflict, "creating b twice")
		err = s.PutSite(t.Context(), &moderation.Site{ID: "nosuch", Name: "x", Origins: []string{}}, false, nil)
		wantErr(t, err, moderation.ErrNotFound, "replacing a site that does not exist")
		if _, err := s.Site(t.Context(), "nosuch"); err == nil {
			t.Error("replacing a missing site created it")
		}

		// Replacing keeps one origin, drops one, adds one.
		b.Name, b.Origins, b.Settings = "Blog B2", []string{"https://b.example", "https://new.b.example"}, moderation.SiteSettings{}
		if err := s.PutSite(t.Context(), b, false, &moderation.AuditEntry{At: at(2), Actor: "ada", Action: "site.edit", Detail: "b"}); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Site(t.Context(), "b")
		if got.Name != "Blog B2" || got.Settings.TrustAfter != nil || !slices.Equal(got.Origins, b.Origins) {
			t.Errorf("site b after the edit: %+v", got)
		}
		_, err = s.SiteByOrigin(t.Context(), "https://www.b.example")
		wantErr(t, err, moderation.ErrNotFound, "an origin b let go")
		if st, err := s.SiteByOrigin(t.Context(), "https://new.b.example"); err != nil || st.ID != "b" {
			t.Errorf("b's new origin: %v, %v", st, err)
		}
		// The entries went to the instance's log, not to a site's.
		log := audit(t, s, "")
		if len(log) != 3 || log[0].Action != "site.edit" || log[2].Action != "site.add" || log[2].Detail != "b" {
			t.Errorf("instance audit = %+v, want site.edit, site.add a, site.add b", log)
		}
		if es := audit(t, s, "b"); len(es) != 0 {
			t.Errorf("b's own log holds %+v", es)
		}
	})

	t.Run("an origin belongs to one site", func(t *testing.T) {
		s := open(t)
		a := addSite(t, s, "a", "https://a.example", "https://www.a.example")
		b := &moderation.Site{ID: "b", Name: "b", Origins: []string{"https://b.example", "https://www.a.example"}}
		err := s.PutSite(t.Context(), b, true, &moderation.AuditEntry{At: at(1), Actor: "ada", Action: "site.add", Detail: "b"})
		wantErr(t, err, moderation.ErrOriginTaken, "b claiming a's origin")
		_, err = s.Site(t.Context(), "b")
		wantErr(t, err, moderation.ErrNotFound, "a refused site")
		_, err = s.SiteByOrigin(t.Context(), "https://b.example")
		wantErr(t, err, moderation.ErrNotFound, "the origin of a refused site")
		if log := audit(t, s, ""); len(log) != 1 {
			t.Errorf("a refused site left an audit entry: %+v", log)
		}
		if st, err := s.SiteByOrigin(t.Context(), "https://www.a.example"); err != nil || st.ID != "a" {
			t.Errorf("www.a.example after the refusal: %v, %v", st, err)
		}

		// A refused edit changes nothing, not even the origins it would drop.
		addSite(t, s, "c", "https://c.example")
		edit := &moderation.Site{ID: "a", Name: "renamed", Origins: []string{"https://c.example"}}
		err = s.PutSite(t.Context(), edit, false, &moderation.AuditEntry{At: at(2), Actor: "ada", Action: "site.edit"})
		wantErr(t, err, moderation.ErrOriginTaken, "a taking c's origin")
		for _, o := range a.Origins {
			if st, err := s.SiteByOrigin(t.Context(), o); err != nil || st.ID != "a" {
				t.Errorf("a's origin %s after a refused edit: %v, %v", o, st, err)
			}
		}
		if st, _ := s.Site(t.Context(), "a"); st.Name != a.Name {
			t.Errorf("a refused edit renamed a to %q", st.Name)
		}

		// Once a lets go, b may take it.
		a.Origins = []string{"https://a.example"}
		if err := s.PutSite(t.Context(), a, false, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSite(t.Context(), b, true, nil); err != nil {
			t.Fatalf("b after a let go: %v", err)
		}
		if st, err := s.SiteByOrigin(t.Context(), "https://www.a.example"); err != nil || st.ID != "b" {
			t.Errorf("www.a.example belongs to %v, %v; want b", st, err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		s := open(t)
		addSite(t, s, "b", "https://b.example")
		c := create(t, s, comment("b", "/x", at(1)))
		move(t, s, "b", moderation.StatusApproved, at(2), c.ID)
		err := s.UpdateBlocklist(t.Context(), "b", func(bl *moderation.Blocklist) error {
			bl.Words = []string{"casino"}
			return nil
		}, &moderation.AuditEntry{At: at(3), Actor: "ada", Action: "blocklist add"})
		if err != nil {
			t.Fatal(err)
		}
		entry := &moderation.AuditEntry{At: at(4), Actor: "ada", Action: "site.remove", Detail: "b"}

		wantErr(t, s.DeleteSite(t.Context(), "nosuch", true, entry), moderation.ErrNotFound, "removing an unknown site")
		wantErr(t, s.DeleteSite(t.Context(), def, true, entry), moderation.ErrForbidden, "removing the default site")
		if _, err := s.Site(t.Context(), def); err != nil {
			t.Fatalf("the default site after a refused removal: %v", err)
		}
		wantErr(t, s.DeleteSite(t.Context(), "b", false, entry), moderation.ErrSiteInUse, "removing a site with comments")
		if got := get(t, s, "b", c.ID); got.Status != moderation.StatusApproved {
			t.Errorf("a refused removal changed the comment: %+v", got)
		}
		if n := len(audit(t, s, "")); n != 1 {
			t.Errorf("refused removals left %d instance entries, want 1 (the site's creation)", n)
		}

		if err := s.DeleteSite(t.Context(), "b", true, entry); err != nil {
			t.Fatal(err)
		}
		_, err = s.Site(t.Context(), "b")
		wantErr(t, err, moderation.ErrNotFound, "a removed site")
		_, err = s.SiteByOrigin(t.Context(), "https://b.example")
		wantErr(t, err, moderation.ErrNotFound, "a removed site's origin")
		_, err = s.Comment(t.Context(), "b", c.ID)
		wantErr(t, err, moderation.ErrNotFound, "a removed site's comment")
		if log := audit(t, s, ""); len(log) != 2 || log[0].Action != "site.remove" {
			t.Errorf("instance audit after the removal: %+v", log)
		}

		// A new site of the same id starts empty.
		addSite(t, s, "b", "https://b.example")
		if th := thread(t, s, "b", "/x"); len(th) != 0 {
			t.Errorf("the new b holds the old thread: %v", ids(th))
		}
		if n := counts(t, s, "b", "/x")["/x"]; n != 0 {
			t.Errorf("the new b counts %d on /x", n)
		}
		if st, _ := s.StatusCounts(t.Context(), "b"); st[moderation.StatusApproved] != 0 {
			t.Errorf("the new b's status counts: %v", st)
		}
		if es := audit(t, s, "b"); len(es) != 0 {
			t.Errorf("the new b holds the old audit entries: %+v", es)
		}
		if bl, err := s.Blocklist(t.Context(), "b"); err != nil || len(bl.Words)+len(bl.Emails)+len(bl.Networks) != 0 {
			t.Errorf("the new b's blocklist: %+v, %v", bl, err)
		}
		if _, ham, spam, err := s.Model(t.Context(), "b", nil); err != nil || ham+spam != 0 {
			t.Errorf("the new b's model: %d ham, %d spam, %v", ham, spam, err)
		}
		// An empty site goes without withComments.
		addSite(t, s, "empty")
		if err := s.DeleteSite(t.Context(), "empty", false, entry); err != nil {
			t.Errorf("removing an empty site: %v", err)
		}
	})

	t.Run("unknown site", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		const no = "nosuch"
		err := s.CreateComment(ctx, comment(no, "/p", at(1)), noParent)
		wantErr(t, err, moderation.ErrNotFound, "CreateComment")
		_, err = s.Comment(ctx, no, "X")
		wantErr(t, err, moderation.ErrNotFound, "Comment")
		_, _, _, err = s.Model(ctx, no, nil)
		wantErr(t, err, moderation.ErrNotFound, "Model")
		// The reading bbolt implements: every method that takes a site
		// answers ErrNotFound for one that does not exist.
		_, err = s.Thread(ctx, no, "/p")
		wantErr(t, err, moderation.ErrNotFound, "Thread")
		_, err = s.ApprovedCounts(ctx, no, []string{"/p"})
		wantErr(t, err, moderation.ErrNotFound, "ApprovedCounts")
		_, _, err = s.Comments(ctx, moderation.Query{Site: no, Status: moderation.StatusPending, Limit: 10})
		wantErr(t, err, moderation.ErrNotFound, "Comments")
		_, err = s.StatusCounts(ctx, no)
		wantErr(t, err, moderation.ErrNotFound, "StatusCounts")
		_, err = s.AuditLog(ctx, no, 10, 0)
		wantErr(t, err, moderation.ErrNotFound, "AuditLog")
		_, err = s.Blocklist(ctx, no)
		wantErr(t, err, moderation.ErrNotFound, "Blocklist")
		err = s.UpdateBlocklist(ctx, no, func(*moderation.Blocklist) error { return nil }, &moderation.AuditEntry{Action: "x"})
		wantErr(t, err, moderation.ErrNotFound, "UpdateBlocklist")
		err = s.UpdateComments(ctx, no, []string{"X"}, moveTo(moderation.StatusApproved, at(1)))
		wantErr(t, err, moderation.ErrNotFound, "UpdateComments")
		err = s.RebuildModel(ctx, no, 1, func(*moderation.Comment) *moderation.Training { return nil })
		wantErr(t, err, moderation.ErrNotFound, "RebuildModel")
		err = s.ExportComments(ctx, moderation.ExportQuery{Site: no}, func(*moderation.Comment) error { return nil })
		wantErr(t, err, moderation.ErrNotFound, "ExportComments")
		err = s.RecordAudit(ctx, &moderation.AuditEntry{Site: no, At: at(1), Actor: "ada", Action: "x"})
		wantErr(t, err, moderation.ErrNotFound, "RecordAudit")
	})
}
