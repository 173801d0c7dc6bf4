package server

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// logLines is a log sink that tests read back as JSON lines.
type logLines struct{ lockedBuffer }

// requests returns the access log's lines.
func (l *logLines) requests(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// serveLogged runs the real server on a loopback socket, logging JSON to the
// returned sink.
func serveLogged(t *testing.T, cfg Config) (*httptest.Server, *logLines) {
	t.Helper()
	logs := &logLines{}
	ps := newPerfServerLogging(t, cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	ts := httptest.NewServer(ps.srv)
	t.Cleanup(ts.Close)
	return ts, logs
}

// getWithID sends GET path with an X-Request-ID and returns the one the
// server answered with.
func getWithID(t *testing.T, ts *httptest.Server, path, id string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	req.Header.Set("X-Request-ID", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-Request-ID")
}

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRequestIDsAreTheServers: a client's X-Request-ID is never adopted nor
// logged, whether or not proxies are trusted, as long as the client is not
// one of them. The server's own IDs are unique and logged with the request.
func TestRequestIDsAreTheServers(t *testing.T) {
	for name, trusted := range map[string][]*net.IPNet{
		"no trusted proxies":             nil,
		"peer not among trusted proxies": {mustCIDR(t, "10.0.0.0/8")},
	} {
		t.Run(name, func(t *testing.T) {
			ts, logs := serveLogged(t, Config{TrustedProxies: trusted})
			const forged = "forged-request-id-0001"
			seen := map[string]bool{}
			for _, path := range []string{"/healthz", "/api/comments?post=/p", "/api/nowhere"} {
				id := getWithID(t, ts, path, forged)
				if id == "" || id == forged || seen[id] {
					t.Fatalf("GET %s: X-Request-ID %q; want a new one of the server's", path, id)
				}
				seen[id] = true
			}
			lines := logs.requests(t)
			if len(lines) != 3 {
				t.Fatalf("%d request lines, want 3", len(lines))
			}
			for _, l := range lines {
				if !seen[l["request_id"].(string)] {
					t.Errorf("logged request_id %v is not one the client was sent", l["request_id"])
				}
				if up, ok := l["upstream_request_id"]; ok {
					t.Errorf("logged upstream_request_id %v from an untrusted client", up)
				}
			}
			logs.mu.Lock()
			defer logs.mu.Unlock()
			if strings.Contains(logs.buf.String(), forged) {
				t.Errorf("the client's ID reached the log:\n%s", logs.buf.String())
			}
		})
	}
}

// TestRequestIDFromTrustedProxy: the ID a trusted proxy sends is logged as
// its own field, cleaned and capped, beside the server's.
func TestRequestIDFromTrustedProxy(t *testing.T) {
	ts, logs := serveLogged(t, Config{TrustedProxies: []*net.IPNet{mustCIDR(t, "127.0.0.1/32")}})
	long := "nginx-" + strings.Repeat("0123456789", 20)
	sent := []string{"9f86d081884c7d659a2feaa0c55ad015", long, "a b\tc\"dé"}
	want := []string{"9f86d081884c7d659a2feaa0c55ad015", long[:maxUpstreamID], `abc"d`}
	var ids []string
	for _, up := range sent {
		ids = append(ids, getWithID(t, ts, "/healthz", up))
	}
	lines := logs.requests(t)
	if len(lines) != len(sent) {
		t.Fatalf("%d request lines, want %d", len(lines), len(sent))
	}
	for i, l := range lines {
		if ids[i] == sent[i] || l["request_id"] != ids[i] {
			t.Errorf("request %d: X-Request-ID %q, logged request_id %v; want the server's own in both", i, ids[i], l["request_id"])
		}
		if l["upstream_request_id"] != want[i] {
			t.Errorf("request %d: upstream_request_id %q, want %q", i, l["upstream_request_id"], want[i])
		}
	}
}

// TestNoAccessLog: with the access log off, requests write no line.
func TestNoAccessLog(t *testing.T) {
	ts, logs := serveLogged(t, Config{NoAccessLog: true})
	if id := getWithID(t, ts, "/healthz", "x"); id == "" || id == "x" {
		t.Errorf("X-Request-ID %q: the server names requests with the log off too", id)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if logs.buf.Len() != 0 {
		t.Errorf("log with the access log off:\n%s", logs.buf.String())
	}
}

// TestRootChainAroundEveryAnswer: the middleware every request goes through
// (built once, see Server.ServeHTTP) wraps matched routes, unmatched paths,
// wrong methods and a handler that panics alike: each answer is named,
// carries the security headers and is logged with every field and the
// status the client got. (The panic's stack goes to Echo's logger.)
func TestRootChainAroundEveryAnswer(t *testing.T) {
	logs := &logLines{}
	ps := newPerfServerLogging(t, Config{Metrics: servedMetrics}, slog.New(slog.NewJSONHandler(logs, nil)))
	ps.srv.echo.GET("/boom", func(echo.Context) error { panic("bug") })
	ts := httptest.NewServer(ps.srv)
	t.Cleanup(ts.Close)
	cases := []struct {
		method, path, route string
		status              int
	}{
		{http.MethodGet, "/api/comments?post=/p", "/api/comments", http.StatusOK},
		{http.MethodGet, "/nowhere", "", http.StatusNotFound},
		{http.MethodDelete, "/healthz", "/healthz", http.StatusNotFound}, // Echo's answer, with Allow
		{http.MethodGet, "/boom", "/boom", http.StatusInternalServerError},
	}
	var ids []string
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("X-Request-ID") == "" ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") == "" {
			t.Errorf("%s %s: %d %v; want %d, named, with the security headers", tc.method, tc.path, resp.StatusCode, resp.Header, tc.status)
		}
		ids = append(ids, resp.Header.Get("X-Request-ID"))
	}
	lines := logs.requests(t)
	if len(lines) != len(cases) {
		t.Fatalf("%d request lines, want %d", len(lines), len(cases))
	}
	for i, l := range lines {
		tc := cases[i]
		if l["request_id"] != ids[i] || l["method"] != tc.method || l["route"] != tc.route ||
			l["status"] != float64(tc.status) || l["bytes"] == nil || l["duration"] == nil || l["level"] != "INFO" || l["time"] == nil {
			t.Errorf("%s %s logged as %v", tc.method, tc.path, l)
		}
	}
}
