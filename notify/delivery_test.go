package notify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/moderation"
	"parley/notify"
)

func TestSMTPDownDelaysMailButNotSubmissions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens here yet: the mail server is down
	host, port, _ := net.SplitHostPort(addr)
	a := startApp(t, appOptions{}, func(cfg *notify.Config) {
		cfg.SMTP = notify.SMTP{Host: host, Port: atoi(port), Security: notify.SecurityNone, From: "parley@blog.example"}
	})
	a.addModerator(t, "alice", "alice@example.com", moderation.EmailImmediate)

	id := a.submit(t, ada) // 202, though no mail can go out
	a.waitOutbox(t, func(d map[string]int) bool { return d["retrying"] == 1 })

	ms := startMailServer(t, addr, nil, false)
	ms.none(t)
	a.Clock.Add(time.Minute) // past the first retry's delay
	m := ms.next(t)
	if m.Subject != "New comment by \u2068Ada\u2069 on /posts/hello" {
		t.Fatalf("late mail %q", m.Subject)
	}
	approve, _ := links(t, m.Body)
	if status, _ := a.do(t, http.MethodPost, approve[0], "application/x-www-form-urlencoded", ""); status != http.StatusOK || a.status(t, id) != "approved" {
		t.Fatalf("the late mail's link: %d", status)
	}
	a.settled(t)
}

func TestRetriesAreBounded(t *testing.T) {
	ms := startMailServer(t, "127.0.0.1:0", nil, false)
	ms.user, ms.pass = "parley", "right" // Parley signs in with no password: every attempt fails
	a := startApp(t, appOptions{realClock: true}, func(cfg *notify.Config) {
		smtpTo(ms)(cfg)
		cfg.RetryBase, cfg.MaxAttempts = time.Millisecond, 3
	})
	a.addModerator(t, "alice", "alice@example.com", moderation.EmailImmediate)
	a.submit(t, ada)
	d := a.waitOutbox(t, func(d map[string]int) bool { return d["failed"] == 1 })
	if d["pending"]+d["retrying"] != 0 {
		t.Fatalf("outbox %v", d)
	}
	ms.none(t)
}

func TestSMTPOverTLSWithAuth(t *testing.T) {
	serverTLS, roots := selfSigned(t)
	for _, mode := range []string{notify.SecurityStartTLS, notify.SecurityTLS} {
		t.Run(mode, func(t *testing.T) {
			ms := startMailServer(t, "127.0.0.1:0", serverTLS, mode == notify.SecurityTLS)
			ms.user, ms.pass = "parley", "s3cret"
			_, port, _ := net.SplitHostPort(ms.Addr)
			a := startApp(t, appOptions{}, func(cfg *notify.Config) {
				cfg.SMTP = notify.SMTP{Host: "localhost", Port: atoi(port), Security: mode, User: "parley", Password: "s3cret",
					From: "parley@blog.example", TLS: &tls.Config{RootCAs: roots}}
			})
			a.addModerator(t, "alice", "alice@example.com", moderation.EmailImmediate)
			a.submit(t, ada)
			m := ms.next(t)
			if !m.TLS || m.User != "parley" {
				t.Fatalf("TLS %v, signed in as %q", m.TLS, m.User)
			}
		})
	}
}

// selfSigned makes a certificate for localhost and a pool that trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, roots
}

// hookReceiver is a webhook endpoint that fails its first calls.
type hookReceiver struct {
	mu     sync.Mutex
	fail   int
	calls  int
	bodies [][]byte
	sigs   []string
	events []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.calls <= h.fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	h.bodies = append(h.bodies, body)
	h.sigs = append(h.sigs, r.Header.Get(notify.SignatureHeader))
	h.events = append(h.events, r.Header.Get("X-Parley-Event"))
}

// perComment counts the webhooks received for each comment, and the calls
// made in all (refused ones included).
func (h *hookReceiver) perComment(t *testing.T) (ids map[string]int, calls int) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	ids = map[string]int{}
	for _, body := range h.bodies {
		var p notify.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		ids[p.Comment.ID]++
	}
	return ids, h.calls
}

func (h *hookReceiver) wait(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		got := len(h.bodies)
		h.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook got %d calls, want %d", got, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestWebhookIsSignedAndRetried(t *testing.T) {
	hook := &hookReceiver{fail: 2}
	ts := httptest.NewServer(hook)
	defer ts.Close()
	a := startApp(t, appOptions{realClock: true}, func(cfg *notify.Config) {
		cfg.Webhooks = []string{ts.URL + "/hook"}
		cfg.RetryBase = time.Millisecond
	})
	id := a.submit(t, with(ada, "body", "<b>@everyone</b> & <!channel>"))
	hook.wait(t, 1)
	if hook.calls != 3 {
		t.Errorf("%d calls, want 2 failures then a success", hook.calls)
	}
	if want := notify.Sign([]byte("hook-secret"), hook.bodies[0]); hook.sigs[0] != want || hook.events[0] != "comment.pending" {
		t.Fatalf("signature %q, want %q; event %q", hook.sigs[0], want, hook.events[0])
	}
	var p notify.Payload
	if err := json.Unmarshal(hook.bodies[0], &p); err != nil {
		t.Fatal(err)
	}
	if p.Comment.ID != id || p.Comment.Author != "Ada" || p.Comment.PostURL != "https://blog.example/posts/hello" ||
		p.AdminURL != a.URL+"/admin" || strings.Contains(string(hook.bodies[0]), "ada@example.com") {
		t.Fatalf("payload %s", hook.bodies[0])
	}
	if !strings.Contains(p.Text, "&lt;!channel&gt;") || strings.Contains(p.Text, "<!channel>") || !strings.Contains(p.Content, "<!channel>") {
		t.Fatalf("text %q, content %q", p.Text, p.Content)
	}
	a.settled(t)
}

func TestWebhookTemplateForSlack(t *testing.T) {
	hook := &hookReceiver{}
	ts := httptest.NewServer(hook)
	defer ts.Close()
	tmpl, err := notify.ParseTemplate("slack.tmpl", `{"text": {{json .Text}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notify.ParseTemplate("bad.tmpl", `{"text": "{{.Text}}"}`); err == nil {
		t.Fatal("a template that writes broken JSON was accepted")
	}
	a := startApp(t, appOptions{}, func(cfg *notify.Config) {
		cfg.Webhooks, cfg.WebhookTemplate = []string{ts.URL}, tmpl
	})
	a.submit(t, with(ada, "author", `Ada "the first"`))
	hook.wait(t, 1)
	var body map[string]string
	if err := json.Unmarshal(hook.bodies[0], &body); err != nil || len(body) != 1 ||
		!strings.HasPrefix(body["text"], "New comment by \u2068Ada \"the first\"\u2069 on /posts/hello awaiting moderation: ") {
		t.Fatalf("body %s (%v)", hook.bodies[0], err)
	}
}
