package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
	// The session, and the device cookie that keeps this browser known to
	// the login throttle. Plain HTTP here, so no Secure and no __Host-
	// prefix (the server tests cover HTTPS).
	if len(cookies.Cookies) != 2 {
		t.Fatalf("cookies: %+v", cookies.Cookies)
	}
	names := map[string]bool{}
	for _, c := range cookies.Cookies {
		names[c.Name] = true
		if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Secure || c.Path != "/" {
			t.Errorf("cookie %s: httpOnly %v sameSite %s secure %v path %s", c.Name, c.HTTPOnly, c.SameSite, c.Secure, c.Path)
		}
	}
	if !names["parley_session"] || !names["parley_device"] {
		t.Errorf("cookies %v, want parley_session and parley_device", names)
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
	waitStatus(t, a, ids[0], moderation.StatusApproved)
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
		"ada restore " + ids[2], "ada approve " + ids[3]} { // sign-ins go to the instance's log, for owners
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

// TestAdminRefusesCrossSiteAndTokenlessPosts: a form on another site that
// posts to the moderation API while a moderator is signed in is refused with
// 403, and so is a same-origin request without the CSRF token.
func TestAdminRefusesCrossSiteAndTokenlessPosts(t *testing.T) {
	a := startApp(t)
	addModerator(t, a, "ada", moderation.RoleModerator)
	id := submitComment(t, a, "/csrf", "Mallory", "approve me please")

	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/link" { // a webmail, say, with a link to the queue
			fmt.Fprintf(w, `<!doctype html><title>mail</title><a id="go" href="%s/admin">Moderate</a>`, a.URL)
			return
		}
		fmt.Fprintf(w, `<!doctype html><title>evil</title>
<form id="f" method="post" action="%s/api/admin/comments/%s/approve"><input name="x" value="1"></form>
<script>document.getElementById('f').submit()</script>`, a.URL, id)
	}))
	defer evil.Close()
	// "localhost" is another site than "127.0.0.1" to the browser.
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)

	ctx := newBrowser(t)
	signIn(t, ctx, a, "ada")

	status := eval[int](t, ctx, fmt.Sprintf(`fetch('/api/admin/comments/%s/approve', {method: 'POST'}).then(r => r.status)`, id))
	if status != http.StatusForbidden {
		t.Errorf("same-origin POST without the CSRF token: %d, want 403", status)
	}

	do(t, ctx, chromedp.Navigate(evilURL))
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("body")))
	waitFor(t, ctx, `location.href.includes('/api/admin/comments/')`)
	waitFor(t, ctx, `document.body && document.body.textContent.includes('"code"')`)
	body := eval[string](t, ctx, `document.body.textContent`)
	if !strings.Contains(body, `"code":"forbidden"`) {
		t.Errorf("cross-site form post answered %s, want a 403 forbidden", body)
	}
	if got := statusOf(t, a, id); got != moderation.StatusPending {
		t.Fatalf("a cross-site post moved the comment to %s", got)
	}

	// A link from another site still opens the queue of the signed-in moderator.
	do(t, ctx, chromedp.Navigate(evilURL+"/link"), chromedp.Click(chromedp.ID("go")),
		chromedp.WaitVisible(chromedp.ID("queue-title")))
}

// TestAdminPreviewRunsNoScript: the queue shows each comment's published HTML
// as HTML, and none of the usual XSS payloads runs, neither in the page as
// served nor in items added by polling; not even HTML that bypassed the
// sanitizer runs, because the page's CSP allows no inline script.
func TestAdminPreviewRunsNoScript(t *testing.T) {
	a := startApp(t)
	addModerator(t, a, "ada", moderation.RoleModerator)
	payloads := []string{
		`<img src=x onerror="window.__xss=1"> <script>window.__xss=1</script>`,
		`[click me](javascript:window.__xss=1) and <svg onload="window.__xss=1"></svg>`,
		"<iframe srcdoc=\"<script>parent.__xss=1</script>\"></iframe>\n\n`<b>code</b>` **bold**",
		`"><img src=x onerror=window.__xss=1>`,
	}
	var ids []string
	for _, p := range payloads {
		ids = append(ids, submitComment(t, a, "/xss", `<img src=x onerror="window.__xss=1">`, p))
	}
	// HTML that never went through the sanitizer, as if it had a hole.
	raw := &moderation.Comment{ID: moderation.NewID(time.Now()), Site: moderation.DefaultSite, Post: "/xss", Author: "raw", Email: "raw@example.com",
		Body: "raw", HTML: `<p>unsanitized <img src="data:," onerror="window.__xss=2"></p>`, Status: moderation.StatusPending,
		Created: time.Now(), Updated: time.Now()}
	if err := a.DB.CreateComment(t.Context(), raw, nil); err != nil {
		t.Fatal(err)
	}

	ctx := newBrowser(t)
	signIn(t, ctx, a, "ada")
	// One more arrives by polling, through the page's script.
	late := submitComment(t, a, "/xss", "Late", `<img src=x onerror="window.__xss=3">`)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.dispatchEvent(new Event('visibilitychange'))`))
	waitFor(t, ctx, fmt.Sprintf(`!!document.getElementById('c-%s')`, late))

	// Open every raw text and click every link in the previews.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('details.raw').forEach(d => d.open = true);
		document.querySelectorAll('.published a').forEach(a => a.click())`))
	time.Sleep(500 * time.Millisecond) // let any image error or load event fire
	if v := eval[string](t, ctx, `String(window.__xss)`); v != "undefined" {
		t.Fatalf("a payload ran: window.__xss = %s", v)
	}

	// The preview is the published HTML, as HTML: markup renders, payloads show as text.
	c, err := a.Svc.Comment(t.Context(), moderation.Actor{Role: moderation.RoleOwner}, moderation.DefaultSite, ids[2])
	if err != nil {
		t.Fatal(err)
	}
	got := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('#c-%s .published').innerHTML`, ids[2]))
	published, _ := json.Marshal(c.HTML)
	// The browser re-serializes what it parsed (&#34; becomes "), so compare
	// with the published HTML as the browser parses it too.
	want := eval[string](t, ctx, fmt.Sprintf(`(() => { const t = document.createElement('template'); t.innerHTML = %s; return t.innerHTML })()`, published))
	if got != want || !strings.Contains(got, "<strong>bold</strong>") {
		t.Errorf("preview HTML\n%s\nwant the published HTML\n%s", got, want)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('.published img, .published script, .published svg, .published iframe').length`); n != 1 {
		t.Errorf("%d active elements in previews, want only the unsanitized test image (blocked by CSP)", n)
	}
	rawText := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('#c-%s .raw pre').textContent`, ids[0]))
	if rawText != payloads[0] {
		t.Errorf("raw text shows %q, want %q", rawText, payloads[0])
	}
}

// TestAdminTokensAndRoles: owners create API tokens from the page and see the
// secret once; a moderator who is not an owner is refused (403).
func TestAdminTokensAndRoles(t *testing.T) {
	a := startApp(t)
	addModerator(t, a, "olga", moderation.RoleOwner)
	addModerator(t, a, "ada", moderation.RoleModerator)
	ctx := newBrowser(t)

	signIn(t, ctx, a, "ada")
	status := eval[int](t, ctx, `fetch('/api/admin/tokens', {method: 'POST', headers: {'Content-Type': 'application/json',
		'X-CSRF-Token': document.querySelector('meta[name="csrf-token"]').content}, body: JSON.stringify({name: 'sneaky'})}).then(r => r.status)`)
	if status != http.StatusForbidden {
		t.Errorf("a moderator creating a token: %d, want 403", status)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('a[href="/admin/team"]').length`); n != 0 {
		t.Error("moderators see the team link")
	}
	do(t, ctx, chromedp.Navigate(a.URL+"/admin/team"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := eval[string](t, ctx, `document.querySelector('h1').textContent`); h != "Owners only" {
		t.Errorf("a moderator on the team page sees %q", h)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`.logout button`)), chromedp.WaitVisible(chromedp.ID("password")))

	signIn(t, ctx, a, "olga")
	do(t, ctx, chromedp.Navigate(a.URL+"/admin/team"),
		chromedp.SendKeys(chromedp.ID("token-name"), "backup-script"),
		chromedp.Click(chromedp.CSS(`#create-token button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("token-secret")))
	secret := eval[string](t, ctx, `document.getElementById('token-value').value`)
	if !strings.HasPrefix(secret, "parley_") {
		t.Fatalf("the page shows %q as the new token", secret)
	}
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/api/admin/counts", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the new token gets %d", res.StatusCode)
	}
	do(t, ctx, chromedp.Click(chromedp.ID("token-done")), chromedp.WaitVisible(chromedp.CSS(`#tokens tbody tr[data-token]`)))
	row := eval[string](t, ctx, `document.querySelector('#tokens tbody tr[data-token]').textContent`)
	if !strings.Contains(row, "backup-script") || !strings.Contains(row, "Revoke") || strings.Contains(row, secret) {
		t.Errorf("token row: %q", row)
	}
	if strings.Contains(eval[string](t, ctx, `document.documentElement.outerHTML`), secret) {
		t.Error("the secret is still on the page after reload")
	}
}

// TestAdminReplyAndSettings: a moderator replies from the queue, which
// approves the comment and publishes the reply as the site; owners' settings
// say kindly when a feature is not on this server.
func TestAdminReplyAndSettings(t *testing.T) {
	a := startApp(t)
	addModerator(t, a, "olga", moderation.RoleOwner)
	id := submitComment(t, a, "/reply", "Ada", "Does this work offline?")
	ctx := newBrowser(t)
	signIn(t, ctx, a, "olga")

	if eval[bool](t, ctx, fmt.Sprintf(`document.getElementById('r-%s').offsetParent !== null`, id)) {
		t.Error("the reply form shows before anyone asked for it")
	}
	press(t, ctx, "c")
	waitFor(t, ctx, fmt.Sprintf(`document.activeElement && document.activeElement.id === 'rb-%s'`, id))
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("rb-"+id), "Yes, it does."),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#r-%s button[type="submit"]`, id))))
	waitFor(t, ctx, fmt.Sprintf(`!document.getElementById('c-%s')`, id))
	thread := publicThread(t, a, "/reply")
	if len(thread) != 2 || thread[id] {
		t.Fatalf("public thread after the reply: %v", thread)
	}
	for replyID, site := range thread {
		if replyID != id && !site {
			t.Errorf("the reply is not marked as the site's")
		}
	}

	do(t, ctx, chromedp.Navigate(a.URL+"/admin/settings"))
	waitFor(t, ctx, `document.querySelector('#blocklist .form-status').textContent.includes('not available on this server yet')`)
	if !eval[bool](t, ctx, `document.getElementById('bl-words').disabled`) {
		t.Error("the blocklist form stays enabled without a blocklist endpoint")
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('.downloads a[href^="/api/admin/export?format="]').length`); n != 4 {
		t.Errorf("%d export links, want 4", n)
	}
}

// TestAdminAccessibleAndPhoneSized runs axe-core on every admin page and
// checks that the queue holds on a phone-sized screen.
func TestAdminAccessibleAndPhoneSized(t *testing.T) {
	a := startApp(t)
	axe := axeSource(t)
	addModerator(t, a, "olga", moderation.RoleOwner)
	submitComment(t, a, "/a11y", "Ada Lovelace", "A comment with a [link](https://example.com) and `code`.")
	submitComment(t, a, "/a-very-long-post-key/that-goes-on-and-on/and-on-and-on-without-any-break-at-all", "Bob",
		strings.Repeat("averyveryverylongwordwithoutspaces", 6))
	if _, _, err := a.Svc.CreateToken(t.Context(), "backup", moderation.RoleModerator, ""); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)

	do(t, ctx, chromedp.Navigate(a.URL+"/admin/login"), chromedp.WaitVisible(chromedp.ID("password")))
	if v := axeViolations(t, ctx, axe); len(v) > 0 {
		t.Errorf("login page:\n%s", strings.Join(v, "\n"))
	}
	signIn(t, ctx, a, "olga")
	press(t, ctx, "v") // raw text open, as moderators see it
	for _, path := range []string{"/admin", "/admin?status=spam", "/admin/audit", "/admin/team", "/admin/settings", "/admin/account"} {
		do(t, ctx, chromedp.Navigate(a.URL+path), chromedp.WaitVisible(chromedp.CSS("h1")))
		if v := axeViolations(t, ctx, axe); len(v) > 0 {
			t.Errorf("%s:\n%s", path, strings.Join(v, "\n"))
		}
	}
	do(t, ctx, chromedp.Navigate(a.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("queue")))
	press(t, ctx, "?")
	if v := axeViolations(t, ctx, axe); len(v) > 0 {
		t.Errorf("keyboard help:\n%s", strings.Join(v, "\n"))
	}

	do(t, ctx, chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(a.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("queue")))
	if w := eval[[]int](t, ctx, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		t.Errorf("the queue is %dpx wide on a %dpx screen", w[0], w[1])
	}
	if n := eval[int](t, ctx, `[...document.querySelectorAll('.actions button')].filter(b => b.getBoundingClientRect().right > window.innerWidth).length`); n > 0 {
		t.Errorf("%d action buttons off screen", n)
	}
}
