package notify_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"parley/moderation"
)

var verifyLinkRE = regexp.MustCompile(`(?m)^(http\S+/verify/\S+)$`)

func TestVerifiedCommentersEarnTrust(t *testing.T) {
	ms := startMailServer(t, "127.0.0.1:0", nil, false)
	a := startApp(t, appOptions{trustAfter: 2}, smtpTo(ms))
	ctx := context.Background()

	// Two approved comments, but the address is not verified yet.
	for _, body := range []string{"One.", "Two."} {
		a.moderate(t, a.submit(t, with(ada, "body", body)), "approve")
	}
	if id := a.submit(t, with(ada, "body", "Three.")); a.status(t, id) != "pending" {
		t.Fatal("an unverified address was trusted")
	}

	// Asking for a link mails one; asking again at once mails nothing more.
	for range 2 {
		status, body := a.do(t, http.MethodPost, "/api/verify", "application/json", `{"email": "Ada@Example.com"}`)
		if status != http.StatusAccepted {
			t.Fatalf("/api/verify: %d %s", status, body)
		}
	}
	if status, _ := a.do(t, http.MethodPost, "/api/verify", "application/json", `{"email": "not an address"}`); status != http.StatusBadRequest {
		t.Fatalf("/api/verify with a bad address: %d", status)
	}
	m := ms.next(t)
	if !slices.Equal(m.To, []string{"Ada@Example.com"}) || !strings.HasPrefix(m.Subject, "Confirm your email address") {
		t.Fatalf("verification mail %q to %v", m.Subject, m.To)
	}
	a.settled(t)
	ms.none(t)
	link := verifyLinkRE.FindString(m.Body)
	if link == "" {
		t.Fatalf("no link in:\n%s", m.Body)
	}

	// Opening the link verifies nothing; its button does.
	if status, page := a.do(t, http.MethodGet, link, "", ""); status != http.StatusOK || !strings.Contains(page, "<form") {
		t.Fatalf("verify page: %d", status)
	}
	if id := a.submit(t, with(ada, "body", "Four.")); a.status(t, id) != "pending" {
		t.Fatal("trusted after a mere GET of the verification link")
	}
	if status, page := a.do(t, http.MethodPost, link, "application/x-www-form-urlencoded", ""); status != http.StatusOK || !strings.Contains(page, "verified") {
		t.Fatalf("verify: %d\n%s", status, page)
	}
	id := a.submit(t, with(ada, "email", "ADA@example.com", "body", "Published at once."))
	if a.status(t, id) != "approved" {
		t.Fatal("a verified address with enough approved comments was not trusted")
	}
	if status, body := a.do(t, http.MethodGet, "/api/comments?post=/posts/hello", "", ""); status != http.StatusOK || !strings.Contains(body, "Published at once.") {
		t.Fatalf("the trusted comment is not public: %s", body)
	}

	// Another address with many approvals but no verification stays queued.
	bob := map[string]any{"post": "/posts/hello", "author": "Bob", "email": "bob@example.com", "body": "x"}
	for range 3 {
		a.moderate(t, a.submit(t, bob), "approve")
	}
	if id := a.submit(t, bob); a.status(t, id) != "pending" {
		t.Fatal("an unverified address earned trust")
	}
	c, err := a.DB.Commenter(ctx, "bob@example.com")
	if err != nil || c.Approved != 3 || !c.Verified.IsZero() {
		t.Fatalf("bob: %+v %v", c, err)
	}
}

func TestTrustIsOffByDefault(t *testing.T) {
	ms := startMailServer(t, "127.0.0.1:0", nil, false)
	a := startApp(t, appOptions{}, smtpTo(ms))
	a.moderate(t, a.submit(t, ada), "approve")
	token := a.Svc.VerificationLink("ada@example.com")
	if _, err := a.Svc.ConfirmVerification(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	if id := a.submit(t, ada); a.status(t, id) != string(moderation.StatusPending) {
		t.Fatal("trusted with --trust-after 0")
	}
}
