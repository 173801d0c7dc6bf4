package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"parley/moderation"
	"parley/notify"
)

// TestNotificationsPerSite: a comment on site "beta" is mailed to beta's
// moderators only, with beta named in the subject, sent as beta's sender
// name; its moderation link works for them; the webhook body carries the
// site; the default site's moderator hears nothing of it.
func TestNotificationsPerSite(t *testing.T) {
	ms, hook, a := startMailAndHook(t)
	ctx := context.Background()
	owner := moderation.Actor{Name: "test", Role: moderation.RoleOwner}
	sender := "Beta Comments"
	if _, err := a.Svc.CreateSite(ctx, owner, moderation.Site{ID: "beta", Name: "Beta Blog", Origins: []string{"https://beta.example"},
		Settings: moderation.SiteSettings{SenderName: &sender}}); err != nil {
		t.Fatal(err)
	}
	a.addModerator(t, "dora", "dora@example.com", moderation.EmailImmediate) // the default site's
	a.addModerator(t, "bea", "bea@example.com", moderation.EmailImmediate)
	if err := a.Svc.SetSiteRole(ctx, owner, "beta", "bea", moderation.SiteModerator); err != nil {
		t.Fatal(err)
	}
	if err := a.Svc.SetSiteRole(ctx, owner, moderation.DefaultSite, "bea", ""); err != nil {
		t.Fatal(err)
	}
	status, resp := a.do(t, http.MethodPost, "/api/comments", "application/json",
		`{"post":"/posts/hello","author":"Ada","email":"ada@example.com","body":"On beta."}`, "Origin", "https://beta.example")
	if status != http.StatusAccepted {
		t.Fatalf("submit on beta: %d %s", status, resp)
	}
	m := ms.next(t)
	if len(m.To) != 1 || m.To[0] != "bea@example.com" {
		t.Fatalf("beta's comment mailed to %v", m.To)
	}
	if want := "[Beta Blog] New comment by \u2068Ada\u2069 on /posts/hello"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	if from := m.Header.Get("From"); !strings.Contains(from, sender) {
		t.Errorf("From %q, want the site's sender name", from)
	}
	if !strings.Contains(m.Body, "https://beta.example/posts/hello") {
		t.Errorf("the post's link is not on beta's origin:\n%s", m.Body)
	}
	hook.wait(t, 1)
	var p notify.Payload
	if err := json.Unmarshal(hook.bodies[0], &p); err != nil || p.Site.ID != "beta" || p.Site.Name != "Beta Blog" ||
		!strings.HasPrefix(p.Text, "[Beta Blog] ") || p.Comment.PostURL != "https://beta.example/posts/hello" {
		t.Errorf("webhook %s (%v)", hook.bodies[0], err)
	}
	approve, _ := links(t, m.Body)
	if code, page := a.do(t, http.MethodPost, approve[0], "application/x-www-form-urlencoded", ""); code != http.StatusOK {
		t.Fatalf("bea's approve link: %d %s", code, page)
	}
	cs, _, err := a.Svc.Comments(ctx, owner, moderation.Query{Site: "beta", Status: moderation.StatusApproved})
	if err != nil || len(cs) != 1 {
		t.Fatalf("beta's approved after the link: %v, %v", cs, err)
	}
	ms.none(t) // dora, of the default site, heard nothing
}
