package bolt

import (
	"context"
	"errors"
	"testing"
	"time"

	"parley/moderation"
)

// TestSitesKeepTheirOwnThreads: the same post key on two sites is two
// threads, two counts and two queues; a comment of one site is not found
// through the other.
func TestSitesKeepTheirOwnThreads(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	blog := &moderation.Site{ID: "blog", Name: "Blog", Origins: []string{"https://blog.example"}}
	if err := db.PutSite(ctx, blog, true, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a, b := newComment("/about", now), newComment("/about", now.Add(time.Second))
	b.Site = "blog"
	for _, c := range []*moderation.Comment{a, b} {
		if err := db.CreateComment(ctx, c, noParent); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.UpdateComments(ctx, "blog", []string{b.ID}, func(c *moderation.Comment) (*moderation.AuditEntry, error) {
		c.Status = moderation.StatusApproved
		return &moderation.AuditEntry{Action: "approve", Comment: c.ID}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateComments(ctx, "blog", []string{a.ID}, func(c *moderation.Comment) (*moderation.AuditEntry, error) {
		return nil, nil
	}); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("moving the default site's comment through blog: %v, want ErrNotFound", err)
	}
	if _, err := db.Comment(ctx, moderation.DefaultSite, b.ID); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("blog's comment through the default site: %v, want ErrNotFound", err)
	}
	onBlog, _ := db.Thread(ctx, "blog", "/about")
	onDefault, _ := db.Thread(ctx, moderation.DefaultSite, "/about")
	counts, _ := db.ApprovedCounts(ctx, moderation.DefaultSite, []string{"/about"})
	if len(onBlog) != 1 || onBlog[0].ID != b.ID || len(onDefault) != 0 || counts["/about"] != 0 {
		t.Errorf("threads: blog %v, default %v, default count %v", onBlog, onDefault, counts)
	}
	pending, _, _ := db.Comments(ctx, moderation.Query{Site: moderation.DefaultSite, Status: moderation.StatusPending, Limit: 10})
	if len(pending) != 1 || pending[0].ID != a.ID {
		t.Errorf("default queue: %v", pending)
	}
	if audit, _ := db.AuditLog(ctx, "blog", 10, 0); len(audit) != 1 || audit[0].Site != "blog" {
		t.Errorf("blog's audit: %+v", audit)
	}
	if audit, _ := db.AuditLog(ctx, moderation.DefaultSite, 10, 0); len(audit) != 0 {
		t.Errorf("default's audit holds blog's move: %+v", audit)
	}
	if _, err := db.Thread(ctx, "nosuch", "/about"); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("unknown site: %v", err)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestOriginBelongsToOneSite: the store refuses a second claim on an origin
// in the transaction that writes the site, releases origins a site drops,
// and keeps a site with comments unless told to delete them.
func TestOriginBelongsToOneSite(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	a := &moderation.Site{ID: "a", Origins: []string{"https://a.example", "https://www.a.example"}}
	if err := db.PutSite(ctx, a, true, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.PutSite(ctx, &moderation.Site{ID: "a"}, true, nil); !errors.Is(err, moderation.ErrConflict) {
		t.Errorf("a second site a: %v, want ErrConflict", err)
	}
	b := &moderation.Site{ID: "b", Origins: []string{"https://b.example", "https://www.a.example"}}
	if err := db.PutSite(ctx, b, true, nil); !errors.Is(err, moderation.ErrOriginTaken) {
		t.Fatalf("b claiming a's origin: %v, want ErrOriginTaken", err)
	}
	if _, err := db.Site(ctx, "b"); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("a refused site was half written: %v", err)
	}
	a.Origins = []string{"https://a.example"}
	if err := db.PutSite(ctx, a, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.PutSite(ctx, b, true, nil); err != nil {
		t.Fatalf("b after a let go: %v", err)
	}
	if s, err := db.SiteByOrigin(ctx, "https://www.a.example"); err != nil || s.ID != "b" {
		t.Errorf("www.a.example belongs to %v, %v; want b", s, err)
	}
	c := newComment("/x", time.Now())
	c.Site = "b"
	if err := db.CreateComment(ctx, c, noParent); err != nil {
		t.Fatal(err)
	}
	entry := &moderation.AuditEntry{Action: "site.remove", Detail: "b"}
	if err := db.DeleteSite(ctx, "b", false, entry); !errors.Is(err, moderation.ErrSiteInUse) {
		t.Errorf("removing a site with comments: %v, want ErrSiteInUse", err)
	}
	if err := db.DeleteSite(ctx, "b", true, entry); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SiteByOrigin(ctx, "https://b.example"); !errors.Is(err, moderation.ErrNotFound) {
		t.Errorf("a removed site's origin: %v", err)
	}
	if err := db.DeleteSite(ctx, moderation.DefaultSite, true, entry); err == nil {
		t.Error("the default site was removed")
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
