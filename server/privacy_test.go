package server

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/moderation"
)

// TestProofOfWork: with --pow the form carries an ALTCHA-style puzzle; the
// right answer passes, a wrong, missing or borrowed one is spam.
func TestProofOfWork(t *testing.T) {
	opts := moderation.DefaultSpamOptions()
	opts.PoWMaxNumber = 5000
	g := newGuarded(t, opts, Config{})
	fetch := func() moderation.Form {
		f := g.form("/p")
		if f.PoW == nil || f.PoW.Algorithm != "SHA-256" || f.PoW.MaxNumber != 5000 || len(f.PoW.Challenge) != 64 ||
			!strings.Contains(f.PoW.Salt, "?expires="+strconv.FormatInt(f.Expires.Unix(), 10)) {
			t.Fatalf("form %+v has no proper puzzle", f.PoW)
		}
		return f
	}
	cases := []struct {
		name   string
		answer func(f, other moderation.Form) string
		reason string
	}{
		{"solved", func(f, _ moderation.Form) string { return solvePoW(t, f.PoW) }, ""},
		{"missing", func(moderation.Form, moderation.Form) string { return "" }, "proof of work: no answer"},
		{"wrong", func(f, _ moderation.Form) string { return strconv.Itoa((solvePoWNumber(t, f.PoW) + 1) % 5001) }, "proof of work: wrong answer"},
		{"not a number", func(moderation.Form, moderation.Form) string { return "12abc" }, "proof of work: wrong answer"},
		{"out of range", func(f, _ moderation.Form) string { return "5001" }, "proof of work: wrong answer"},
		{"another token's answer", func(_, other moderation.Form) string { return solvePoW(t, other.PoW) }, "proof of work: wrong answer"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, other := fetch(), fetch()
			g.clock.Advance(time.Minute)
			fields := ham("/p", f.Token)
			fields["body"] += strings.Repeat(" again", i) // not a duplicate of the previous case
			fields["pow"] = tc.answer(f, other)
			c := g.stored(g.submit(fields, "198.51.100.7:4000"))
			if got := reason(c); !strings.HasPrefix(got, tc.reason) || (tc.reason == "") != (got == "") {
				t.Fatalf("%s (%q), want %q", c.Status, got, tc.reason)
			}
		})
	}
}

// solvePoW finds a puzzle's answer the way the widget does.
func solvePoW(t *testing.T, c *moderation.Challenge) string {
	return strconv.Itoa(solvePoWNumber(t, c))
}

func solvePoWNumber(t *testing.T, c *moderation.Challenge) int {
	t.Helper()
	for n := 0; n <= c.MaxNumber; n++ {
		if sha256Hex(c.Salt+strconv.Itoa(n)) == c.Challenge {
			return n
		}
	}
	t.Fatal("puzzle has no answer")
	return -1
}

// TestClientAddress: X-Forwarded-For is ignored unless the peer is a trusted
// proxy, and then only the address the proxy appended counts.
func TestClientAddress(t *testing.T) {
	const spoofed = "203.0.113.9"
	cases := []struct {
		name    string
		trusted string
		peer    string
		xff     string
		want    string
	}{
		{"no proxies trusted: header ignored", "", "127.0.0.1:5000", spoofed, "127.0.0.1"},
		{"loopback is not trusted by default", "10.0.0.0/8", "127.0.0.1:5000", spoofed, "127.0.0.1"},
		{"private peer not trusted unless listed", "10.1.0.0/16", "192.168.1.5:5000", spoofed, "192.168.1.5"},
		{"trusted proxy: its view of the client", "10.0.0.0/8", "10.0.0.2:5000", "198.51.100.20", "198.51.100.20"},
		{"client-prepended entries are ignored", "10.0.0.0/8", "10.0.0.2:5000", spoofed + ", 198.51.100.20", "198.51.100.20"},
		{"chain of trusted proxies", "10.0.0.0/8", "10.0.0.2:5000", "198.51.100.20, 10.0.0.7", "198.51.100.20"},
		{"garbage header: the peer", "10.0.0.0/8", "10.0.0.2:5000", "not-an-ip", "10.0.0.2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var trusted []*net.IPNet
			if tc.trusted != "" {
				_, n, _ := net.ParseCIDR(tc.trusted)
				trusted = []*net.IPNet{n}
			}
			g := newGuarded(t, moderation.DefaultSpamOptions(), Config{TrustedProxies: trusted})
			block(moderation.BlockNetworks, spoofed)(g)
			f := g.form("/p")
			g.clock.Advance(time.Minute)
			rec := g.request(http.MethodPost, "/api/comments", tc.peer, ham("/p", f.Token), "X-Forwarded-For", tc.xff)
			c := g.stored(rec)
			if c.IPHash != g.svc.HashIP(tc.want) {
				t.Fatalf("comment stored as from another client than %s", tc.want)
			}
			if blocked := c.Status == moderation.StatusSpam; blocked != (tc.want == spoofed) {
				t.Fatalf("status %s (%q): the blocklist saw the wrong address", c.Status, reason(c))
			}
		})
	}
}

// TestSpoofedAddressDoesNotDodgeRateLimit: a client cannot reset its rate
// limit by sending a different X-Forwarded-For each time.
func TestSpoofedAddressDoesNotDodgeRateLimit(t *testing.T) {
	g := newGuarded(t, moderation.DefaultSpamOptions(), Config{RateLimit: 1})
	for i, want := range []int{http.StatusAccepted, http.StatusTooManyRequests} {
		fields := ham("/p", "")
		fields["body"] = strings.Repeat("spam ", i+1)
		rec := g.request(http.MethodPost, "/api/comments", "198.51.100.7:4000", fields, "X-Forwarded-For", "203.0.113."+strconv.Itoa(i))
		if rec.Code != want {
			t.Fatalf("submission %d with a new X-Forwarded-For: %d, want %d", i+1, rec.Code, want)
		}
	}
}

// TestBlocklistAPI: owners read and replace it (it holds emails and
// networks); entries are cleaned, bad ones named, and every change is in the
// audit log.
func TestBlocklistAPI(t *testing.T) {
	g := guardedDefaults(t)
	if rec := g.as(g.moderator, http.MethodGet, "/api/admin/blocklist", nil); rec.Code != http.StatusForbidden {
		t.Fatalf("moderator GET: %d, want 403", rec.Code)
	}
	rec := g.as(g.owner, http.MethodGet, "/api/admin/blocklist", nil)
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"words":[],"emails":[],"networks":[]}` {
		t.Fatalf("empty blocklist: %d %s", rec.Code, rec.Body)
	}
	if rec := g.request(http.MethodGet, "/api/admin/blocklist", "", nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", rec.Code)
	}
	want := moderation.Blocklist{Words: []string{"Cheap  Viagra", "casino"}, Emails: []string{"@Spam.Example", "bot@x.example"},
		Networks: []string{"203.0.113.7", "198.51.100.99/24", "2001:db8::/32"}}
	if rec := g.as(g.moderator, http.MethodPut, "/api/admin/blocklist", want); rec.Code != http.StatusForbidden {
		t.Fatalf("moderator PUT: %d, want 403", rec.Code)
	}
	rec = g.as(g.owner, http.MethodPut, "/api/admin/blocklist", want)
	const cleaned = `{"words":["casino","cheap viagra"],"emails":["bot@x.example","spam.example"],"networks":["198.51.100.0/24","2001:db8::/32","203.0.113.7/32"]}`
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != cleaned {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
	}
	if rec := g.as(g.owner, http.MethodGet, "/api/admin/blocklist", nil); strings.TrimSpace(rec.Body.String()) != cleaned {
		t.Fatalf("GET after PUT: %s", rec.Body)
	}
	for field, bad := range map[string]moderation.Blocklist{
		"networks": {Networks: []string{"10.0.0.0/33"}},
		"emails":   {Emails: []string{"not an address"}},
		"words":    {Words: []string{"!!!"}},
	} {
		rec := g.as(g.owner, http.MethodPut, "/api/admin/blocklist", bad)
		var e struct {
			Error struct {
				Code   string
				Fields map[string]string
			}
		}
		decodeInto(t, rec, &e)
		if rec.Code != http.StatusBadRequest || e.Error.Code != "validation_failed" || e.Error.Fields[field] == "" {
			t.Fatalf("bad %s: %d %s", field, rec.Code, rec.Body)
		}
	}
	if rec := g.as(g.owner, http.MethodGet, "/api/admin/blocklist", nil); strings.TrimSpace(rec.Body.String()) != cleaned {
		t.Fatalf("a refused PUT changed the blocklist: %s", rec.Body)
	}
	audit := g.as(g.moderator, http.MethodGet, "/api/admin/audit", nil)
	if !strings.Contains(audit.Body.String(), `"actor":"token:owner","action":"blocklist set"`) {
		t.Fatalf("audit log: %s", audit.Body)
	}
}
