package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/moderation"
)

// TestSpamChecks drives each check through POST /api/comments: every
// submission is answered with the same 202 pending, and moderators see
// which check filed it as spam.
func TestSpamChecks(t *testing.T) {
	const post = "/blog/hello"
	cases := []struct {
		name   string
		setup  func(g *guarded)                                         // before the form is fetched
		edit   func(g *guarded, f moderation.Form, s map[string]string) // after the form is fetched
		addr   string
		reason string // "" for ham
	}{
		{name: "genuine comment passes", reason: ""},
		{name: "honeypot", edit: func(_ *guarded, _ moderation.Form, s map[string]string) { s["nickname"] = "bob" },
			reason: "honeypot:"},
		{name: "no token", edit: func(_ *guarded, _ moderation.Form, s map[string]string) { delete(s, "token") },
			reason: "form token: missing"},
		{name: "forged token", edit: func(_ *guarded, _ moderation.Form, s map[string]string) {
			b := []byte(s["token"])
			b[10] ^= 1 // one character off: the signature no longer matches
			s["token"] = string(b)
		}, reason: "form token: forged"},
		{name: "garbage token", edit: func(_ *guarded, _ moderation.Form, s map[string]string) { s["token"] = "not-a-token" },
			reason: "form token: forged"},
		{name: "token for another post", edit: func(g *guarded, _ moderation.Form, s map[string]string) {
			s["token"] = g.form("/blog/other").Token
			g.clock.Advance(time.Minute)
		}, reason: "form token: issued for another post"},
		{name: "expired token", edit: func(g *guarded, _ moderation.Form, _ map[string]string) { g.clock.Advance(25 * time.Hour) },
			reason: "form token: expired"},
		{name: "too fast", edit: func(g *guarded, _ moderation.Form, _ map[string]string) { g.clock.Advance(-59 * time.Second) },
			reason: "form token: sent 1.0s after"},
		{name: "three links", edit: func(_ *guarded, _ moderation.Form, s map[string]string) {
			s["body"] = "Great post! See https://a.example, [this](http://b.example/x) and www.c.example"
		}, reason: "links: 3 links"},
		{name: "two links are fine", edit: func(_ *guarded, _ moderation.Form, s map[string]string) {
			s["body"] = "The spec is at https://a.example/spec and the errata at https://a.example/errata."
		}, reason: ""},
		{name: "a www. address inside a URL is one link", edit: func(_ *guarded, _ moderation.Form, s map[string]string) {
			s["body"] = "See https://www.rfc-editor.org/rfc/rfc9111 and [MDN](https://developer.mozilla.org/)."
		}, reason: ""},
		{name: "blocked phrase", setup: block(moderation.BlockWords, "Payday Loan"), edit: func(_ *guarded, _ moderation.Form, s map[string]string) {
			s["body"] = "Need cash fast? A PAYDAY-loan is the answer."
		}, reason: `blocklist: word "payday loan"`},
		{name: "blocked word is whole words only", setup: block(moderation.BlockWords, "cialis"), edit: func(_ *guarded, _ moderation.Form, s map[string]string) {
			s["body"] = "Specialists disagree with this; socialism is another topic."
		}, reason: ""},
		{name: "blocked word in the author name", setup: block(moderation.BlockWords, "casino"), edit: func(_ *guarded, _ moderation.Form, s map[string]string) {
			s["author"] = "Best Casino Bonus"
		}, reason: `blocklist: word "casino"`},
		{name: "blocked address", setup: block(moderation.BlockEmails, "ADA@example.org"),
			reason: "blocklist: email address ada@example.org"},
		{name: "blocked email domain", setup: block(moderation.BlockEmails, "@spam.example"), edit: func(_ *guarded, _ moderation.Form, s map[string]string) {
			s["email"] = "x@mail.spam.example"
		}, reason: "blocklist: email domain spam.example"},
		{name: "blocked website domain", setup: block(moderation.BlockEmails, "pills.example"), edit: func(_ *guarded, _ moderation.Form, s map[string]string) {
			s["website"] = "https://www.pills.example/buy"
		}, reason: "blocklist: website domain pills.example"},
		{name: "blocked network", setup: block(moderation.BlockNetworks, "203.0.113.0/24"), addr: "203.0.113.77:5555",
			reason: "blocklist: client network 203.0.113.0/24"},
		{name: "blocked IPv6 network", setup: block(moderation.BlockNetworks, "2001:db8::/32"), addr: "[2001:db8::5]:5555",
			reason: "blocklist: client network 2001:db8::/32"},
		{name: "other networks pass", setup: block(moderation.BlockNetworks, "203.0.113.0/24"), addr: "203.0.114.1:5555",
			reason: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := guardedDefaults(t)
			if tc.setup != nil {
				tc.setup(g)
			}
			f := g.form(post)
			g.clock.Advance(time.Minute) // a person takes a minute to write
			fields := ham(post, f.Token)
			if tc.edit != nil {
				tc.edit(g, f, fields)
			}
			addr := tc.addr
			if addr == "" {
				addr = "198.51.100.7:4000"
			}
			c := g.stored(g.submit(fields, addr))
			want := moderation.StatusPending
			if tc.reason != "" {
				want = moderation.StatusSpam
			}
			if c.Status != want || !strings.HasPrefix(reason(c), tc.reason) || (tc.reason == "") != (reason(c) == "") {
				t.Fatalf("got %s (%q), want %s (%q…)", c.Status, reason(c), want, tc.reason)
			}
			if c.History[0].By != "system" {
				t.Errorf("decided by %q, want system", c.History[0].By)
			}
		})
	}
}

// block returns a setup step that adds value to the blocklist as the owner.
func block(kind, value string) func(g *guarded) {
	return func(g *guarded) {
		b := moderation.Blocklist{}
		*map[string]*[]string{moderation.BlockWords: &b.Words, moderation.BlockEmails: &b.Emails, moderation.BlockNetworks: &b.Networks}[kind] = []string{value}
		if rec := g.as(g.owner, http.MethodPut, "/api/admin/blocklist", b); rec.Code != http.StatusOK {
			g.t.Fatalf("PUT blocklist: %d %s", rec.Code, rec.Body)
		}
	}
}

// TestTimingCheckOff: --min-fill-seconds 0 lets an instant submission through.
func TestTimingCheckOff(t *testing.T) {
	opts := moderation.DefaultSpamOptions()
	opts.MinFill = 0
	g := newGuarded(t, opts, Config{})
	c := g.stored(g.submit(ham("/p", g.form("/p").Token), "198.51.100.7:4000"))
	if c.Status != moderation.StatusPending {
		t.Fatalf("instant submission with the timing check off: %s (%q)", c.Status, reason(c))
	}
}

// TestReplayedToken: a token works once; the second comment sent with it is
// spam, even when both arrive at the same moment.
func TestReplayedToken(t *testing.T) {
	g := guardedDefaults(t)
	f := g.form("/p")
	g.clock.Advance(time.Minute)
	first := g.stored(g.submit(ham("/p", f.Token), "198.51.100.7:4000"))
	again := ham("/p", f.Token)
	again["body"] = "Another comment with the same token."
	second := g.stored(g.submit(again, "198.51.100.8:4000"))
	if first.Status != moderation.StatusPending || second.Status != moderation.StatusSpam || reason(second) != "form token: already used" {
		t.Fatalf("first %s, second %s (%q)", first.Status, second.Status, reason(second))
	}
}

// TestConcurrentReplay: the token is spent in the comment's own transaction,
// so of many simultaneous uses exactly one is pending.
func TestConcurrentReplay(t *testing.T) {
	g := guardedDefaults(t)
	f := g.form("/p")
	g.clock.Advance(time.Minute)
	const n = 12
	statuses := make(chan moderation.Status, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fields := ham("/p", f.Token)
			fields["body"] = strings.Repeat("x", i+1) + " a different body each time"
			fields["email"] = strings.Repeat("y", i+1) + "@example.org"
			statuses <- g.stored(g.submit(fields, "198.51.100.7:4000")).Status
		}()
	}
	wg.Wait()
	close(statuses)
	pending := 0
	for s := range statuses {
		if s == moderation.StatusPending {
			pending++
		}
	}
	if pending != 1 {
		t.Fatalf("%d of %d simultaneous uses of one token are pending, want 1", pending, n)
	}
}

// TestDuplicate: the same body again from the same client is refused with a
// clear 409 (the person pressed Send twice); from anyone else it answers
// like a new comment and is filed as a duplicate, so nobody learns of a
// comment that is not public; after the window it is welcome again.
func TestDuplicate(t *testing.T) {
	g := guardedDefaults(t)
	send := func(fields map[string]string, addr string) *httptest.ResponseRecorder {
		f := g.form(fields["post"])
		g.clock.Advance(time.Minute)
		fields["token"] = f.Token
		return g.submit(fields, addr) // checks that every 202 is the ordinary answer
	}
	conflict := func(rec *httptest.ResponseRecorder) bool {
		if rec.Code != http.StatusConflict {
			return false
		}
		code, msg := errorCode(t, rec)
		return code == "conflict" && msg == "You already posted this comment."
	}
	first := g.stored(send(ham("/p", ""), "198.51.100.7:4000"))
	if first.Status != moderation.StatusPending {
		t.Fatalf("first: %s", first.Status)
	}
	same := ham("/p", "")
	same["body"] = "  i TRIED this on my own blog,\n\nand it worked first time... thank you "
	if rec := send(same, "198.51.100.7:4000"); !conflict(rec) {
		t.Fatalf("same body, same email, same client: %d %s", rec.Code, rec.Body)
	}
	// A stranger who guesses the post, text and email learns nothing: the
	// answer is a new comment's, and moderators see the copy as a duplicate.
	guess := g.stored(send(ham("/p", ""), "203.0.113.66:4000"))
	if guess.Status != moderation.StatusSpam || !strings.HasPrefix(reason(guess), "duplicate:") {
		t.Fatalf("same body and email from another client: %s %q", guess.Status, reason(guess))
	}
	otherEmail := ham("/p", "")
	otherEmail["email"] = "someone.else@example.net"
	if rec := send(otherEmail, "198.51.100.7:4000"); !conflict(rec) {
		t.Fatalf("same long body from the same client under another email: %d, want 409", rec.Code)
	}
	short := func(email, body string) map[string]string {
		s := ham("/p", "")
		s["body"], s["email"] = body, email
		return s
	}
	if rec := send(short("a@example.org", "Thanks!"), "198.51.100.7:4000"); rec.Code != http.StatusAccepted {
		t.Fatal("first short reply refused")
	}
	if c := g.stored(send(short("b@example.net", "Thanks!"), "198.51.100.7:4000")); c.Status != moderation.StatusPending {
		t.Fatalf(`a second person behind the same address saying "Thanks!": %s`, c.Status)
	}
	// Bodies without a letter or digit are compared as sent, not as nothing.
	for _, body := range []string{"****", ">>>>", "!!!", "😀😀"} {
		if c := g.stored(send(short("c@example.org", body), "198.51.100.7:4000")); c.Status != moderation.StatusPending {
			t.Fatalf("%q after other symbol-only bodies: %s %q", body, c.Status, reason(c))
		}
	}
	if rec := send(short("c@example.org", "!!!"), "198.51.100.7:4000"); !conflict(rec) {
		t.Fatalf(`"!!!" twice from the same client: %d, want 409`, rec.Code)
	}
	if c := g.stored(send(ham("/other-post", ""), "198.51.100.7:4000")); c.Status != moderation.StatusPending {
		t.Fatal("the same body on another post was filed")
	}
	g.clock.Advance(25 * time.Hour)
	if c := g.stored(send(ham("/p", ""), "198.51.100.7:4000")); c.Status != moderation.StatusPending {
		t.Fatalf("after the window: %s %q", c.Status, reason(c))
	}
}

// TestSpamIsRestorable: a moderator approves a comment from spam and readers
// then see it.
func TestSpamIsRestorable(t *testing.T) {
	g := guardedDefaults(t)
	fields := ham("/p", "")
	delete(fields, "token")
	c := g.stored(g.submit(fields, "198.51.100.7:4000"))
	if c.Status != moderation.StatusSpam {
		t.Fatalf("status %s", c.Status)
	}
	list := g.as(g.moderator, http.MethodGet, "/api/admin/comments?status=spam", nil)
	if !strings.Contains(list.Body.String(), `"reason":"form token: missing`) {
		t.Fatalf("the spam tab does not show the reason: %s", list.Body)
	}
	if rec := g.as(g.moderator, http.MethodPost, "/api/admin/comments/"+c.ID+"/approve", nil); rec.Code != http.StatusOK {
		t.Fatalf("approve from spam: %d %s", rec.Code, rec.Body)
	}
	thread := g.request(http.MethodGet, "/api/comments?post=/p", "", nil)
	if !strings.Contains(thread.Body.String(), c.ID) || !strings.Contains(thread.Body.String(), `"count":1`) {
		t.Fatalf("restored comment not public: %s", thread.Body)
	}
}

// TestFormEndpoint: the token answer's shape, and its refusals.
func TestFormEndpoint(t *testing.T) {
	g := guardedDefaults(t)
	rec := g.request(http.MethodGet, "/api/form?post=/p", "", nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	var got map[string]any
	decodeInto(t, rec, &got)
	if tok, _ := got["token"].(string); len(tok) < 40 || got["pow"] != nil || got["expires"] == nil {
		t.Fatalf("answer %v", got)
	}
	if rec := g.request(http.MethodGet, "/api/form", "", nil); rec.Code != http.StatusBadRequest {
		t.Fatalf("no post: %d", rec.Code)
	}
	plain := &guarded{t: t, srv: g.srv}
	plain.srv.cfg.Spam = nil
	if rec := plain.request(http.MethodGet, "/api/form?post=/p", "", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("without the pipeline: %d, want 404", rec.Code)
	}
}

// TestRateLimit: past --rate-limit a client gets 429 rate_limited with
// Retry-After, while another client is still served.
func TestRateLimit(t *testing.T) {
	opts := moderation.DefaultSpamOptions()
	opts.MinFill = 0
	g := newGuarded(t, opts, Config{RateLimit: 2})
	post := func(addr string, i int) *http.Response {
		fields := ham("/p", g.form("/p").Token)
		fields["body"] = strings.Repeat("again ", i+1)
		return g.submit(fields, addr).Result()
	}
	for i := range 2 {
		if res := post("198.51.100.7:4000", i); res.StatusCode != http.StatusAccepted {
			t.Fatalf("submission %d: %d", i+1, res.StatusCode)
		}
	}
	res := post("198.51.100.7:4001", 3)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "30" {
		t.Fatalf("third submission: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	rec := g.request(http.MethodPost, "/api/comments", "198.51.100.7:4002", ham("/p", ""))
	if code, msg := errorCode(t, rec); code != "rate_limited" || msg == "" {
		t.Fatalf("error %q %q", code, msg)
	}
	if res := post("198.51.100.8:4000", 4); res.StatusCode != http.StatusAccepted {
		t.Fatalf("another client: %d", res.StatusCode)
	}
}
