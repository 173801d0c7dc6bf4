package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"parley/moderation"
)

const adminPassword = "a long test password"

// addModerator adds a moderator to a running app, with the password hashed
// at bcrypt's least cost: sign-in takes the cost from the hash, and under the
// race detector the default cost takes seconds a try.
func addModerator(t *testing.T, a *app, name string, role moderation.Role) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(adminPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	m := &moderation.Moderator{Name: name, Role: role, PasswordHash: hash, Created: time.Now().UTC()}
	if role != moderation.RoleOwner {
		m.Sites = map[string]moderation.SiteRole{moderation.DefaultSite: moderation.SiteModerator}
	}
	if err := a.DB.CreateModerator(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// submitComment queues a comment as a reader would.
func submitComment(t *testing.T, a *app, post, author, body string) string {
	t.Helper()
	local := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r
		}
		return -1
	}, strings.ToLower(author))
	c, err := a.Svc.Submit(context.Background(), moderation.DefaultSite, moderation.Submission{Post: post, Author: author,
		Email: "reader." + local + "@example.com", Body: body},
		moderation.Client{IP: "198.51.100.20", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// IDs order by millisecond: the next comment must be newer, as it is
	// when readers write them.
	time.Sleep(2 * time.Millisecond)
	return c.ID
}

// statusOf reads a comment's status from the store.
func statusOf(t *testing.T, a *app, id string) moderation.Status {
	t.Helper()
	c, err := a.Svc.Comment(context.Background(), moderation.Actor{Role: moderation.RoleOwner}, moderation.DefaultSite, id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Status
}

// press types keys on whatever has focus.
func press(t *testing.T, ctx context.Context, keys string) {
	t.Helper()
	do(t, ctx, chromedp.KeyEvent(keys))
}

// signIn fills the sign-in form and waits for the queue.
func signIn(t *testing.T, ctx context.Context, a *app, name string) {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(a.URL+"/admin/login"),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("password"), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("queue-title")),
	)
}

// queueIDs lists the comment IDs the queue shows, in order.
func queueIDs(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return eval[[]string](t, ctx, `[...document.querySelectorAll('#queue > .item')].map(el => el.dataset.id)`)
}

// focusedID is the ID of the queue item that has focus.
func focusedID(t *testing.T, ctx context.Context) string {
	t.Helper()
	return eval[string](t, ctx, `(document.activeElement && document.activeElement.dataset.id) || ''`)
}

// publicThread returns the IDs and site flags of a post's public comments.
func publicThread(t *testing.T, a *app, post string) map[string]bool {
	t.Helper()
	res, err := http.Get(a.URL + "/api/comments?post=" + url.QueryEscape(post))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var thread struct {
		Comments []struct {
			ID   string `json:"id"`
			Site bool   `json:"site"`
		} `json:"comments"`
	}
	if err := json.NewDecoder(res.Body).Decode(&thread); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, c := range thread.Comments {
		out[c.ID] = c.Site
	}
	return out
}

// axeViolations runs axe-core on the page and returns its serious and
// critical violations, one line each.
func axeViolations(t *testing.T, ctx context.Context, axe string) []string {
	t.Helper()
	if !eval[bool](t, ctx, `typeof axe !== 'undefined'`) {
		// Evaluated, not injected as a <script>: the page's CSP allows no other scripts.
		do(t, ctx, chromedp.Evaluate[chromedp.Void](axe))
	}
	return eval[[]string](t, ctx, `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
		.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => v.id + ': ' + v.help + ' (' + v.nodes.map(n => n.target.join(' ')).join(', ') + ')'))`)
}
