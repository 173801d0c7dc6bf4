package notify_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"parley/metrics"
	"parley/moderation"
	"parley/notify"
	"parley/server"
	"parley/storage/testdb"
)

// received is one email as the SMTP server got it.
type received struct {
	From    string
	To      []string
	User    string // who signed in, if anyone
	TLS     bool
	Header  mail.Header
	Subject string // decoded
	Body    string // decoded
	Raw     []byte
}

// mailServer is a real SMTP server (go-smtp) on 127.0.0.1, keeping what it gets.
type mailServer struct {
	srv  *smtp.Server
	Addr string
	mail chan received
	user string // with password, required when set
	pass string
}

// startMailServer listens on addr ("127.0.0.1:0" for any port). With
// tlsConfig it offers STARTTLS, or speaks TLS from the start if implicit.
func startMailServer(t testing.TB, addr string, tlsConfig *tls.Config, implicit bool) *mailServer {
	t.Helper()
	ms := &mailServer{mail: make(chan received, 100)}
	ms.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &session{ms: ms, msg: received{TLS: isTLS}}, nil
	}))
	ms.srv.Domain = "mail.test"
	ms.srv.TLSConfig = tlsConfig
	ms.srv.AllowInsecureAuth = false
	ms.srv.ErrorLog = discardLogger{}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		ln = tls.NewListener(ln, tlsConfig)
	}
	ms.Addr = ln.Addr().String()
	go func() { _ = ms.srv.Serve(ln) }()
	t.Cleanup(func() { _ = ms.srv.Close() })
	return ms
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

type session struct {
	ms     *mailServer
	msg    received
	authed bool
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.ms.user || pass != s.ms.pass {
			return errors.New("wrong user or password")
		}
		s.authed, s.msg.User = true, user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.ms.user != "" && !s.authed {
		return &smtp.SMTPError{Code: 530, Message: "sign in first"}
	}
	s.msg.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg := s.msg
	msg.Raw = raw
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	msg.Header = m.Header
	msg.Subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		return err
	}
	msg.Body = strings.ReplaceAll(string(body), "\r\n", "\n")
	s.ms.mail <- msg
	return nil
}

func (s *session) Reset()        { s.msg = received{TLS: s.msg.TLS, User: s.msg.User} }
func (s *session) Logout() error { return nil }

// next waits for the next email.
func (ms *mailServer) next(t testing.TB) received {
	t.Helper()
	select {
	case m := <-ms.mail:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no email arrived")
		return received{}
	}
}

// none checks that no email is waiting.
func (ms *mailServer) none(t testing.TB) {
	t.Helper()
	select {
	case m := <-ms.mail:
		t.Fatalf("unexpected email to %v: %q", m.To, m.Subject)
	default:
	}
}

// clock is a test clock shared by the service and the notifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// app is Parley as serve runs it: the real server and notifier over a real
// database (bbolt, or PostgreSQL: see storage/testdb), on 127.0.0.1.
type app struct {
	URL     string
	DB      moderation.Store
	Svc     *moderation.Service
	Clock   *clock
	Token   string // an owner's API token
	Metrics string // the metrics token
	cfg     notify.Config
	data    string // what --data names
	opts    appOptions
}

type appOptions struct {
	trustAfter int
	realClock  bool // retries run in real time instead of waiting for the test clock
	// store, when set, stands between every notify worker and the real
	// database (a test that schedules the workers watches their calls).
	store func(notify.Store) notify.Store
}

// workerStore is what a notify worker of the app is given: db itself, or
// db as opts.store wraps it.
func (o appOptions) workerStore(db moderation.Store) notify.Store {
	if o.store != nil {
		return o.store(db)
	}
	return db
}

// startApp serves Parley with notifications configured by setup.
func startApp(t testing.TB, opts appOptions, setup func(*notify.Config)) *app {
	t.Helper()
	ctx := context.Background()
	data := testdb.Data(t)
	db := testdb.OpenData(t, data)
	clk := &clock{t: time.Now().UTC()}
	now := clk.Now
	if opts.realClock {
		now = time.Now
	}
	svc, err := moderation.NewService(ctx, db, moderation.Options{Clock: now, TrustAfter: opts.trustAfter})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ts := httptest.NewUnstartedServer(nil)
	publicURL := "http://" + ts.Listener.Addr().String()
	cfg := notify.Config{PublicURL: publicURL, SiteOrigins: []string{"https://blog.example"}, Clock: now,
		Poll: 5 * time.Millisecond, RetryBase: 20 * time.Millisecond, WebhookSecret: "hook-secret"}
	if setup != nil {
		setup(&cfg)
	}
	m := metrics.New(svc, db)
	n, err := notify.Start(ctx, cfg, svc, opts.workerStore(db), log, m)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{PublicURL: publicURL, Metrics: m, MetricsToken: "metrics-secret"}, svc, log)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	token, _, err := svc.CreateToken(ctx, "tests", moderation.RoleOwner, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ts.Close()
		n.Stop()
		_ = db.Close()
	})
	return &app{URL: ts.URL, DB: db, Svc: svc, Clock: clk, Token: token, Metrics: "metrics-secret", cfg: cfg, data: data, opts: opts}
}

// worker starts one more notify worker on the app's database, as another
// parley process on the same database runs one. On PostgreSQL it is one: a
// pool and a service of its own. A bbolt file opens in one process only, so
// there it shares the app's store.
func (a *app) worker(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	db, svc := a.DB, a.Svc
	if testdb.Postgres() {
		db = testdb.OpenData(t, a.data)
		var err error
		if svc, err = moderation.NewService(ctx, db, moderation.Options{Clock: a.cfg.Clock}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := notify.Start(ctx, a.cfg, svc, a.opts.workerStore(db), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
}

// smtpTo points notifications at a mail server speaking plain SMTP.
func smtpTo(ms *mailServer) func(*notify.Config) {
	return func(cfg *notify.Config) {
		host, port, _ := net.SplitHostPort(ms.Addr)
		cfg.SMTP = notify.SMTP{Host: host, Port: atoi(port), Security: notify.SecurityNone, From: "Parley <parley@blog.example>"}
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// addModerator adds a moderator who wants email in mode.
func (a *app) addModerator(t testing.TB, name, email string, mode moderation.EmailMode) {
	t.Helper()
	ctx := context.Background()
	if err := a.Svc.AddModerator(ctx, name, "a long password", moderation.RoleModerator, nil); err != nil {
		t.Fatal(err)
	}
	owner := moderation.Actor{Name: "test", Role: moderation.RoleOwner}
	if _, err := a.Svc.SetNotifyPrefs(ctx, owner, name, moderation.NotifyPrefs{Email: email, EmailMode: mode}); err != nil {
		t.Fatal(err)
	}
}

// do sends a request and returns the status and body.
func (a *app) do(t testing.TB, method, path, contentType, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, a.abs(path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (a *app) abs(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return a.URL + path
}

// submit posts a comment as the widget does and returns its id.
func (a *app) submit(t testing.TB, fields map[string]any) string {
	t.Helper()
	body, _ := json.Marshal(fields)
	status, resp := a.do(t, http.MethodPost, "/api/comments", "application/json", string(body))
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, resp)
	}
	var out struct{ ID string }
	_ = json.Unmarshal([]byte(resp), &out)
	return out.ID
}

// moderate acts on a comment through the moderation API.
func (a *app) moderate(t testing.TB, id, action string) {
	t.Helper()
	status, body := a.do(t, http.MethodPost, "/api/admin/comments/"+id+"/"+action, "", "", "Authorization", "Bearer "+a.Token)
	if status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", action, id, status, body)
	}
}

// status reads a comment's status through the moderation API.
func (a *app) status(t testing.TB, id string) string {
	t.Helper()
	code, body := a.do(t, http.MethodGet, "/api/admin/comments/"+id, "", "", "Authorization", "Bearer "+a.Token)
	if code != http.StatusOK {
		t.Fatalf("get %s: %d %s", id, code, body)
	}
	var c struct{ Status string }
	_ = json.Unmarshal([]byte(body), &c)
	return c.Status
}

// waitOutbox waits until the outbox depth satisfies ok.
func (a *app) waitOutbox(t testing.TB, ok func(depth map[string]int) bool) map[string]int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		depth, err := a.DB.OutboxDepth(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ok(depth) {
			return depth
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox never got there: %v", depth)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// settled waits until every change is planned and nothing due is left.
func (a *app) settled(t testing.TB) {
	t.Helper()
	a.waitOutbox(t, func(d map[string]int) bool { return d["changes"] == 0 && d["pending"] == 0 && d["retrying"] == 0 })
}

var linkRE = regexp.MustCompile(`(?m)^(Approve|Reject): +(\S+)$`)

// links finds the approve and reject links of an email, in order.
func links(t testing.TB, body string) (approve, reject []string) {
	t.Helper()
	for _, m := range linkRE.FindAllStringSubmatch(body, -1) {
		if m[1] == "Approve" {
			approve = append(approve, m[2])
		} else {
			reject = append(reject, m[2])
		}
	}
	if len(approve) == 0 || len(approve) != len(reject) {
		t.Fatalf("no approve/reject links in:\n%s", body)
	}
	return approve, reject
}

// startMailAndHook starts the app with a mail server and a webhook receiver
// that live as long as the test.
func startMailAndHook(t *testing.T) (*mailServer, *hookReceiver, *app) {
	t.Helper()
	ms := startMailServer(t, "127.0.0.1:0", nil, false)
	hook := &hookReceiver{}
	ts := httptest.NewServer(hook)
	t.Cleanup(ts.Close)
	a := startApp(t, appOptions{}, func(cfg *notify.Config) {
		smtpTo(ms)(cfg)
		cfg.Webhooks = []string{ts.URL}
	})
	return ms, hook, a
}
