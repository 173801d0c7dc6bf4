package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"parley/moderation"
	"parley/storage/bolt"
)

// TestUpgradedEmbedsKeepWorking opens the database that Parley from before
// sites wrote (storage/bolt/testdata/upgrade-v5.bolt, built by
// scripts/upgrade-fixture.sh) with the same --origins, and checks through
// HTTP that the blog's embed reads its threads and posts as before, that
// its old moderator still works its queue, and that another origin is
// refused.
func TestUpgradedEmbedsKeepWorking(t *testing.T) {
	ctx := context.Background()
	data, err := os.ReadFile("../storage/bolt/testdata/upgrade-v5.bolt")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "parley.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	svc, err := moderation.NewService(ctx, db, moderation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const blog = "https://blog.example" // the fixture's --origins
	srv, err := New(Config{PublicURL: "http://comments.example.com", Origins: []string{blog}}, svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, svc: svc}

	rec := e.request(http.MethodGet, "/api/comments?post=/about", nil, "Origin", blog)
	wantStatus(t, rec, http.StatusOK)
	if got := decode[thread](t, rec); got.Count != 3 || len(got.Comments) != 3 {
		t.Errorf("the old thread after the upgrade: %+v", got)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != blog {
		t.Errorf("CORS for the old origin: %q", rec.Header().Get("Access-Control-Allow-Origin"))
	}
	rec = e.request(http.MethodGet, "/api/counts?post=/about&post=/posts/hello", nil, "Origin", blog)
	if got := decode[map[string]int](t, rec); got["/about"] != 3 || got["/posts/hello"] != 0 {
		t.Errorf("counts: %v", got)
	}
	rec = e.request(http.MethodPost, "/api/comments", map[string]string{"post": "/about", "author": "New",
		"email": "new@example.org", "body": "After the upgrade."}, "Origin", blog)
	wantStatus(t, rec, http.StatusAccepted)
	wantError(t, e.request(http.MethodGet, "/api/comments?post=/about", nil, "Origin", "https://other.example"),
		http.StatusForbidden, "forbidden")

	bob, err := svc.Login(ctx, "bob", "mod-password-22")
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := svc.CreateToken(ctx, "bob-script", moderation.RoleModerator, "")
	if err != nil {
		t.Fatal(err)
	}
	e.token = secret
	page := decode[commentPage](t, e.admin(http.MethodGet, "/api/admin/comments?status=pending", nil))
	if len(page.Comments) != 3 { // two from the fixture, one just sent
		t.Errorf("bob's queue: %d comments", len(page.Comments))
	}
	for _, c := range page.Comments {
		if c.Site != moderation.DefaultSite {
			t.Errorf("comment %s carries site %q", c.ID, c.Site)
		}
	}
	if bob.Sites[moderation.DefaultSite] != moderation.SiteModerator {
		t.Errorf("bob's sites after the upgrade: %v", bob.Sites)
	}
}
