package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parley/moderation"
	"parley/storage/testdb"
)

const testOrigin = "https://blog.example.com"

// env is the real server over a real database (see storage/testdb), with a
// moderator's API token.
type env struct {
	t     *testing.T
	srv   *Server
	svc   *moderation.Service
	token string
}

// openDB opens a fresh database, bbolt or PostgreSQL as PARLEY_TEST_STORE
// says, that closes with the test.
func openDB(t *testing.T) moderation.Store { return testdb.Open(t) }

func newEnv(t *testing.T, edit ...func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	db := openDB(t)
	svc, err := moderation.NewService(ctx, db, moderation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{PublicURL: "http://comments.example.com", Origins: []string{testOrigin}}
	for _, e := range edit {
		e(&cfg)
	}
	srv, err := New(cfg, svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := svc.CreateToken(ctx, "tests", moderation.RoleModerator, "")
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: srv, svc: svc, token: token}
}

// request sends body (a string as is, anything else as JSON) and returns the
// recorded response. Headers come in name, value pairs.
func (e *env) request(method, path string, body any, headers ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, r)
	req.RemoteAddr = "192.0.2.1:1234"
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	return rec
}

// admin sends a request with the moderator's token.
func (e *env) admin(method, path string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.request(method, path, body, "Authorization", "Bearer "+e.token)
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %q: %v", rec.Body.String(), err)
	}
	return v
}

func wantStatus(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d; body %s", rec.Code, status, rec.Body.String())
	}
}

type apiError struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// wantError checks the status and the contract's error code.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) apiError {
	t.Helper()
	wantStatus(t, rec, status)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q", ct)
	}
	body := decode[apiError](t, rec)
	if body.Error.Code != code || body.Error.Message == "" {
		t.Fatalf("error %+v, want code %q with a message", body.Error, code)
	}
	return body
}

func comment(post, author, body string) map[string]any {
	return map[string]any{"post": post, "author": author, "email": "reader@example.com", "body": body}
}

// submit posts a comment and returns its id.
func (e *env) submit(c map[string]any) string {
	e.t.Helper()
	rec := e.request(http.MethodPost, "/api/comments", c)
	wantStatus(e.t, rec, http.StatusAccepted)
	return decode[submitted](e.t, rec).ID
}

// approve approves a comment through the moderation API.
func (e *env) approve(id string) {
	e.t.Helper()
	wantStatus(e.t, e.admin(http.MethodPost, "/api/admin/comments/"+id+"/approve", nil), http.StatusOK)
}

func (e *env) thread(post string) thread {
	e.t.Helper()
	rec := e.request(http.MethodGet, "/api/comments?post="+urlQuery(post), nil)
	wantStatus(e.t, rec, http.StatusOK)
	return decode[thread](e.t, rec)
}

// testClock is a clock the test moves by hand, shared by the service and
// whatever else a test injects it into.
type testClock struct{ nanos atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.nanos.Store(time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *testClock) Now() time.Time            { return time.Unix(0, c.nanos.Load()).UTC() }
func (c *testClock) Advance(d time.Duration)   { c.nanos.Add(int64(d)) }
func (c *testClock) AdvanceSeconds(s float64)  { c.Advance(time.Duration(s * float64(time.Second))) }
func (c *testClock) Set(t time.Time)           { c.nanos.Store(t.UnixNano()) }
func (c *testClock) Since(t time.Time) float64 { return c.Now().Sub(t).Seconds() }
