package moderation_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"parley/moderation"
	"parley/storage/bolt"
)

// TestSiteAndPermissionRules: a site the actor does not work on is
// ErrNotFound whatever they ask; on their own site, what their role lacks
// (Grants) is ErrForbidden; a site's admin holds its blocklist and export;
// an admin's token moderates its site; and each site's classifier learns
// from that site's decisions only.
func TestSiteAndPermissionRules(t *testing.T) {
	ctx := context.Background()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	svc, err := moderation.NewService(ctx, db, moderation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	filter, err := moderation.NewSpamFilter(ctx, db, moderation.DefaultSpamOptions())
	if err != nil {
		t.Fatal(err)
	}
	owner := moderation.Actor{Name: "ada", Role: moderation.RoleOwner}
	if _, err := svc.CreateSite(ctx, owner, moderation.Site{ID: "b", Name: "B"}); err != nil {
		t.Fatal(err)
	}
	def := moderation.DefaultSite
	bob := moderation.Actor{Name: "bob", Role: moderation.RoleModerator, Sites: map[string]moderation.SiteRole{def: moderation.SiteModerator}}
	ann := moderation.Actor{Name: "ann", Role: moderation.RoleModerator, Sites: map[string]moderation.SiteRole{"b": moderation.SiteAdmin}}

	var onB []string
	for i := range 3 {
		c, err := svc.Submit(ctx, "b", moderation.Submission{Post: "/p", Author: "Reader", Email: fmt.Sprintf("r%d@example.com", i),
			Body: fmt.Sprintf("a comment on site b, number %d", i)}, moderation.Client{IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		onB = append(onB, c.ID)
	}

	check := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", what, err, want)
		}
	}
	_, err = svc.Comment(ctx, bob, "b", onB[0])
	check("bob reads a comment of b", err, moderation.ErrNotFound)
	_, _, err = svc.Comments(ctx, bob, moderation.Query{Site: "b"})
	check("bob lists b", err, moderation.ErrNotFound)
	_, err = svc.Moderate(ctx, bob, "b", onB[:1], moderation.ActionApprove)
	check("bob moderates b", err, moderation.ErrNotFound)
	_, err = svc.SpamByScore(ctx, bob, "b", "", 0.5)
	check("bob files b's spam by score", err, moderation.ErrNotFound)
	_, err = svc.AuditLog(ctx, bob, "b", 10, 0)
	check("bob reads b's audit log", err, moderation.ErrNotFound)
	_, err = filter.Blocklist(ctx, bob, "b")
	check("bob reads b's blocklist", err, moderation.ErrNotFound)
	_, err = filter.Blocklist(ctx, bob, def)
	check("bob reads his site's blocklist", err, moderation.ErrForbidden)
	_, err = svc.Export(ctx, bob, moderation.ExportQuery{Site: def})
	check("bob exports his site", err, moderation.ErrForbidden)
	_, err = svc.Forget(ctx, bob, def, "r0@example.com")
	check("bob erases a commenter", err, moderation.ErrForbidden)
	if _, err := svc.AuditLog(ctx, bob, def, 10, 0); err != nil {
		t.Errorf("bob reads his site's audit log: %v", err)
	}

	if _, err := filter.Blocklist(ctx, ann, "b"); err != nil {
		t.Errorf("ann reads her site's blocklist: %v", err)
	}
	if _, err := filter.AddToBlocklist(ctx, ann, "b", "words", "casino"); err != nil {
		t.Errorf("ann edits her site's blocklist: %v", err)
	}
	if _, err := svc.Export(ctx, ann, moderation.ExportQuery{Site: "b"}); err != nil {
		t.Errorf("ann exports her site: %v", err)
	}
	_, err = svc.Import(ctx, ann, "b", "parley", nil, nil)
	check("ann imports", err, moderation.ErrForbidden)
	_, err = filter.Blocklist(ctx, ann, def)
	check("ann reads another site's blocklist", err, moderation.ErrNotFound)

	secret, _, err := svc.CreateToken(ctx, "ann-script", moderation.RoleAdmin, "b")
	if err != nil {
		t.Fatal(err)
	}
	script, err := svc.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !(moderation.Actor{Role: moderation.RoleAdmin}).May(moderation.PermModerate) {
		t.Error("an admin's token may not moderate")
	}
	res, err := svc.Moderate(ctx, script, "b", onB, moderation.ActionSpam)
	if err != nil || res.Changed != 3 {
		t.Fatalf("the admin's token marks b's comments as spam: %+v, %v", res, err)
	}
	_, err = svc.Moderate(ctx, script, def, onB, moderation.ActionApprove)
	check("the admin's token moderates another site", err, moderation.ErrNotFound)

	if st, err := svc.ClassifierStats(ctx, "b"); err != nil || st.Spam != 3 {
		t.Errorf("b's model after 3 spam decisions on b: %+v, %v", st, err)
	}
	if st, err := svc.ClassifierStats(ctx, def); err != nil || st.Spam != 0 || st.Ham != 0 {
		t.Errorf("the default site's model learned from b: %+v, %v", st, err)
	}
	c, err := svc.Comment(ctx, ann, "b", onB[0])
	if err != nil || c.Score == nil {
		t.Errorf("a comment for its site's admin, with its score: %+v, %v", c, err)
	}
}
