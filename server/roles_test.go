package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/moderation"
)

// adminRoutes classifies every admin API route by the permission it needs
// (moderation.Grants, shown in docs/admin.md#roles). TestRolesAsDocumented
// fails when a route is missing here, so a new route must be placed.
var adminRoutes = []struct {
	method, path string // path as routed, with :params
	body         string
	perm         moderation.Permission
}{
	{"GET", "/api/admin/comments", "", moderation.PermModerate},
	{"GET", "/api/admin/comments/:id", "", moderation.PermModerate},
	{"POST", "/api/admin/comments/:id/approve", "", moderation.PermModerate},
	{"POST", "/api/admin/comments/:id/reject", "", moderation.PermModerate},
	{"POST", "/api/admin/comments/:id/spam", "", moderation.PermModerate},
	{"POST", "/api/admin/comments/:id/restore", "", moderation.PermModerate},
	{"POST", "/api/admin/comments/:id/reply", `{"body":"Thanks!"}`, moderation.PermModerate},
	{"DELETE", "/api/admin/comments/:id", "", moderation.PermModerate},
	{"POST", "/api/admin/comments/bulk", `{"ids":["x"],"action":"approve"}`, moderation.PermModerate},
	{"POST", "/api/admin/comments/spam-by-score", `{"min_score":0.9}`, moderation.PermModerate},
	{"GET", "/api/admin/queue", "", moderation.PermModerate},
	{"GET", "/api/admin/counts", "", moderation.PermModerate},
	{"GET", "/api/admin/events", "", moderation.PermModerate},
	{"GET", "/api/admin/audit", "", moderation.PermAudit},
	{"GET", "/api/admin/me/notifications", "", moderation.PermOwnAccount},
	{"PUT", "/api/admin/me/notifications", `{"email_mode":"off"}`, moderation.PermOwnAccount},
	{"POST", "/api/admin/account/password", `{"current":"x","password":"a long new password"}`, moderation.PermOwnAccount},
	{"GET", "/api/admin/moderators", "", moderation.PermTeam},
	{"POST", "/api/admin/moderators", `{"name":"new","password":"a long password","role":"moderator"}`, moderation.PermTeam},
	{"PATCH", "/api/admin/moderators/:name", `{"role":"owner"}`, moderation.PermTeam},
	{"DELETE", "/api/admin/moderators/:name", "", moderation.PermTeam},
	{"GET", "/api/admin/tokens", "", moderation.PermTokens},
	{"POST", "/api/admin/tokens", `{"name":"x","role":"moderator"}`, moderation.PermTokens},
	{"DELETE", "/api/admin/tokens/:id", "", moderation.PermTokens},
	{"GET", "/api/admin/blocklist", "", moderation.PermBlocklist},
	{"PUT", "/api/admin/blocklist", `{}`, moderation.PermBlocklist},
	{"POST", "/api/admin/forget", `{"email":"ada@example.org"}`, moderation.PermForget},
	{"GET", "/api/admin/export?format=ndjson", "", moderation.PermExport},
	{"POST", "/api/admin/import?format=ndjson", "\n", moderation.PermImport},
	{"GET", "/api/admin/backup", "", moderation.PermBackup},
}

// TestRolesAsDocumented sends every admin request as a moderator and as an
// owner, each with a session and with an API token: it is refused with 403
// exactly when the roles table says the role lacks the permission. API
// tokens have no account of their own, so own-account rows are for sessions.
func TestRolesAsDocumented(t *testing.T) {
	g := guardedDefaults(t)
	covered := map[string]bool{}
	for _, r := range adminRoutes {
		covered[r.method+" "+strings.SplitN(r.path, "?", 2)[0]] = true
	}
	for _, r := range g.srv.echo.Routes() {
		// A site's own routes are decided by site roles (moderation/siteroles.go),
		// not by this instance table: TestSiteIsolationMatrix and the sites
		// tests hold them to docs/sites.md.
		if strings.HasPrefix(r.Path, "/api/admin/sites") {
			continue
		}
		if strings.HasPrefix(r.Path, "/api/admin") && r.Method != "echo_route_not_found" && !covered[r.Method+" "+r.Path] {
			t.Errorf("route %s %s is not in adminRoutes: decide which permission it needs", r.Method, r.Path)
		}
	}
	addModerator(t, g.db, "admin", moderation.RoleOwner)
	addModerator(t, g.db, "mod", moderation.RoleModerator)
	e := &adminEnv{t: t, srv: g.srv, svc: g.svc, db: g.db, clock: g.clock, url: "https://comments.example.com"}
	modCookie, modCSRF := e.login("mod")
	ownCookie, ownCSRF := e.login("admin")
	for _, who := range []struct {
		role moderation.Role
		name string
		auth request // the credentials part of a request
	}{
		{moderation.RoleModerator, "moderator session", request{cookie: modCookie, csrf: modCSRF}},
		{moderation.RoleModerator, "moderator token", request{header: map[string]string{"Authorization": "Bearer " + g.moderator}}},
		{moderation.RoleOwner, "owner session", request{cookie: ownCookie, csrf: ownCSRF}},
		{moderation.RoleOwner, "owner token", request{header: map[string]string{"Authorization": "Bearer " + g.owner}}},
	} {
		for _, r := range adminRoutes {
			if who.auth.cookie == nil && r.perm == moderation.PermOwnAccount {
				continue
			}
			req := who.auth
			req.method, req.body = r.method, r.body
			req.path = strings.NewReplacer(":id", "x", ":name", "nobody").Replace(r.path)
			rec := e.doStream(req, r.path == "/api/admin/events") // a stream, answering until the client leaves
			allowed := slices.Contains(grantOf(t, r.perm).Roles, who.role)
			switch {
			case !allowed && (rec.Code != http.StatusForbidden || errCode(t, rec) != "forbidden"):
				t.Errorf("%s: %s %s answered %d, want 403 (%s is not theirs)", who.name, r.method, req.path, rec.Code, r.perm)
			case allowed && (rec.Code == http.StatusForbidden || rec.Code == http.StatusUnauthorized):
				t.Errorf("%s: %s %s answered %d %s, want it allowed (%s)", who.name, r.method, req.path, rec.Code, rec.Body, r.perm)
			}
		}
	}
}

// doStream is adminEnv.do, leaving after a moment when the answer is a
// stream that never ends by itself.
func (e *adminEnv) doStream(r request, stream bool) *httptest.ResponseRecorder {
	if !stream {
		return e.do(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, r.method, e.url+r.path, nil)
	if r.cookie != nil {
		req.AddCookie(r.cookie)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

func grantOf(t *testing.T, p moderation.Permission) moderation.Grant {
	t.Helper()
	for _, g := range moderation.Grants {
		if g.Permission == p {
			return g
		}
	}
	t.Fatalf("permission %q is not in moderation.Grants", p)
	return moderation.Grant{}
}

// The pages follow the same table: a moderator's session may not open
// Settings (blocklists, erasure, exports) or Team.
func TestRolePages(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	mod, _ := e.login("mod")
	own, _ := e.login("admin")
	for _, p := range []struct {
		path    string
		forMods bool
	}{{"/admin", true}, {"/admin/audit", true}, {"/admin/account", true}, {"/admin/team", false}, {"/admin/settings", false}} {
		want := http.StatusForbidden
		if p.forMods {
			want = http.StatusOK
		}
		if got := e.do(request{method: http.MethodGet, path: p.path, cookie: mod}).Code; got != want {
			t.Errorf("moderator GET %s: %d, want %d", p.path, got, want)
		}
		if got := e.do(request{method: http.MethodGet, path: p.path, cookie: own}).Code; got != http.StatusOK {
			t.Errorf("owner GET %s: %d", p.path, got)
		}
	}
}
