package server

import (
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
