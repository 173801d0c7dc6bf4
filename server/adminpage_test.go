package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"parley/moderation"
)

func TestAdminPagesRender(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	e.submit("/hello", "Ada", "Hello *there*")
	if _, _, err := e.svc.CreateToken(t.Context(), "script", moderation.RoleAdmin, moderation.DefaultSite); err != nil {
		t.Fatal(err)
	}
	cookie, _ := e.login("admin")
	for _, path := range []string{"/admin", "/admin?status=approved", "/admin/audit", "/admin/audit?log=instance", "/admin/team", "/admin/settings", "/admin/settings?site=default", "/admin?site=*", "/admin/account"} {
		rec := e.do(request{method: http.MethodGet, path: path, cookie: cookie})
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
	rec := e.do(request{method: http.MethodGet, path: "/admin", cookie: cookie})
	if !strings.Contains(rec.Body.String(), "<p>Hello <em>there</em></p>") {
		t.Errorf("the queue does not show the published HTML:\n%s", rec.Body)
	}
}

func TestAdminStaticFiles(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	for path, ctype := range map[string]string{"/admin/static/admin.css": "text/css", "/admin/static/queue.js": "javascript"} {
		rec := e.do(request{method: http.MethodGet, path: path})
		if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), ctype) || rec.Header().Get("ETag") == "" {
			t.Errorf("GET %s: %d %q", path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	for _, path := range []string{"/admin/static/nothing.js", "/admin/static/../layout.html", "/admin/layout.html"} {
		rec := e.do(request{method: http.MethodGet, path: path})
		if rec.Code == http.StatusOK {
			t.Errorf("GET %s is served", path)
		}
	}
}

// TestQueueShowsReplyParents: a reply in the queue (page and fragment)
// names its parent by author and first words, linked to it; a parent that
// was deleted is said to be so.
func TestQueueShowsReplyParents(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	ctx := context.Background()
	owner := moderation.Actor{Name: "admin", Role: moderation.RoleOwner}
	parent := e.submit("/hello", "Ada", "One two three four five six seven eight nine ten eleven twelve thirteen")
	gone := e.submit("/hello", "Bob", "Soon gone")
	if _, err := e.svc.Moderate(ctx, owner, moderation.DefaultSite, []string{parent, gone}, moderation.ActionApprove); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{parent, gone} {
		if _, err := e.svc.Submit(ctx, moderation.DefaultSite, moderation.Submission{Post: "/hello", Parent: p, Author: "Lin", Email: "lin@example.com",
			Body: "A reply"}, moderation.Client{IP: "198.51.100.8"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.Moderate(ctx, owner, moderation.DefaultSite, []string{gone}, moderation.ActionDelete); err != nil {
		t.Fatal(err)
	}
	cookie, _ := e.login("admin")
	for _, path := range []string{"/admin", "/api/admin/queue?status=pending"} {
		body := e.do(request{method: http.MethodGet, path: path, cookie: cookie}).Body.String()
		for _, want := range []string{
			`<dt>Reply to</dt><dd><a href="/admin?post=%2Fhello&amp;site=default&amp;status=approved#c-` + parent + `"><span dir="auto">Ada</span>: <q dir="auto">One two three four five six seven eight nine ten eleven twelve…</q></a></dd>`,
			`<dt>Reply to</dt><dd>a deleted comment (` + gone + `)</dd>`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s lacks %s", path, want)
			}
		}
	}
}
