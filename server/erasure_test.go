package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"parley/moderation"
)

// post submits a comment with a valid token after a minute of writing, and
// returns it as stored.
func (g *guarded) post(fields map[string]string) *moderation.Comment {
	g.t.Helper()
	fields["token"] = g.form(fields["post"]).Token
	g.clock.Advance(time.Minute)
	return g.stored(g.submit(fields, "198.51.100.7:4000"))
}

func (g *guarded) moderate(id, action string) {
	g.t.Helper()
	if rec := g.as(g.moderator, http.MethodPost, "/api/admin/comments/"+id+"/"+action, nil); rec.Code != http.StatusOK {
		g.t.Fatalf("%s %s: %d %s", action, id, rec.Code, rec.Body)
	}
}

func commentBy(post, email, body, parent string) map[string]string {
	return map[string]string{"post": post, "author": strings.Split(email, "@")[0], "email": email, "body": body, "parent": parent}
}

// TestForget: an owner erases a commenter; replies to their comments keep a
// tombstone, and the audit log says what happened without the address.
func TestForget(t *testing.T) {
	g := guardedDefaults(t)
	root := g.post(commentBy("/p", "ada@example.org", "My first comment, with replies.", ""))
	g.moderate(root.ID, "approve")
	reply := g.post(commentBy("/p", "bob@example.net", "A reply to Ada.", root.ID))
	g.moderate(reply.ID, "approve")
	pending := g.post(commentBy("/q", "ADA@Example.org", "Pending, in capitals.", ""))
	rejected := g.post(commentBy("/q", "ada@example.org", "Rejected one.", ""))
	g.moderate(rejected.ID, "reject")
	spam := commentBy("/r", "ada@example.org", "Filed as spam.", "")
	spam["nickname"] = "filled"
	spammed := g.post(spam)
	kept := g.post(commentBy("/q", "ada@example.org.evil", "Not Ada.", ""))

	if rec := g.as(g.moderator, http.MethodPost, "/api/admin/forget", map[string]string{"email": "ada@example.org"}); rec.Code != http.StatusForbidden {
		t.Fatalf("moderator: %d, want 403", rec.Code)
	}
	if rec := g.as(g.owner, http.MethodPost, "/api/admin/forget", map[string]string{"email": " "}); rec.Code != http.StatusBadRequest {
		t.Fatalf("empty email: %d, want 400", rec.Code)
	}
	rec := g.as(g.owner, http.MethodPost, "/api/admin/forget", map[string]string{"email": "Ada@example.org"})
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"deleted":4}` {
		t.Fatalf("forget: %d %s", rec.Code, rec.Body)
	}

	for _, id := range []string{pending.ID, rejected.ID, spammed.ID} {
		if rec := g.as(g.moderator, http.MethodGet, "/api/admin/comments/"+id, nil); rec.Code != http.StatusNotFound {
			t.Errorf("comment %s still there: %d", id, rec.Code)
		}
	}
	thread := g.request(http.MethodGet, "/api/comments?post=/p", "", nil).Body.String()
	if !strings.Contains(thread, `"id":"`+root.ID+`","parent":null,"deleted":true`) || !strings.Contains(thread, "A reply to Ada.") {
		t.Fatalf("thread lost its shape: %s", thread)
	}
	everything := ""
	for _, status := range moderation.Statuses {
		everything += g.as(g.moderator, http.MethodGet, "/api/admin/comments?status="+string(status), nil).Body.String()
	}
	everything += g.as(g.moderator, http.MethodGet, "/api/admin/comments/"+root.ID, nil).Body.String()
	audit := g.as(g.moderator, http.MethodGet, "/api/admin/audit", nil).Body.String()
	for name, text := range map[string]string{"comments": everything, "audit log": audit} {
		if strings.Contains(strings.ToLower(text), "ada@example.org\"") || strings.Contains(text, "My first comment") {
			t.Errorf("the %s still mention Ada: %s", name, text)
		}
	}
	if !strings.Contains(everything, kept.ID) {
		t.Error("a different address that merely starts the same was erased")
	}
	if n := strings.Count(audit, `"actor":"token:owner","action":"forget"`); n != 4 {
		t.Fatalf("audit has %d forget entries, want 4: %s", n, audit)
	}
}

// TestRetention: rejected and spam comments are purged once they have been so
// for longer than the retention; nothing else is, and expired claims go too.
func TestRetention(t *testing.T) {
	g := guardedDefaults(t)
	const days = 24 * time.Hour
	spam := commentBy("/p", "bot@example.com", "old spam", "")
	spam["nickname"] = "x"
	oldSpam := g.post(spam)
	oldRejected := g.post(commentBy("/p", "a@example.com", "rejected long ago", ""))
	g.moderate(oldRejected.ID, "reject")
	approved := g.post(commentBy("/p", "b@example.com", "approved long ago", ""))
	g.moderate(approved.ID, "approve")
	pending := g.post(commentBy("/p", "c@example.com", "still waiting", ""))
	lateRejected := g.post(commentBy("/p", "d@example.com", "rejected recently", ""))

	g.clock.Advance(25 * days)
	g.moderate(lateRejected.ID, "reject") // the retention counts from here
	spam["body"] = "recent spam"
	recentSpam := g.post(spam)

	g.clock.Advance(6 * days) // 31 days after the first comments
	res, err := g.svc.Purge(context.Background(), 30*days)
	if err != nil {
		t.Fatal(err)
	}
	if res.Comments != 2 || res.Claims == 0 {
		t.Fatalf("purged %+v, want 2 comments and the expired claims", res)
	}
	for id, want := range map[string]int{oldSpam.ID: 404, oldRejected.ID: 404, approved.ID: 200, pending.ID: 200,
		lateRejected.ID: 200, recentSpam.ID: 200} {
		if rec := g.as(g.moderator, http.MethodGet, "/api/admin/comments/"+id, nil); rec.Code != want {
			t.Errorf("comment %s: %d, want %d", id, rec.Code, want)
		}
	}
	audit := g.as(g.moderator, http.MethodGet, "/api/admin/audit", nil).Body.String()
	if strings.Count(audit, `"actor":"system","action":"purge"`) != 2 {
		t.Fatalf("audit log: %s", audit)
	}
	if res, _ := g.svc.Purge(context.Background(), 0); res.Comments != 0 {
		t.Fatal("retention 0 purged comments")
	}
}
