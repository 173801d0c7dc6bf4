package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"parley/moderation"
)

// TestAdminSignIn: a wrong password shows an error and repeated tries are
// throttled; the right one opens the queue with a well-flagged cookie; sign
// out ends the session.
func TestAdminSignIn(t *testing.T) {
	a := startApp(t)
	addModerator(t, a, "ops", moderation.RoleOwner)
	addModerator(t, a, "ada", moderation.RoleModerator)
	ctx := newBrowser(t)

	tryPassword := func(name, password string) string {
		do(t, ctx,
			chromedp.Navigate(a.URL+"/admin/login"),
			chromedp.SendKeys(chromedp.ID("name"), name),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(".error")),
		)
		msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".error")))
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	if msg := tryPassword("ops", "not my password"); !strings.Contains(msg, "do not match") {
		t.Fatalf("wrong password shows %q", msg)
	}
	for range 4 {
		tryPassword("ops", "still not it")
	}
	if msg := tryPassword("ops", adminPassword); !strings.Contains(msg, "Too many failed sign-ins") {
		t.Fatalf("after 5 failures the right password shows %q, want the throttle message", msg)
	}

	signIn(t, ctx, a, "ada")
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{a.URL}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies.Cookies) != 1 {
		t.Fatalf("cookies: %+v", cookies.Cookies)
	}
	c := cookies.Cookies[0]
	// Plain HTTP here, so no Secure and no __Host- prefix (the server tests cover HTTPS).
	if c.Name != "parley_session" || !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Secure || c.Path != "/" {
		t.Errorf("session cookie: name %s httpOnly %v sameSite %s secure %v path %s", c.Name, c.HTTPOnly, c.SameSite, c.Secure, c.Path)
	}
	if got := eval[string](t, ctx, `document.cookie`); got != "" {
		t.Errorf("scripts can read the cookie: %q", got)
	}

	do(t, ctx, chromedp.Click(chromedp.CSS(`.logout button`)), chromedp.WaitVisible(chromedp.ID("password")))
	do(t, ctx, chromedp.Navigate(a.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("password")))
}

// TestAdminKeyboardModeration clears a queue from the keyboard: approve,
// spam, reject and restore from the rejected tab, undo, bulk approve, delete
// with undo, search, new comments by polling, and the audit log.
func TestAdminKeyboardModeration(t *testing.T) {
	a := startApp(t)
	addModerator(t, a, "ada", moderation.RoleModerator)
	ids := []string{
		submitComment(t, a, "/kb", "Alice", "First, and *kind*."),
		submitComment(t, a, "/kb", "Bob", "Buy cheap pills"),
		submitComment(t, a, "/kb", "Carol", "Third comment"),
		submitComment(t, a, "/kb", "Dan", "Fourth comment"),
		submitComment(t, a, "/kb", "Eve", "Fifth comment"),
		submitComment(t, a, "/other", "Finn", "Sixth, about otters"),
	}
	ctx := newBrowser(t)
	signIn(t, ctx, a, "ada")
	if got := queueIDs(t, ctx); !slices.Equal(got, ids) {
		t.Fatalf("queue shows %v, want oldest first %v", got, ids)
	}
	if got := focusedID(t, ctx); got != ids[0] {
		t.Fatalf("focus starts on %q, want the oldest comment", got)
	}

	// a approves: the comment leaves the queue, focus moves to the next one,
	// and readers see it.
	press(t, ctx, "a")
	waitFor(t, ctx, fmt.Sprintf(`!document.getElementById('c-%s')`, ids[0]))
	if got := focusedID(t, ctx); got != ids[1] {
		t.Errorf("after approving, focus is on %q, want %q", got, ids[1])
	}
	waitFor(t, ctx, `document.querySelector('.toast') && document.querySelector('.toast').textContent.includes('Approved')`)
	if !publicThread(t, a, "/kb")[ids[0]] && statusOf(t, a, ids[0]) != moderation.StatusApproved {
		t.Fatalf("the approved comment is not public")
	}
	if _, ok := publicThread(t, a, "/kb")[ids[0]]; !ok {
		t.Fatalf("the approved comment is not on the public API")
	}

	// s marks spam; u undoes it within the undo time.
	press(t, ctx, "s")
	waitFor(t, ctx, fmt.Sprintf(`!document.getElementById('c-%s')`, ids[1]))
	waitStatus(t, a, ids[1], moderation.StatusSpam)
	press(t, ctx, "u")
	waitFor(t, ctx, fmt.Sprintf(`!!document.getElementById('c-%s')`, ids[1]))
	waitStatus(t, a, ids[1], moderation.StatusPending)
	if got := focusedID(t, ctx); got != ids[1] {
		t.Errorf("after undo, focus is on %q, want the restored comment", got)
	}
	// And for good this time.
	press(t, ctx, "s")
	waitStatus(t, a, ids[1], moderation.StatusSpam)

	// r rejects; in the rejected tab, p sends it back to the queue.
	if got := focusedID(t, ctx); got != ids[2] {
		t.Fatalf("focus is on %q, want %q", got, ids[2])
	}
	press(t, ctx, "r")
	waitStatus(t, a, ids[2], moderation.StatusRejected)
	press(t, ctx, "3")
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#queue[data-status="rejected"] > .item`)))
	if got := queueIDs(t, ctx); !slices.Equal(got, []string{ids[2]}) {
		t.Fatalf("rejected tab shows %v", got)
	}
	press(t, ctx, "p")
	waitStatus(t, a, ids[2], moderation.StatusPending)
	press(t, ctx, "1")
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#queue[data-status="pending"] > .item`)))
	if got := queueIDs(t, ctx); len(got) != 4 {
		t.Fatalf("back in the queue: %v", got)
	}

	// x selects; a then approves the whole selection at once.
	press(t, ctx, "x") // ids[2], focused first again
	press(t, ctx, "j")
	press(t, ctx, "x") // ids[3]
	if got := eval[string](t, ctx, `document.getElementById('selected-count').textContent`); got != "2 selected" {
		t.Fatalf("selection shows %q", got)
	}
	press(t, ctx, "a")
	waitStatus(t, a, ids[2], moderation.StatusApproved)
	waitStatus(t, a, ids[3], moderation.StatusApproved)
	if got := queueIDs(t, ctx); !slices.Equal(got, []string{ids[4], ids[5]}) {
		t.Fatalf("after bulk approve the queue shows %v", got)
	}

	// d deletes only after the undo time; u keeps the comment.
	press(t, ctx, "d")
	waitFor(t, ctx, fmt.Sprintf(`!document.getElementById('c-%s')`, ids[4]))
	press(t, ctx, "u")
	waitFor(t, ctx, fmt.Sprintf(`!!document.getElementById('c-%s')`, ids[4]))
	if got := statusOf(t, a, ids[4]); got != moderation.StatusPending {
		t.Fatalf("an undone delete left the comment %s", got)
	}

	// Search narrows the queue to matching comments.
	do(t, ctx, chromedp.Focus(chromedp.ID("q")))
	do(t, ctx, chromedp.SendKeys(chromedp.ID("q"), "otters\n"))
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#queue[data-q="otters"]`)))
	if got := queueIDs(t, ctx); !slices.Equal(got, []string{ids[5]}) {
		t.Fatalf("search for otters shows %v", got)
	}

	// New comments appear without a reload.
	do(t, ctx, chromedp.Navigate(a.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("queue-title")))
	fresh := submitComment(t, a, "/kb", "Gus", "Just arrived")
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.dispatchEvent(new Event('visibilitychange'))`))
	waitFor(t, ctx, fmt.Sprintf(`!!document.getElementById('c-%s')`, fresh))
	waitFor(t, ctx, `document.querySelector('[data-count="pending"]').textContent === '3'`)

	// ? shows the keys.
	press(t, ctx, "?")
	if !eval[bool](t, ctx, `document.getElementById('help').open`) {
		t.Error("? does not open the keyboard help")
	}
	press(t, ctx, "\x1b") // Escape closes it.

	// Every decision is in the audit log, with who did it.
	do(t, ctx, chromedp.Navigate(a.URL+"/admin/audit"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	rows := eval[[]string](t, ctx, `[...document.querySelectorAll('table.audit tbody tr')].map(r => r.textContent.replace(/\s+/g, ' ').trim())`)
	log := strings.Join(rows, "\n")
	for _, want := range []string{"ada approve " + ids[0], "ada spam " + ids[1], "ada restore " + ids[1], "ada reject " + ids[2],
		"ada restore " + ids[2], "ada approve " + ids[3], "ada login"} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q:\n%s", want, log)
		}
	}
}

// waitStatus waits for a comment to reach a status in the store: the page
// answers at once, the request lands a moment later.
func waitStatus(t *testing.T, a *app, id string, want moderation.Status) {
	t.Helper()
	for range 100 {
		if statusOf(t, a, id) == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("comment %s is %s, want %s", id, statusOf(t, a, id), want)
}
