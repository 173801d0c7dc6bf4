package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"parley/moderation"
)

// adminEnv is the real server over a real database (see storage/testdb), with an owner "admin" and a
// moderator "mod", both with password testPassword.
type adminEnv struct {
	t     *testing.T
	srv   *Server
	svc   *moderation.Service
	db    moderation.Store
	clock *testClock
	url   string
}

const testPassword = "correct horse battery"

func newAdminEnv(t *testing.T, publicURL string) *adminEnv {
	t.Helper()
	ctx := context.Background()
	db := openDB(t)
	clk := newTestClock()
	svc, err := moderation.NewService(ctx, db, moderation.Options{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	addModerator(t, db, "admin", moderation.RoleOwner)
	addModerator(t, db, "mod", moderation.RoleModerator)
	srv, err := New(Config{PublicURL: publicURL}, svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &adminEnv{t: t, srv: srv, svc: svc, db: db, clock: clk, url: publicURL}
}

// addModerator stores a moderator with testPassword hashed at bcrypt's least
// cost: sign-in checks take the cost from the hash, and the race detector
// makes the default cost take seconds.
func addModerator(t *testing.T, db moderation.Store, name string, role moderation.Role) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	m := &moderation.Moderator{Name: name, Role: role, PasswordHash: hash, Created: time.Now().UTC()}
	if role != moderation.RoleOwner {
		m.Sites = map[string]moderation.SiteRole{moderation.DefaultSite: moderation.SiteModerator}
	}
	if err := db.CreateModerator(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// request is one HTTP request to the server, from a browser on Parley's own
// origin unless the test says otherwise.
type request struct {
	method, path string
	body         string
	form         url.Values
	cookie       *http.Cookie
	csrf         string
	header       map[string]string
	ip           string
}

func (e *adminEnv) do(r request) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	switch {
	case r.form != nil:
		body = strings.NewReader(r.form.Encode())
	case r.body != "":
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, e.url+r.path, body)
	switch {
	case r.form != nil:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case r.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	if r.ip != "" {
		req.RemoteAddr = r.ip + ":4321"
	}
	if r.cookie != nil {
		req.AddCookie(r.cookie)
	}
	if r.csrf != "" {
		req.Header.Set(csrfHeader, r.csrf)
	}
	if r.method != http.MethodGet {
		req.Header.Set("Origin", e.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range r.header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

// login signs in and returns the session cookie and the page's CSRF token.
func (e *adminEnv) login(name string) (*http.Cookie, string) {
	e.t.Helper()
	rec := e.do(request{method: http.MethodPost, path: "/admin/login", form: url.Values{"name": {name}, "password": {testPassword}}})
	if rec.Code != http.StatusSeeOther {
		e.t.Fatalf("login %s: status %d, body %s", name, rec.Code, rec.Body)
	}
	cookie := sessionCookieOf(e.t, rec)
	return cookie, e.csrfOf(cookie)
}

func (e *adminEnv) csrfOf(cookie *http.Cookie) string {
	e.t.Helper()
	page := e.do(request{method: http.MethodGet, path: "/admin", cookie: cookie})
	if page.Code != http.StatusOK {
		e.t.Fatalf("GET /admin: status %d", page.Code)
	}
	_, rest, ok := strings.Cut(page.Body.String(), `<meta name="csrf-token" content="`)
	token, _, _ := strings.Cut(rest, `"`)
	if !ok || token == "" {
		e.t.Fatal("the admin page carries no CSRF token")
	}
	return token
}

func sessionCookieOf(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	return cookieOf(t, rec, "parley_session")
}

// cookieOf is the cookie rec sets whose name ends in name (a __Host-
// prefix or not).
func cookieOf(t *testing.T, rec *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if strings.HasSuffix(c.Name, name) {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, rec.Header()["Set-Cookie"])
	return nil
}

// submit queues a comment as a reader would.
func (e *adminEnv) submit(post, author, body string) string {
	e.t.Helper()
	c, err := e.svc.Submit(context.Background(), moderation.DefaultSite, moderation.Submission{Post: post, Author: author,
		Email: strings.ToLower(author) + "@example.com", Body: body}, moderation.Client{IP: "198.51.100.7"})
	if err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

// errCode is the contract error code of an answer, for one-value checks.
func errCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	code, _ := errorCode(t, rec)
	return code
}
