package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"parley/moderation"
)

// guarded is the real server with the anti-spam pipeline over a real database,
// with an injected clock and an owner's and a moderator's API token.
type guarded struct {
	t         *testing.T
	db        moderation.Store
	srv       *Server
	svc       *moderation.Service
	spam      *moderation.SpamFilter
	clock     *testClock
	owner     string
	moderator string
}

// newGuarded builds it; opts and cfg are the pipeline's and the server's
// settings (PublicURL is filled in).
func newGuarded(t *testing.T, opts moderation.SpamOptions, cfg Config) *guarded {
	t.Helper()
	ctx := context.Background()
	db := openDB(t)
	var err error
	g := &guarded{t: t, db: db, clock: newTestClock()}
	opts.Clock = g.clock.Now
	if g.spam, err = moderation.NewSpamFilter(ctx, db, opts); err != nil {
		t.Fatal(err)
	}
	if g.svc, err = moderation.NewService(ctx, db, moderation.Options{Clock: g.clock.Now, Checks: g.spam.Checks()}); err != nil {
		t.Fatal(err)
	}
	cfg.PublicURL, cfg.Spam = "https://comments.example.com", g.spam
	if g.srv, err = New(cfg, g.svc, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if g.owner, _, err = g.svc.CreateToken(ctx, "owner", moderation.RoleOwner, ""); err != nil {
		t.Fatal(err)
	}
	if g.moderator, _, err = g.svc.CreateToken(ctx, "mod", moderation.RoleModerator, ""); err != nil {
		t.Fatal(err)
	}
	return g
}

// guardedDefaults is the shipped pipeline, without rate limit so that tests
// can post many comments from one address.
func guardedDefaults(t *testing.T) *guarded {
	return newGuarded(t, moderation.DefaultSpamOptions(), Config{})
}

// request sends one request as a client at addr (e.g. "198.51.100.7:4000"),
// with a JSON body unless body is nil, and the given headers.
func (g *guarded) request(method, path, addr string, body any, headers ...string) *httptest.ResponseRecorder {
	g.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			g.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if addr != "" {
		req.RemoteAddr = addr
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	g.srv.ServeHTTP(rec, req)
	return rec
}

// as sends an admin request with an API token.
func (g *guarded) as(token, method, path string, body any) *httptest.ResponseRecorder {
	return g.request(method, path, "192.0.2.1:1000", body, "Authorization", "Bearer "+token)
}

// form gets a form token for post, as the widget does when it shows the form.
func (g *guarded) form(post string) moderation.Form {
	g.t.Helper()
	rec := g.request(http.MethodGet, "/api/form?post="+post, "198.51.100.7:4000", nil)
	if rec.Code != http.StatusOK {
		g.t.Fatalf("GET /api/form: %d %s", rec.Code, rec.Body)
	}
	var f moderation.Form
	decodeInto(g.t, rec, &f)
	return f
}

// ham is a genuine comment's fields on post, with a token already filled in.
func ham(post, token string) map[string]string {
	return map[string]string{"post": post, "author": "Ada", "email": "ada@example.org",
		"body": "I tried this on my own blog and it worked first time. Thank you!", "token": token}
}

// submit posts fields from addr and returns the answer; a 202 must be the
// ordinary pending answer whatever the pipeline decided.
func (g *guarded) submit(fields map[string]string, addr string) *httptest.ResponseRecorder {
	g.t.Helper()
	rec := g.request(http.MethodPost, "/api/comments", addr, fields)
	if rec.Code == http.StatusAccepted {
		var got map[string]any
		decodeInto(g.t, rec, &got)
		if got["status"] != "pending" || got["message"] != "Your comment is awaiting moderation." || len(got) != 3 {
			g.t.Fatalf("202 answer %v is not the ordinary pending answer", got)
		}
	}
	return rec
}

// stored returns the comment a 202 answer names, as moderators see it.
func (g *guarded) stored(rec *httptest.ResponseRecorder) *moderation.Comment {
	g.t.Helper()
	if rec.Code != http.StatusAccepted {
		g.t.Fatalf("submit: %d %s", rec.Code, rec.Body)
	}
	var got struct{ ID string }
	decodeInto(g.t, rec, &got)
	res := g.as(g.moderator, http.MethodGet, "/api/admin/comments/"+got.ID, nil)
	if res.Code != http.StatusOK {
		g.t.Fatalf("get comment: %d %s", res.Code, res.Body)
	}
	var c moderation.Comment
	decodeInto(g.t, res, &c)
	return &c
}

// reason is why the pipeline filed c, "" when it let it through.
func reason(c *moderation.Comment) string {
	if len(c.History) == 0 {
		return ""
	}
	return c.History[0].Reason
}

func decodeInto(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("decode %q: %v", rec.Body, err)
	}
}

// errorCode is the contract's error code of an answer.
func errorCode(t *testing.T, rec *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	decodeInto(t, rec, &e)
	return e.Error.Code, e.Error.Message
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
