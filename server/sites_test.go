package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"parley/moderation"
)

// twoSites is the real server with sites "a" and "b" on their own origins,
// besides the default site on testOrigin.
func twoSites(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	owner := moderation.Actor{Name: "owner", Role: moderation.RoleOwner}
	for _, s := range []moderation.Site{{ID: "a", Origins: []string{"https://a.example", "https://www.a.example"}},
		{ID: "b", Origins: []string{"https://b.example"}}} {
		if _, err := e.svc.CreateSite(context.Background(), owner, s); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// TestSiteFromOrigin: the same post key on two origins is two threads;
// CORS answers only a site's origins; a page that names another site than
// its origin's, or an origin of no site, is refused.
func TestSiteFromOrigin(t *testing.T) {
	e := twoSites(t)
	post := func(origin, site, body string) int {
		q := ""
		if site != "" {
			q = "?site=" + site
		}
		return e.request(http.MethodPost, "/api/comments"+q, map[string]string{"post": "/about", "author": "Ada",
			"email": "ada@example.com", "body": body}, "Origin", origin).Code
	}
	if c := post("https://a.example", "", "on a"); c != http.StatusAccepted {
		t.Fatalf("post on a: %d", c)
	}
	if c := post("https://b.example", "b", "on b"); c != http.StatusAccepted {
		t.Fatalf("post on b naming b: %d", c)
	}
	// Spoofing: a page on a that says it is b, an unknown origin.
	if c := post("https://a.example", "b", "a says b"); c != http.StatusForbidden {
		t.Errorf("a page on a naming b: %d, want 403", c)
	}
	if c := post("https://evil.example", "", "nobody's"); c != http.StatusForbidden {
		t.Errorf("an origin of no site: %d, want 403", c)
	}
	owner := moderation.Actor{Role: moderation.RoleOwner}
	ids := map[string]string{}
	for _, site := range []string{"a", "b"} {
		page, _, err := e.svc.Comments(context.Background(), owner, moderation.Query{Site: site, Status: moderation.StatusPending})
		if err != nil || len(page) != 1 || page[0].Site != site || page[0].Body != "on "+site {
			t.Fatalf("site %s's queue: %+v, %v", site, page, err)
		}
		ids[site] = page[0].ID
		if _, err := e.svc.Moderate(context.Background(), owner, site, []string{page[0].ID}, moderation.ActionApprove); err != nil {
			t.Fatal(err)
		}
	}
	for origin, want := range map[string]string{"https://a.example": ids["a"], "https://www.a.example": ids["a"], "https://b.example": ids["b"]} {
		rec := e.request(http.MethodGet, "/api/comments?post=/about", nil, "Origin", origin)
		wantStatus(t, rec, http.StatusOK)
		got := decode[thread](t, rec)
		if got.Count != 1 || got.Comments[0].ID != want {
			t.Errorf("thread from %s: %+v, want %s", origin, got, want)
		}
		if rec.Header().Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("CORS for %s: %q", origin, rec.Header().Get("Access-Control-Allow-Origin"))
		}
		counts := decode[map[string]int](t, e.request(http.MethodGet, "/api/counts?post=/about", nil, "Origin", origin))
		if counts["/about"] != 1 {
			t.Errorf("counts from %s: %v", origin, counts)
		}
	}
	if rec := e.request(http.MethodGet, "/api/comments?post=/about&site=b", nil, "Origin", "https://a.example"); rec.Code != http.StatusForbidden {
		t.Errorf("reading b from a page on a: %d", rec.Code)
	}
	rec := e.request(http.MethodOptions, "/api/comments", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS answered an origin of no site: %q", rec.Header().Get("Access-Control-Allow-Origin"))
	}
	// No origin (a static site generator, curl, the no-JS page): site=ID,
	// else the default site, which has no comment on /about.
	for q, want := range map[string]int{"": 0, "&site=a": 1, "&site=b": 1} {
		got := decode[thread](t, e.request(http.MethodGet, "/api/comments?post=/about"+q, nil))
		if got.Count != want {
			t.Errorf("no origin%s: %d comments, want %d", q, got.Count, want)
		}
	}
	if rec := e.request(http.MethodGet, "/api/comments?post=/about&site=nosuch", nil); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown site: %d", rec.Code)
	}
	html := e.request(http.MethodGet, "/api/comments?post=/about&format=html&site=b", nil).Body.String()
	page := e.request(http.MethodGet, "/p?"+url.Values{"post": {"/about"}, "site": {"a"}}.Encode(), nil).Body.String()
	if !strings.Contains(html, "on b") || strings.Contains(html, "on a") || !strings.Contains(page, "on a") || strings.Contains(page, "on b") ||
		!strings.Contains(page, `name="site" value="a"`) {
		t.Errorf("format=html for b or /p for a shows the wrong thread:\n%s\n%s", html, page)
	}
}

// TestSitesAPI: owners add, edit and remove sites; an origin can belong to
// one site only; a site with comments stays unless its comments go too.
func TestSitesAPI(t *testing.T) {
	e := twoSites(t)
	owner, _, err := e.svc.CreateToken(context.Background(), "owner", moderation.RoleOwner, "")
	if err != nil {
		t.Fatal(err)
	}
	as := func(method, path string, body any) int {
		return e.request(method, path, body, "Authorization", "Bearer "+owner).Code
	}
	if c := as(http.MethodPost, "/api/admin/sites", map[string]any{"id": "c", "name": "Cee", "origins": []string{"https://c.example"}}); c != http.StatusCreated {
		t.Fatalf("create c: %d", c)
	}
	if c := as(http.MethodPost, "/api/admin/sites", map[string]any{"id": "d", "origins": []string{"https://b.example"}}); c != http.StatusConflict {
		t.Errorf("d taking b's origin: %d, want 409", c)
	}
	if c := as(http.MethodPost, "/api/admin/sites", map[string]any{"id": "Bad Id"}); c != http.StatusBadRequest {
		t.Errorf("a bad id: %d, want 400", c)
	}
	if c := as(http.MethodPatch, "/api/admin/sites/c", map[string]any{"origins": []string{"https://c.example", "https://www.c.example"},
		"settings": map[string]any{"max_links": 0, "theme": "dark"}}); c != http.StatusOK {
		t.Errorf("edit c: %d", c)
	}
	got := decode[moderation.SiteInfo](t, e.request(http.MethodGet, "/api/admin/sites/c", nil, "Authorization", "Bearer "+owner))
	if len(got.Origins) != 2 || got.Effective.MaxLinks != 0 || got.Effective.Theme != "dark" || got.Name != "Cee" {
		t.Errorf("c after the edit: %+v", got)
	}
	// The new origin works at once: no restart.
	if c := e.request(http.MethodGet, "/api/comments?post=/x", nil, "Origin", "https://www.c.example").Code; c != http.StatusOK {
		t.Errorf("c's new origin: %d", c)
	}
	if c := e.request(http.MethodPost, "/api/comments", map[string]string{"post": "/x", "author": "A", "email": "a@example.com",
		"body": "hi"}, "Origin", "https://c.example").Code; c != http.StatusAccepted {
		t.Fatalf("post on c: %d", c)
	}
	if c := as(http.MethodDelete, "/api/admin/sites/c", nil); c != http.StatusConflict {
		t.Errorf("removing c with a comment: %d, want 409", c)
	}
	cToken, _, err := e.svc.CreateToken(context.Background(), "c-script", moderation.RoleModerator, "c")
	if err != nil {
		t.Fatal(err)
	}
	if c := as(http.MethodDelete, "/api/admin/sites/c?delete_comments=true", nil); c != http.StatusNoContent {
		t.Errorf("removing c with its comments: %d", c)
	}
	if c := e.request(http.MethodGet, "/api/comments?post=/x", nil, "Origin", "https://c.example").Code; c != http.StatusForbidden {
		t.Errorf("a removed site's origin: %d, want 403", c)
	}
	// A new site of the same id does not revive the old site's tokens.
	if c := as(http.MethodPost, "/api/admin/sites", map[string]any{"id": "c"}); c != http.StatusCreated {
		t.Fatalf("c again: %d", c)
	}
	if c := e.request(http.MethodGet, "/api/admin/comments?site=c", nil, "Authorization", "Bearer "+cToken).Code; c != http.StatusUnauthorized {
		t.Errorf("the removed site's token: %d, want 401", c)
	}
	if c := as(http.MethodDelete, "/api/admin/sites/default", nil); c != http.StatusConflict {
		t.Errorf("removing the default site: %d, want 409", c)
	}
	list := decode[siteList](t, e.request(http.MethodGet, "/api/admin/sites", nil, "Authorization", "Bearer "+owner))
	if len(list.Sites) != 4 {
		t.Errorf("sites: %+v", list.Sites)
	}
}

// TestThreadWidgetSettings: the public thread carries its site's widget
// settings, and a change to them reaches readers at once: the site's cached
// answers are dropped, another site's stay.
func TestThreadWidgetSettings(t *testing.T) {
	e := twoSites(t)
	owner := moderation.Actor{Name: "owner", Role: moderation.RoleOwner}
	for _, site := range []string{"a", "b"} {
		if c := e.request(http.MethodPost, "/api/comments", map[string]string{"post": "/p", "author": "Ada", "email": "ada@example.com",
			"body": "on " + site}, "Origin", "https://"+site+".example").Code; c != http.StatusAccepted {
			t.Fatalf("post on %s: %d", site, c)
		}
		page, _, err := e.svc.Comments(context.Background(), owner, moderation.Query{Site: site, Status: moderation.StatusPending})
		if err != nil || len(page) != 1 {
			t.Fatalf("site %s's queue: %+v, %v", site, page, err)
		}
		if _, err := e.svc.Moderate(context.Background(), owner, site, []string{page[0].ID}, moderation.ActionApprove); err != nil {
			t.Fatal(err)
		}
	}
	read := func(site string) moderation.Widget {
		rec := e.request(http.MethodGet, "/api/comments?post=/p", nil, "Origin", "https://"+site+".example")
		wantStatus(t, rec, http.StatusOK)
		got := decode[thread](t, rec)
		if got.Count != 1 || !strings.Contains(got.Comments[0].HTML, "on "+site) {
			t.Fatalf("%s's thread: %+v", site, got)
		}
		return got.Widget
	}
	// Nothing chosen: the instance defaults, and no language, so that the
	// page's <html lang> still decides.
	defaults := moderation.Widget{Theme: "light", TitleSource: "data-title"}
	for _, site := range []string{"a", "b"} {
		if w := read(site); w != defaults {
			t.Errorf("%s before the edit: %+v, want %+v", site, w, defaults)
		}
	}
	builds := e.srv.cache.builds.Load()
	read("a")
	read("b")
	if n := e.srv.cache.builds.Load() - builds; n != 0 {
		t.Fatalf("the threads were built again %d times: not cached, so the test proves nothing", n)
	}
	token, _, err := e.svc.CreateToken(context.Background(), "owner", moderation.RoleOwner, "")
	if err != nil {
		t.Fatal(err)
	}
	rec := e.request(http.MethodPatch, "/api/admin/sites/a", map[string]any{"settings": map[string]any{
		"language": "fr", "theme": "dark", "title_source": "og"}}, "Authorization", "Bearer "+token)
	wantStatus(t, rec, http.StatusOK)
	builds = e.srv.cache.builds.Load()
	if w, want := read("a"), (moderation.Widget{Language: "fr", Theme: "dark", TitleSource: "og"}); w != want {
		t.Errorf("a after the edit: %+v, want %+v", w, want)
	}
	if w := read("b"); w != defaults {
		t.Errorf("b after a's edit: %+v", w)
	}
	if n := e.srv.cache.builds.Load() - builds; n != 1 {
		t.Errorf("%d threads built after a's edit, want 1 (a's only)", n)
	}
}
