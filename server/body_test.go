package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/metrics"
	"parley/moderation"
)

// lockedBuffer is a log sink the server's goroutines may share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A client that cuts its body off, or stalls past the read timeout, made a
// mistake of its own: it gets 400 or 408, an INFO line and the "aborted"
// outcome, never 500, an ERROR line or the "error" outcome that pages the
// operator. Over a real listener, since only a real connection can stall.
func TestIncompleteBodiesAreClientErrors(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	svc, err := moderation.NewService(ctx, db, moderation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(svc, db)
	var logs lockedBuffer
	srv, err := New(Config{PublicURL: "http://comments.example.com", Metrics: m, MetricsToken: "metrics-secret",
		Timeouts: Timeouts{ReadHeader: time.Second, Read: 700 * time.Millisecond, Write: 5 * time.Second, Idle: time.Second}},
		svc, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := svc.CreateToken(ctx, "tests", moderation.RoleOwner, "")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})

	// send writes head and the start of a body, then hangs up its sending
	// side (cut) or just waits (stall), and returns the answer.
	send := func(head, partial string, cut bool) *http.Response {
		t.Helper()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if _, err := io.WriteString(conn, head+"\r\n"+partial); err != nil {
			t.Fatal(err)
		}
		if cut {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body = io.NopCloser(bytes.NewReader(body))
		return res
	}
	submit := "POST /api/comments HTTP/1.1\r\nHost: comments.example.com\r\nContent-Type: application/json\r\n"
	partial := `{"post":"/a","author":"Ann","body":"Hel`
	for _, tc := range []struct {
		name, head, partial string
		cut                 bool
		status              int
		code                string
	}{
		{"cut off", submit + "Content-Length: 200\r\n", partial, true, http.StatusBadRequest, "validation_failed"},
		{"stalled", submit + "Content-Length: 200\r\n", partial, false, http.StatusRequestTimeout, "request_timeout"},
		{"bad chunking", submit + "Transfer-Encoding: chunked\r\n", "40\r\n" + partial, true, http.StatusBadRequest, "validation_failed"},
		{"import cut off", "POST /api/admin/import?format=ndjson HTTP/1.1\r\nHost: comments.example.com\r\nAuthorization: Bearer " + token +
			"\r\nContent-Type: application/x-ndjson\r\nContent-Length: 5000\r\n",
			`{"id":"1","post":"/a","author":"Ann","body":"Hello","status":"approved","created":"2024-01-01T00:00:00Z"}` + "\n" + `{"id":"2","po`,
			true, http.StatusBadRequest, "validation_failed"},
	} {
		res := send(tc.head, tc.partial, tc.cut)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != tc.status || !strings.Contains(string(body), `"code":"`+tc.code+`"`) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, res.StatusCode, body, tc.status, tc.code)
		}
	}

	scrape := httptestRequest(t, srv, "/metrics", "metrics-secret")
	for _, want := range []string{
		`parley_submissions_total{outcome="aborted",site="unknown"} 3`,
		`parley_submissions_total{outcome="error",site="default"} 0`,
		`parley_submissions_total{outcome="refused",site="default"} 0`,
	} {
		if !strings.Contains(scrape, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	out := logs.String()
	if strings.Contains(out, "level=ERROR") {
		t.Errorf("an incomplete body logged an error:\n%s", out)
	}
	if n := strings.Count(out, `level=INFO msg="request body incomplete"`); n != 4 {
		t.Errorf("%d INFO lines for 4 incomplete bodies:\n%s", n, out)
	}
	if strings.Contains(out, "127.0.0.1") {
		t.Errorf("the log holds an address:\n%s", out)
	}
}

// httptestRequest GETs path with a bearer token and returns the body.
func httptestRequest(t *testing.T, srv *Server, path, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://comments.example.com"+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec.Body.String()
}

// TestClientGoneIsNoFailure: a request whose client left (its context ended)
// before the database answered is not Parley's failure: no 500, no ERROR
// line. On PostgreSQL, whose queries end with the request's context, this is
// a real path; on bbolt the request simply completes.
func TestClientGoneIsNoFailure(t *testing.T) {
	ctx := context.Background()
	svc, err := moderation.NewService(ctx, openDB(t), moderation.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	srv, err := New(Config{PublicURL: "http://comments.example.com"}, svc, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := svc.CreateToken(ctx, "tests", moderation.RoleOwner, "")
	if err != nil {
		t.Fatal(err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	for _, path := range []string{"/api/admin/comments?status=pending", "/api/comments?post=/p", "/api/counts?post=/p"} {
		req := httptest.NewRequestWithContext(gone, http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("%s after the client left: %d %s", path, rec.Code, rec.Body)
		}
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a client leaving was logged as an error:\n%s", logs.String())
	}
}
