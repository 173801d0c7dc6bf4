package notify_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/moderation"
	"parley/notify"
)

var ada = map[string]any{"post": "/posts/hello", "author": "Ada", "email": "ada@example.com", "body": "First *comment*."}

// with returns a submission like base with some fields changed.
func with(base map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestPendingCommentEmailsModeratorWithWorkingLinks(t *testing.T) {
	ms := startMailServer(t, "127.0.0.1:0", nil, false)
	a := startApp(t, appOptions{}, smtpTo(ms))
	a.addModerator(t, "alice", "alice@example.com", moderation.EmailImmediate)
	a.addModerator(t, "quiet", "quiet@example.com", moderation.EmailOff)

	id := a.submit(t, ada)
	m := ms.next(t)
	if !slices.Equal(m.To, []string{"alice@example.com"}) || m.From != "parley@blog.example" {
		t.Fatalf("envelope: from %q to %v", m.From, m.To)
	}
	if want := "New comment by \u2068Ada\u2069 on /posts/hello"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	for _, want := range []string{"\u2068Ada\u2069 <ada@example.com> wrote on /posts/hello", "https://blog.example/posts/hello", "> First *comment*."} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Body)
		}
	}
	approve, reject := links(t, m.Body)

	// A mail scanner fetching the links changes nothing.
	for _, link := range []string{approve[0], reject[0], approve[0]} {
		status, page := a.do(t, http.MethodGet, link, "", "")
		if status != http.StatusOK || !strings.Contains(page, "<form method=\"post\">") {
			t.Fatalf("GET %s: %d\n%s", link, status, page)
		}
	}
	if got := a.status(t, id); got != "pending" {
		t.Fatalf("after GETs the comment is %s", got)
	}

	status, page := a.do(t, http.MethodPost, approve[0], "application/x-www-form-urlencoded", "")
	if status != http.StatusOK || !strings.Contains(page, "Approved") {
		t.Fatalf("POST approve: %d\n%s", status, page)
	}
	if got := a.status(t, id); got != "approved" {
		t.Fatalf("after the approve link the comment is %s", got)
	}
	audit, err := a.Svc.AuditLog(context.Background(), moderation.Actor{Role: moderation.RoleOwner}, moderation.DefaultSite, 1, 0)
	if err != nil || len(audit) != 1 || audit[0].Actor != "alice" || audit[0].Action != "approve" {
		t.Fatalf("audit: %+v %v", audit, err)
	}

	// Replays and the other link are refused, and change nothing.
	for _, link := range []string{approve[0], reject[0]} {
		if status, page := a.do(t, http.MethodPost, link, "application/x-www-form-urlencoded", ""); status != http.StatusConflict {
			t.Fatalf("replayed POST %s: %d\n%s", link, status, page)
		}
	}
	if got := a.status(t, id); got != "approved" {
		t.Fatalf("after replays the comment is %s", got)
	}

	// A reject link rejects; an expired or forged link does nothing.
	id2 := a.submit(t, with(ada, "body", "Second."))
	_, reject2 := links(t, ms.next(t).Body)
	id3 := a.submit(t, with(ada, "body", "Third."))
	approve3, _ := links(t, ms.next(t).Body)
	if status, _ := a.do(t, http.MethodPost, reject2[0], "application/x-www-form-urlencoded", ""); status != http.StatusOK {
		t.Fatalf("reject link: %d", status)
	}
	a.Clock.Add(moderation.LinkTTL + time.Minute)
	if status, page := a.do(t, http.MethodPost, approve3[0], "application/x-www-form-urlencoded", ""); status != http.StatusNotFound || !strings.Contains(page, "expired") {
		t.Fatalf("expired link: %d\n%s", status, page)
	}
	forged := approve3[0][:len(approve3[0])-4] + "AAAA"
	if status, _ := a.do(t, http.MethodPost, forged, "application/x-www-form-urlencoded", ""); status != http.StatusNotFound {
		t.Fatalf("forged link: %d", status)
	}
	if a.status(t, id2) != "rejected" || a.status(t, id3) != "pending" {
		t.Fatalf("statuses: %s %s", a.status(t, id2), a.status(t, id3))
	}
	a.settled(t)
	ms.none(t) // "quiet" heard nothing
}

func TestDigestBatchesPendingComments(t *testing.T) {
	ms := startMailServer(t, "127.0.0.1:0", nil, false)
	a := startApp(t, appOptions{}, func(cfg *notify.Config) {
		smtpTo(ms)(cfg)
		cfg.DigestEvery = 10 * time.Minute
	})
	a.addModerator(t, "bob", "bob@example.com", moderation.EmailDigest)

	var ids []string
	for i, body := range []string{"One.", "Two.", "Three."} {
		ids = append(ids, a.submit(t, with(ada, "body", body)))
		// Planned before the clock moves: the digest is due ten minutes
		// after the worker planned its first comment, which a slow store
		// (PostgreSQL under -race) might otherwise do a minute late.
		a.waitOutbox(t, func(d map[string]int) bool { return d["changes"] == 0 && d["pending"] == i+1 })
		a.Clock.Add(time.Minute)
	}
	ms.none(t)
	a.moderate(t, ids[1], "approve") // handled before the digest went out

	a.Clock.Add(8 * time.Minute) // ten minutes after the first comment
	m := ms.next(t)
	if m.Subject != "2 comments waiting for moderation" || !slices.Equal(m.To, []string{"bob@example.com"}) {
		t.Fatalf("digest %q to %v", m.Subject, m.To)
	}
	if !strings.Contains(m.Body, "> One.") || !strings.Contains(m.Body, "> Three.") || strings.Contains(m.Body, "> Two.") {
		t.Fatalf("digest body:\n%s", m.Body)
	}
	approve, _ := links(t, m.Body)
	if len(approve) != 2 {
		t.Fatalf("%d approve links", len(approve))
	}
	if status, _ := a.do(t, http.MethodPost, approve[1], "application/x-www-form-urlencoded", ""); status != http.StatusOK {
		t.Fatalf("digest link: %d", status)
	}
	if a.status(t, ids[2]) != "approved" || a.status(t, ids[0]) != "pending" {
		t.Fatal("the digest's second link did not approve the third comment alone")
	}
	a.settled(t)
	ms.none(t)

	// The next comment opens a new digest.
	a.submit(t, with(ada, "body", "Four."))
	a.waitOutbox(t, func(d map[string]int) bool { return d["changes"] == 0 && d["pending"] == 1 })
	a.Clock.Add(10 * time.Minute)
	if m := ms.next(t); m.Subject != "1 comment waiting for moderation" {
		t.Fatalf("second digest %q", m.Subject)
	}
}
