package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/moderation"
)

func TestSessionCookieFlags(t *testing.T) {
	for _, tc := range []struct {
		publicURL, name string
		secure          bool
	}{
		{"http://127.0.0.1:8080", "parley_session", false},
		{"https://comments.example.com", "__Host-parley_session", true},
	} {
		e := newAdminEnv(t, tc.publicURL)
		rec := e.do(request{method: http.MethodPost, path: "/admin/login", form: url.Values{"name": {"admin"}, "password": {testPassword}}})
		c := sessionCookieOf(t, rec)
		if c.Name != tc.name || c.Secure != tc.secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
			t.Errorf("%s: cookie %+v", tc.publicURL, c)
		}
		if c.MaxAge != int(moderation.SessionLifetime/time.Second) {
			t.Errorf("%s: Max-Age %d", tc.publicURL, c.MaxAge)
		}
		if got := rec.Header().Get("Location"); got != "/admin" {
			t.Errorf("%s: login redirects to %q", tc.publicURL, got)
		}
	}
}

func TestLoginFailuresAreThrottled(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	try := func(password, ip string) int {
		return e.do(request{method: http.MethodPost, path: "/admin/login", ip: ip,
			form: url.Values{"name": {"admin"}, "password": {password}}}).Code
	}
	for i := range 5 {
		if got := try("wrong password", "192.0.2.1"); got != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, got)
		}
	}
	// This client is now throttled on this account, even with the right password.
	rec := e.do(request{method: http.MethodPost, path: "/admin/login", ip: "192.0.2.1",
		form: url.Values{"name": {"admin"}, "password": {testPassword}}})
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("after 5 failures: status %d, want 429", rec.Code)
	}
	if s, _ := strconv.Atoi(rec.Header().Get("Retry-After")); s < 1 || s > 31 {
		t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	if !strings.Contains(rec.Body.String(), "Too many failed sign-ins") {
		t.Errorf("the form does not say why:\n%s", rec.Body)
	}
	// Five failures from one address lock nobody else out.
	if got := try(testPassword, "192.0.2.99"); got != http.StatusSeeOther {
		t.Fatalf("another client, right password: status %d, want 303", got)
	}
	// Each further failure doubles the wait.
	e.clock.Advance(31 * time.Second)
	if got := try("wrong again", "192.0.2.1"); got != http.StatusUnauthorized {
		t.Fatalf("after the wait: status %d, want 401", got)
	}
	e.clock.Advance(31 * time.Second)
	if got := try(testPassword, "192.0.2.1"); got != http.StatusTooManyRequests {
		t.Fatalf("within the doubled wait: status %d, want 429", got)
	}
	e.clock.Advance(31 * time.Second)
	if got := try(testPassword, "192.0.2.1"); got != http.StatusSeeOther {
		t.Fatalf("after the doubled wait: status %d, want 303", got)
	}
}

// deviceCookieOf is the device cookie a successful sign-in set.
func deviceCookieOf(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	return cookieOf(t, rec, "parley_device")
}

// An attacker hammering the owner's public name from many addresses, under
// every spelling of it, is throttled, and the owner still signs in from a
// browser that signed in before, wherever it is now.
func TestAttackerCannotLockTheOwnerOut(t *testing.T) {
	e := newAdminEnv(t, "https://comments.example.com")
	login := func(name, password, ip string, device *http.Cookie) *httptest.ResponseRecorder {
		return e.do(request{method: http.MethodPost, path: "/admin/login", ip: ip, cookie: device,
			form: url.Values{"name": {name}, "password": {password}}})
	}
	first := login("admin", testPassword, "192.0.2.10", nil)
	if first.Code != http.StatusSeeOther {
		t.Fatalf("owner's first sign-in: %d", first.Code)
	}
	device := deviceCookieOf(t, first)
	if device.Name != "__Host-parley_device" || !device.Secure || !device.HttpOnly || device.SameSite != http.SameSiteStrictMode ||
		device.Path != "/" || device.MaxAge != int(moderation.DeviceLifetime/time.Second) {
		t.Errorf("device cookie %+v", device)
	}

	spellings := []string{"admin", "ADMIN", " admin", "Admin ", "\tadmin\n"}
	var throttled int
	for i := range 300 {
		ip := "203.0.113." + strconv.Itoa(i/5+1) // 60 addresses, 5 tries each
		switch login(spellings[i%len(spellings)], "guess"+strconv.Itoa(i), ip, nil).Code {
		case http.StatusTooManyRequests:
			throttled++
		case http.StatusUnauthorized:
		default:
			t.Fatalf("attack try %d: unexpected status", i)
		}
	}
	if throttled == 0 {
		t.Error("300 guesses from 60 addresses were never throttled")
	}
	// A fresh address of the attacker's is slowed by the account's ceiling...
	if got := login("admin", "one more guess", "198.51.100.200", nil).Code; got != http.StatusTooManyRequests {
		t.Errorf("attacker from a fresh address: %d, want 429", got)
	}
	// ...and an attacker's own address stays throttled.
	if got := login("admin", "guess", "203.0.113.1", nil).Code; got != http.StatusTooManyRequests {
		t.Errorf("attacker's address: %d, want 429", got)
	}
	// The owner, from the known browser, signs in at once: from home, and
	// even from one of the attacker's addresses (a shared network).
	for _, ip := range []string{"192.0.2.10", "203.0.113.1"} {
		rec := login(" Admin ", testPassword, ip, device)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("owner from a known device at %s: %d, want 303", ip, rec.Code)
		}
		device = deviceCookieOf(t, rec) // each sign-in renews it
	}

	// The device cookie proves nothing for another account, nor forged.
	modDevice := deviceCookieOf(t, login("mod", testPassword, "192.0.2.20", nil))
	if got := login("admin", testPassword, "192.0.2.20", modDevice).Code; got != http.StatusTooManyRequests {
		t.Errorf("mod's device cookie on admin: %d, want 429", got)
	}
	forged := *device
	forged.Value = strings.Replace(forged.Value, ".", ".A", 1)
	if got := login("admin", testPassword, "192.0.2.21", &forged).Code; got != http.StatusTooManyRequests {
		t.Errorf("forged device cookie: %d, want 429", got)
	}

	// A known device that guesses is throttled too, on its own.
	for range 5 {
		login("admin", "wrong password", "192.0.2.10", device)
	}
	if got := login("admin", testPassword, "192.0.2.10", device).Code; got != http.StatusTooManyRequests {
		t.Errorf("known device after 5 failures: %d, want 429", got)
	}
}

func TestModeratorNamesFold(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	for _, name := range []string{"ADMIN", "  admin ", "Admin"} {
		rec := e.do(request{method: http.MethodPost, path: "/admin/login", form: url.Values{"name": {name}, "password": {testPassword}}})
		if rec.Code != http.StatusSeeOther {
			t.Errorf("sign in as %q: %d", name, rec.Code)
		}
	}
	cookie, csrf := e.login("admin")
	for _, name := range []string{"MOD", " mod", "Bea  Li"} {
		rec := e.do(request{method: http.MethodPost, path: "/api/admin/moderators", cookie: cookie, csrf: csrf,
			body: `{"name":"` + name + `","password":"` + testPassword + `"}`})
		want := http.StatusBadRequest
		if name == "Bea  Li" {
			want = http.StatusCreated
		}
		if rec.Code != want {
			t.Errorf("add %q: %d %s, want %d", name, rec.Code, rec.Body, want)
		}
	}
	// Inner white space folds too, and the name is kept with one space.
	if rec := e.do(request{method: http.MethodPatch, path: "/api/admin/moderators/bea%20%20%20li", cookie: cookie, csrf: csrf, body: `{"role":"owner"}`}); rec.Code != http.StatusNoContent {
		t.Errorf("promote by a folded name: %d %s", rec.Code, rec.Body)
	}
	rec := e.do(request{method: http.MethodGet, path: "/api/admin/moderators", cookie: cookie})
	if !strings.Contains(rec.Body.String(), `"name":"Bea Li","role":"owner"`) {
		t.Errorf("team: %s", rec.Body)
	}
	if rec := e.do(request{method: http.MethodDelete, path: "/api/admin/moderators/ADMIN", cookie: cookie, csrf: csrf}); rec.Code != http.StatusConflict {
		t.Errorf("removing oneself under another spelling: %d", rec.Code)
	}
}

func TestLoginThrottlesAClientGuessingManyNames(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	for i := range 5 {
		addModerator(t, e.db, "user"+strconv.Itoa(i), moderation.RoleModerator)
	}
	// 4 failures on each of 5 names: no name reaches its own limit.
	for i := range 20 {
		rec := e.do(request{method: http.MethodPost, path: "/admin/login", ip: "203.0.113.9",
			form: url.Values{"name": {"user" + strconv.Itoa(i%5)}, "password": {"whatever12345"}}})
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("try %d: %d", i, rec.Code)
		}
	}
	rec := e.do(request{method: http.MethodPost, path: "/admin/login", ip: "203.0.113.9",
		form: url.Values{"name": {"mod"}, "password": {testPassword}}})
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("21st try from the same client: %d, want 429", rec.Code)
	}
	rec = e.do(request{method: http.MethodPost, path: "/admin/login", ip: "203.0.113.10",
		form: url.Values{"name": {"mod"}, "password": {testPassword}}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("another client: %d, want 303", rec.Code)
	}
}

func TestSessionExpiry(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	get := func(cookie *http.Cookie, header map[string]string) int {
		return e.do(request{method: http.MethodGet, path: "/api/admin/counts", cookie: cookie, header: header}).Code
	}

	t.Run("idle", func(t *testing.T) {
		cookie, _ := e.login("admin")
		e.clock.Advance(moderation.SessionIdle - time.Minute)
		if got := get(cookie, nil); got != http.StatusOK {
			t.Fatalf("within the idle time: %d", got)
		}
		// Polling does not count as use.
		e.clock.Advance(moderation.SessionIdle - time.Minute)
		if got := get(cookie, map[string]string{pollHeader: "1"}); got != http.StatusOK {
			t.Fatalf("poll within the idle time: %d", got)
		}
		e.clock.Advance(2 * time.Minute)
		if got := get(cookie, map[string]string{pollHeader: "1"}); got != http.StatusUnauthorized {
			t.Fatalf("idle past the limit: %d, want 401", got)
		}
		if got := get(cookie, nil); got != http.StatusUnauthorized {
			t.Fatalf("an expired session came back: %d", got)
		}
	})

	t.Run("absolute", func(t *testing.T) {
		cookie, _ := e.login("admin")
		for elapsed := time.Duration(0); elapsed < moderation.SessionLifetime-time.Hour; elapsed += time.Hour {
			e.clock.Advance(time.Hour)
			if got := get(cookie, nil); got != http.StatusOK {
				t.Fatalf("in use after %v: %d", elapsed+time.Hour, got)
			}
		}
		e.clock.Advance(time.Hour + time.Second)
		if got := get(cookie, nil); got != http.StatusUnauthorized {
			t.Fatalf("past the lifetime: %d, want 401", got)
		}
	})
}

func TestCSRFAndCrossSiteRequests(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	cookie, csrf := e.login("mod")
	id := e.submit("/p", "Ada", "hello")
	approve := "/api/admin/comments/" + id + "/approve"

	for _, tc := range []struct {
		name   string
		req    request
		status int
	}{
		{"no token", request{cookie: cookie}, http.StatusForbidden},
		{"wrong token", request{cookie: cookie, csrf: "not-the-token"}, http.StatusForbidden},
		{"cross-site with token", request{cookie: cookie, csrf: csrf, header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}}, http.StatusForbidden},
		{"foreign origin, old browser", request{cookie: cookie, csrf: csrf, header: map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}}, http.StatusForbidden},
		{"cross-site without cookie", request{header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, http.StatusForbidden},
		{"no cookie", request{}, http.StatusUnauthorized},
	} {
		tc.req.method, tc.req.path = http.MethodPost, approve
		rec := e.do(tc.req)
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, rec.Code, tc.status, rec.Body)
		}
		if want := map[int]string{403: "forbidden", 401: "unauthorized"}[tc.status]; errCode(t, rec) != want {
			t.Errorf("%s: code %s, want %s", tc.name, errCode(t, rec), want)
		}
	}
	if c, _ := e.svc.Comment(t.Context(), moderation.Actor{Role: moderation.RoleOwner}, moderation.DefaultSite, id); c.Status != moderation.StatusPending {
		t.Fatalf("a refused request changed the comment: %s", c.Status)
	}

	// GET needs no token; the right token with the cookie moves the comment.
	if rec := e.do(request{method: http.MethodGet, path: "/api/admin/comments/" + id, cookie: cookie}); rec.Code != http.StatusOK {
		t.Errorf("GET with the cookie: %d", rec.Code)
	}
	if rec := e.do(request{method: http.MethodPost, path: approve, cookie: cookie, csrf: csrf}); rec.Code != http.StatusOK {
		t.Fatalf("with the token: %d %s", rec.Code, rec.Body)
	}

	// Scripts with a bearer token need no CSRF token.
	secret, _, err := e.svc.CreateToken(t.Context(), "script", moderation.RoleModerator, "")
	if err != nil {
		t.Fatal(err)
	}
	rec := e.do(request{method: http.MethodPost, path: "/api/admin/comments/" + id + "/reject",
		header: map[string]string{"Authorization": "Bearer " + secret, "Origin": "", "Sec-Fetch-Site": ""}})
	if rec.Code != http.StatusOK {
		t.Fatalf("bearer token: %d %s", rec.Code, rec.Body)
	}
}

func TestLogout(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	cookie, csrf := e.login("admin")
	if rec := e.do(request{method: http.MethodPost, path: "/admin/logout", cookie: cookie}); rec.Code != http.StatusForbidden {
		t.Fatalf("logout without the token: %d", rec.Code)
	}
	rec := e.do(request{method: http.MethodPost, path: "/admin/logout", cookie: cookie, form: url.Values{"csrf": {csrf}}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/login" {
		t.Fatalf("logout: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if c := sessionCookieOf(t, rec); c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("logout leaves the cookie: %+v", c)
	}
	if rec := e.do(request{method: http.MethodGet, path: "/admin", cookie: cookie}); rec.Code != http.StatusSeeOther {
		t.Errorf("the old cookie still opens the page: %d", rec.Code)
	}
	entries, _ := e.svc.AuditLog(t.Context(), moderation.Actor{Role: moderation.RoleOwner}, "", 10, 0)
	if len(entries) < 2 || entries[0].Action != "logout" || entries[1].Action != "login" {
		t.Errorf("audit: %+v", entries)
	}
}

func TestLoginPage(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	if rec := e.do(request{method: http.MethodGet, path: "/admin"}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/login" {
		t.Fatalf("GET /admin without a session: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	rec := e.do(request{method: http.MethodGet, path: "/admin/login"})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `name="password"`) {
		t.Fatalf("login page: %d", rec.Code)
	}
	rec = e.do(request{method: http.MethodPost, path: "/admin/login", form: url.Values{"name": {"admin"}, "password": {"nope nope nope"}}})
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "do not match") || !strings.Contains(rec.Body.String(), `value="admin"`) {
		t.Fatalf("wrong password: %d\n%s", rec.Code, rec.Body)
	}
	rec = e.do(request{method: http.MethodPost, path: "/admin/login", header: map[string]string{"Sec-Fetch-Site": "cross-site"},
		form: url.Values{"name": {"admin"}, "password": {testPassword}}})
	if rec.Code != http.StatusForbidden || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("cross-site login: %d, cookies %v", rec.Code, rec.Result().Cookies())
	}
}

func TestOwnersManageTokensAndTeam(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	modCookie, modCSRF := e.login("mod")
	ownCookie, ownCSRF := e.login("admin")

	for _, path := range []string{"/api/admin/tokens", "/api/admin/moderators"} {
		rec := e.do(request{method: http.MethodPost, path: path, cookie: modCookie, csrf: modCSRF, body: `{"name":"x","password":"long enough pw"}`})
		if rec.Code != http.StatusForbidden || errCode(t, rec) != "forbidden" {
			t.Errorf("moderator POST %s: %d", path, rec.Code)
		}
	}
	if rec := e.do(request{method: http.MethodGet, path: "/admin/team", cookie: modCookie}); rec.Code != http.StatusForbidden {
		t.Errorf("moderator opens the team page: %d", rec.Code)
	}

	rec := e.do(request{method: http.MethodPost, path: "/api/admin/tokens", cookie: ownCookie, csrf: ownCSRF, body: `{"name":"backup","role":"moderator"}`})
	if rec.Code != http.StatusCreated {
		t.Fatalf("owner creates a token: %d %s", rec.Code, rec.Body)
	}
	var created struct {
		Token, ID string
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &created)
	if !strings.HasPrefix(created.Token, "parley_") {
		t.Fatalf("no secret in %s", rec.Body)
	}
	bearer := map[string]string{"Authorization": "Bearer " + created.Token}
	if rec := e.do(request{method: http.MethodGet, path: "/api/admin/counts", header: bearer}); rec.Code != http.StatusOK {
		t.Fatalf("the new token does not work: %d", rec.Code)
	}
	rec = e.do(request{method: http.MethodGet, path: "/api/admin/tokens", cookie: ownCookie})
	if strings.Contains(rec.Body.String(), created.Token) || strings.Contains(rec.Body.String(), "hash") ||
		!strings.Contains(rec.Body.String(), `"last_used"`) {
		t.Errorf("token list: %s", rec.Body)
	}
	if rec := e.do(request{method: http.MethodDelete, path: "/api/admin/tokens/" + created.ID, cookie: ownCookie, csrf: ownCSRF}); rec.Code != http.StatusNoContent {
		t.Fatalf("revoke: %d", rec.Code)
	}
	if rec := e.do(request{method: http.MethodGet, path: "/api/admin/counts", header: bearer}); rec.Code != http.StatusUnauthorized {
		t.Errorf("a revoked token still works: %d", rec.Code)
	}

	// Moderators: add, promote, demote, remove; the last owner stays.
	rec = e.do(request{method: http.MethodPost, path: "/api/admin/moderators", cookie: ownCookie, csrf: ownCSRF, body: `{"name":"Bea Li","password":"short"}`})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"password"`) {
		t.Errorf("short password: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(request{method: http.MethodPost, path: "/api/admin/moderators", cookie: ownCookie, csrf: ownCSRF, body: `{"name":"Bea Li","password":"` + testPassword + `"}`})
	if rec.Code != http.StatusCreated {
		t.Fatalf("add: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(request{method: http.MethodPatch, path: "/api/admin/moderators/admin", cookie: ownCookie, csrf: ownCSRF, body: `{"role":"moderator"}`}); rec.Code != http.StatusConflict {
		t.Errorf("demoting the last owner: %d", rec.Code)
	}
	if rec := e.do(request{method: http.MethodPatch, path: "/api/admin/moderators/Bea%20Li", cookie: ownCookie, csrf: ownCSRF, body: `{"role":"owner"}`}); rec.Code != http.StatusNoContent {
		t.Errorf("promote: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(request{method: http.MethodDelete, path: "/api/admin/moderators/admin", cookie: ownCookie, csrf: ownCSRF}); rec.Code != http.StatusConflict {
		t.Errorf("removing oneself: %d", rec.Code)
	}
	// Removing a moderator ends their session at once.
	if rec := e.do(request{method: http.MethodDelete, path: "/api/admin/moderators/mod", cookie: ownCookie, csrf: ownCSRF}); rec.Code != http.StatusNoContent {
		t.Fatalf("remove: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(request{method: http.MethodGet, path: "/api/admin/counts", cookie: modCookie}); rec.Code != http.StatusUnauthorized {
		t.Errorf("a removed moderator's session still works: %d", rec.Code)
	}
	rec = e.do(request{method: http.MethodGet, path: "/api/admin/moderators", cookie: ownCookie})
	if body := rec.Body.String(); strings.Contains(body, "password") || !strings.Contains(body, `"Bea Li"`) || strings.Contains(body, `"mod"`) {
		t.Errorf("team: %s", body)
	}
	entries, _ := e.svc.AuditLog(t.Context(), moderation.Actor{Role: moderation.RoleOwner}, "", 50, 0)
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action)
	}
	if got := strings.Join(actions, " "); !strings.Contains(got, "moderator.remove moderator.role moderator.add token.revoke token.create") {
		t.Errorf("audit actions: %s", got)
	}
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	other, _ := e.login("mod")
	cookie, csrf := e.login("mod")
	rec := e.do(request{method: http.MethodPost, path: "/api/admin/account/password", cookie: cookie, csrf: csrf,
		body: `{"current":"wrong password","password":"a brand new password"}`})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"current"`) {
		t.Fatalf("wrong current password: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(request{method: http.MethodPost, path: "/api/admin/account/password", cookie: cookie, csrf: csrf,
		body: `{"current":"` + testPassword + `","password":"a brand new password"}`})
	if rec.Code != http.StatusNoContent {
		t.Fatalf("change: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(request{method: http.MethodGet, path: "/api/admin/counts", cookie: other}); rec.Code != http.StatusUnauthorized {
		t.Errorf("the other session survived: %d", rec.Code)
	}
	if rec := e.do(request{method: http.MethodGet, path: "/api/admin/counts", cookie: cookie}); rec.Code != http.StatusOK {
		t.Errorf("the session in use ended: %d", rec.Code)
	}
	if _, err := e.svc.Login(t.Context(), "mod", "a brand new password"); err != nil {
		t.Errorf("the new password does not work: %v", err)
	}
}

// A link from another site arrives without the SameSite=Strict cookie: the
// page reloads itself as a same-site navigation instead of asking to sign in.
func TestCrossSiteLinkReloadsWithTheCookie(t *testing.T) {
	e := newAdminEnv(t, "http://127.0.0.1:8080")
	rec := e.do(request{method: http.MethodGet, path: "/admin?status=pending", header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	if rec.Code != http.StatusOK || rec.Header().Get("Refresh") != "0" || !strings.Contains(rec.Body.String(), `http-equiv="refresh"`) {
		t.Fatalf("cross-site link: %d %v", rec.Code, rec.Header())
	}
	rec = e.do(request{method: http.MethodGet, path: "/admin?status=pending", header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/login" {
		t.Fatalf("the reload without a session: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
}
