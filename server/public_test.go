package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

func urlQuery(s string) string { return url.QueryEscape(s) }

func TestSubmitModeratePublish(t *testing.T) {
	e := newEnv(t)
	post := "/2015/12/xi-wuzhen"
	rec := e.request(http.MethodPost, "/api/comments", comment(post, "Ada", "First! *nice* post"))
	wantStatus(t, rec, http.StatusAccepted)
	got := decode[submitted](t, rec)
	if got.Status != "pending" || got.Message != "Your comment is awaiting moderation." || got.ID == "" {
		t.Fatalf("202 body = %+v", got)
	}

	if th := e.thread(post); th.Count != 0 || len(th.Comments) != 0 {
		t.Fatalf("pending comment is public: %+v", th)
	}
	queue := decode[commentPage](t, e.admin(http.MethodGet, "/api/admin/comments?status=pending", nil))
	if len(queue.Comments) != 1 || queue.Comments[0].Email != "reader@example.com" || queue.Comments[0].IPHash == "" {
		t.Fatalf("queue = %+v", queue)
	}

	e.approve(got.ID)
	th := e.thread(post)
	if th.Count != 1 || th.Post != post || len(th.Comments) != 1 {
		t.Fatalf("thread = %+v", th)
	}
	c := th.Comments[0]
	if c.ID != got.ID || c.Author != "Ada" || c.HTML != "<p>First! <em>nice</em> post</p>\n" || c.Parent != nil {
		t.Fatalf("published comment = %+v", c)
	}
	// What the moderator previewed is exactly what readers get.
	full := decode[moderation.Comment](t, e.admin(http.MethodGet, "/api/admin/comments/"+got.ID, nil))
	if full.HTML != c.HTML || full.Body != "First! *nice* post" {
		t.Fatalf("moderator HTML %q, public %q", full.HTML, c.HTML)
	}
}

func TestPublicOutputHidesPrivateFields(t *testing.T) {
	e := newEnv(t)
	id := e.submit(map[string]any{"post": "/p", "author": "Ada", "email": "secret-address@example.com",
		"website": "https://ada.example.com", "body": "raw *markdown* body"})
	e.approve(id)
	body := e.request(http.MethodGet, "/api/comments?post=/p", nil).Body.String()
	for _, private := range []string{"secret-address", "192.0.2.1", "raw *markdown*", "ip_hash", "user_agent", "history", "email"} {
		if strings.Contains(body, private) {
			t.Errorf("public thread contains %q: %s", private, body)
		}
	}
	// The server-rendered thread and the no-JS page show the same, no more.
	for _, path := range []string{"/api/comments?post=/p&format=html", "/p?post=/p"} {
		rec := e.request(http.MethodGet, path, nil)
		wantStatus(t, rec, http.StatusOK)
		page := rec.Body.String()
		if !strings.Contains(page, "<em>markdown</em>") {
			t.Errorf("%s does not show the comment: %s", path, page)
		}
		for _, private := range []string{"secret-address", "192.0.2.1", "raw *markdown*", e.svc.HashIP("192.0.2.1")} {
			if strings.Contains(page, private) {
				t.Errorf("%s contains %q", path, private)
			}
		}
	}
	if !strings.Contains(body, `"website":"https://ada.example.com"`) {
		t.Errorf("website missing: %s", body)
	}
	counts := e.request(http.MethodGet, "/api/counts?post=/p", nil).Body.String()
	if strings.Contains(counts, "secret") {
		t.Errorf("counts leak: %s", counts)
	}
}

func TestSubmitValidation(t *testing.T) {
	e := newEnv(t)
	rec := e.request(http.MethodPost, "/api/comments", map[string]any{"post": "/p", "email": "nope", "website": "ftp://x", "body": ""})
	body := wantError(t, rec, http.StatusBadRequest, "validation_failed")
	want := map[string]string{
		"author":  "is required",
		"email":   "must be a valid email address",
		"website": "must be an absolute http or https address, like https://example.com",
		"body":    "is required",
	}
	for field, msg := range want {
		if body.Error.Fields[field] != msg {
			t.Errorf("fields[%s] = %q, want %q", field, body.Error.Fields[field], msg)
		}
	}
	if len(body.Error.Fields) != len(want) {
		t.Errorf("fields = %v", body.Error.Fields)
	}
	queue := decode[commentPage](t, e.admin(http.MethodGet, "/api/admin/comments", nil))
	if len(queue.Comments) != 0 {
		t.Fatal("an invalid comment was stored")
	}
}

func TestSubmitRefusesInvalidUTF8AsSent(t *testing.T) {
	e := newEnv(t)
	raw := `{"post":"/p","author":"Ada","email":"a@example.com","body":"bad ` + "\xff\xfe" + ` bytes"}`
	body := wantError(t, e.request(http.MethodPost, "/api/comments", raw), http.StatusBadRequest, "validation_failed")
	if body.Error.Fields["body"] != "must be valid UTF-8 text" {
		t.Fatalf("fields = %v", body.Error.Fields)
	}
	form := "post=%2Fp&author=Ada&email=a%40example.com&body=bad%FF"
	body = wantError(t, e.request(http.MethodPost, "/api/comments", form, "Content-Type", "application/x-www-form-urlencoded"),
		http.StatusBadRequest, "validation_failed")
	if body.Error.Fields["body"] != "must be valid UTF-8 text" {
		t.Fatalf("form fields = %v", body.Error.Fields)
	}
}

func TestSubmitLimitsAndMediaTypes(t *testing.T) {
	e := newEnv(t)
	huge := comment("/p", "Ada", strings.Repeat("a", 70<<10))
	wantError(t, e.request(http.MethodPost, "/api/comments", huge), http.StatusRequestEntityTooLarge, "too_large")
	wantError(t, e.request(http.MethodPost, "/api/comments", "post=/p", "Content-Type", "text/plain"),
		http.StatusUnsupportedMediaType, "unsupported_media_type")
	wantError(t, e.request(http.MethodPost, "/api/comments", "{not json"), http.StatusBadRequest, "validation_failed")
	wantError(t, e.request(http.MethodPost, "/api/comments", `{"post": 5}`), http.StatusBadRequest, "validation_failed")
	wantError(t, e.request(http.MethodGet, "/api/nothing-here", nil), http.StatusNotFound, "not_found")
}

func TestPlainFormPostRedirectsBack(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"post": {"/p"}, "author": {"Ada"}, "email": {"a@example.com"}, "body": {"no JS here"}}.Encode()
	rec := e.request(http.MethodPost, "/api/comments", form, "Content-Type", "application/x-www-form-urlencoded",
		"Accept", "text/html,application/xhtml+xml", "Origin", testOrigin, "Referer", testOrigin+"/2015/post.html")
	wantStatus(t, rec, http.StatusSeeOther)
	if loc := rec.Header().Get("Location"); loc != testOrigin+"/2015/post.html#parley-submitted" {
		t.Fatalf("Location = %q", loc)
	}
	// A Referer elsewhere is not followed: no open redirect.
	rec = e.request(http.MethodPost, "/api/comments", form, "Content-Type", "application/x-www-form-urlencoded",
		"Accept", "text/html", "Referer", "https://evil.example/")
	wantStatus(t, rec, http.StatusSeeOther)
	if loc := rec.Header().Get("Location"); loc != "/p?post=%2Fp#parley-submitted" {
		t.Fatalf("Location = %q", loc)
	}
	// A form post that asks for JSON gets JSON.
	rec = e.request(http.MethodPost, "/api/comments", form, "Content-Type", "application/x-www-form-urlencoded")
	wantStatus(t, rec, http.StatusAccepted)
}

func TestReplies(t *testing.T) {
	e := newEnv(t)
	root := e.submit(comment("/p", "Ada", "root"))
	// A reply to an unapproved comment is refused, saying why.
	c := comment("/p", "Bob", "reply")
	c["parent"] = root
	body := wantError(t, e.request(http.MethodPost, "/api/comments", c), http.StatusBadRequest, "validation_failed")
	if body.Error.Fields["parent"] == "" {
		t.Fatalf("fields = %v", body.Error.Fields)
	}
	e.approve(root)
	other := comment("/other", "Bob", "wrong post")
	other["parent"] = root
	wantError(t, e.request(http.MethodPost, "/api/comments", other), http.StatusBadRequest, "validation_failed")

	// Nest MaxDepth replies deep, then one more: it joins the deepest level.
	parent := root
	var chain []string
	for i := 0; i <= moderation.MaxDepth; i++ {
		r := comment("/p", "Bob", fmt.Sprintf("reply %d", i))
		r["parent"] = parent
		id := e.submit(r)
		e.approve(id)
		chain = append(chain, id)
		parent = id
	}
	th := e.thread("/p")
	if th.Count != moderation.MaxDepth+2 {
		t.Fatalf("count = %d", th.Count)
	}
	byID := map[string]moderation.Public{}
	for _, pc := range th.Comments {
		byID[pc.ID] = pc
	}
	if p := byID[chain[0]].Parent; p == nil || *p != root {
		t.Fatalf("first reply's parent = %v", p)
	}
	last := byID[chain[moderation.MaxDepth]]
	if last.Parent == nil || *last.Parent != chain[moderation.MaxDepth-2] {
		t.Fatalf("the too-deep reply hangs from %v, want %s (its parent's parent)", last.Parent, chain[moderation.MaxDepth-2])
	}
}

func TestThreadETag(t *testing.T) {
	e := newEnv(t)
	e.approve(e.submit(comment("/p", "Ada", "one")))
	rec := e.request(http.MethodGet, "/api/comments?post=/p", nil)
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	wantStatus(t, e.request(http.MethodGet, "/api/comments?post=/p", nil, "If-None-Match", etag), http.StatusNotModified)
	e.approve(e.submit(comment("/p", "Bob", "two")))
	rec = e.request(http.MethodGet, "/api/comments?post=/p", nil, "If-None-Match", etag)
	wantStatus(t, rec, http.StatusOK)
	if rec.Header().Get("ETag") == etag {
		t.Fatal("ETag did not change with the thread")
	}
}

func TestCounts(t *testing.T) {
	e := newEnv(t)
	e.approve(e.submit(comment("/a", "Ada", "one")))
	e.approve(e.submit(comment("/a", "Bob", "two")))
	e.submit(comment("/b", "Cy", "pending only"))
	rec := e.request(http.MethodGet, "/api/counts?post=/a&post=/b&post=/none", nil)
	wantStatus(t, rec, http.StatusOK)
	got := decode[map[string]int](t, rec)
	if got["/a"] != 2 || got["/b"] != 0 || got["/none"] != 0 || len(got) != 3 {
		t.Fatalf("counts = %v", got)
	}
	var many []string
	for i := range moderation.MaxCountPosts + 1 {
		many = append(many, fmt.Sprintf("post=/p%d", i))
	}
	wantError(t, e.request(http.MethodGet, "/api/counts?"+strings.Join(many, "&"), nil), http.StatusBadRequest, "validation_failed")
	wantError(t, e.request(http.MethodGet, "/api/counts", nil), http.StatusBadRequest, "validation_failed")
}

func TestUnknownPostIsEmpty(t *testing.T) {
	e := newEnv(t)
	th := e.thread("/never-commented")
	if th.Count != 0 || len(th.Comments) != 0 {
		t.Fatalf("thread = %+v", th)
	}
	if body := e.request(http.MethodGet, "/api/comments?post=/x", nil).Body.String(); !strings.Contains(body, `"comments":[]`) {
		t.Fatalf("empty thread body %s, want an empty list", body)
	}
	wantError(t, e.request(http.MethodGet, "/api/comments", nil), http.StatusBadRequest, "validation_failed")
}

func TestCORS(t *testing.T) {
	e := newEnv(t)
	rec := e.request(http.MethodOptions, "/api/comments", nil, "Origin", testOrigin,
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
	if rec.Header().Get("Access-Control-Allow-Origin") != testOrigin {
		t.Fatalf("preflight from allowed origin: headers %v", rec.Header())
	}
	if rec.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Fatal("credentials must not be allowed")
	}
	rec = e.request(http.MethodGet, "/api/comments?post=/p", nil, "Origin", "https://evil.example")
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Fatalf("refused origin got Allow-Origin %q", got)
	}
	wantError(t, e.request(http.MethodPost, "/api/comments", comment("/p", "Eve", "x"), "Origin", "https://evil.example"),
		http.StatusForbidden, "forbidden")
	wantStatus(t, e.request(http.MethodPost, "/api/comments", comment("/p", "Ada", "x"), "Origin", testOrigin), http.StatusAccepted)
	// Parley's own pages (the public URL's origin) may post too.
	wantStatus(t, e.request(http.MethodPost, "/api/comments", comment("/p", "Ada", "y"), "Origin", "http://comments.example.com"), http.StatusAccepted)
}

// TestCORSPreflightEveryPublicPath: a browser's preflight before a call of
// the public API gets the full CORS answer from an allowed origin, whatever
// the path under /api (no route takes OPTIONS: the group's catch-all answers
// through the CORS middleware, see prebuiltGroup), and none from an origin of
// no site. Answers from the routes themselves, found or not, carry CORS too.
func TestCORSPreflightEveryPublicPath(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/api/comments", "/api/counts", "/api/form", "/api/verify", "/api/nowhere", "/api"} {
		rec := e.request(http.MethodOptions, path, nil, "Origin", testOrigin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
		h := rec.Header()
		if rec.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != testOrigin ||
			h.Get("Access-Control-Allow-Methods") != "GET,POST" || h.Get("Access-Control-Allow-Headers") != "Content-Type,If-None-Match" ||
			h.Get("Access-Control-Max-Age") != "86400" || !slices.Contains(h.Values("Vary"), "Origin") {
			t.Errorf("preflight of %s: %d %v", path, rec.Code, h)
		}
		rec = e.request(http.MethodOptions, path, nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
		if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight of %s from an origin of no site: %d %v", path, rec.Code, rec.Header())
		}
	}
	for path, status := range map[string]int{"/api/comments?post=/p": http.StatusOK, "/api/counts?post=/p": http.StatusOK, "/api/nowhere": http.StatusNotFound} {
		rec := e.request(http.MethodGet, path, nil, "Origin", testOrigin)
		if rec.Code != status || rec.Header().Get("Access-Control-Allow-Origin") != testOrigin ||
			rec.Header().Get("Access-Control-Expose-Headers") != "ETag,Retry-After" {
			t.Errorf("GET %s from an allowed origin: %d %v, want %d with CORS", path, rec.Code, rec.Header(), status)
		}
	}
	// checkOrigin, the group's other middleware, still guards every write.
	wantError(t, e.request(http.MethodPost, "/api/verify", map[string]string{"email": "a@example.com"}, "Origin", "https://evil.example"),
		http.StatusForbidden, "forbidden")
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	rec := e.request(http.MethodGet, "/api/comments?post=/p", nil)
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" ||
		rec.Header().Get("Content-Security-Policy") != "default-src 'none'; frame-ancestors 'none'" {
		t.Fatalf("headers = %v", rec.Header())
	}
	if rec := e.request(http.MethodGet, "/embed.js", nil); rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Code != 200 {
		t.Fatalf("embed.js: %d %v", rec.Code, rec.Header())
	}
}

// TestQueryParamAsParseQuery: the read path's own query reader finds what
// Echo's (url.ParseQuery) finds, for plain, escaped, repeated, empty and
// malformed parameters, and leaves a query of too many parameters to Echo.
func TestQueryParamAsParseQuery(t *testing.T) {
	many := strings.Repeat("x=1&", maxQueryScan) + "post=/p"
	for _, raw := range []string{
		"", "post=/p", "post=%2Fp%20q&site=b", "site=a&post=/a&post=/b", "post=", "post", "=x&post=/p",
		"post=a+b", "po%73t=/escaped-key", "post=%zz&post=/second", "post=/p;x&post=/q", "a;b=1&post=/p",
		"post=%E2%9C%93&format=html", "&&post=/p&&", "post=/p&site=%ZZ", "Post=/case", many,
	} {
		want, _ := url.ParseQuery(raw)
		req := httptest.NewRequest(http.MethodGet, "/api/comments?"+raw, nil)
		c := echo.New().NewContext(req, httptest.NewRecorder())
		for _, name := range []string{"post", "site", "format", "x"} {
			if got := queryParam(c, name); got != want.Get(name) {
				t.Errorf("%q: %s = %q, want %q", raw, name, got, want.Get(name))
			}
		}
	}
}
