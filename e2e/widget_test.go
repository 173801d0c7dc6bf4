package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/moderation"
)

// TestWidgetSubmitModerateReload is a reader's whole path: write a comment,
// see it awaiting moderation, a moderator approves it through the API, and
// after a reload it is published; "Remember me" kept the name.
func TestWidgetSubmitModerateReload(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	post := b.page("/2015/12/xi-wuzhen", "Two days in Wuzhen", w.embedTag(`data-post="/2015/12/xi-wuzhen"`))
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(post))
	waitReady(t, ctx, "#parley")
	if got := text(t, ctx, "#parley", "h2"); got != "No Comments" {
		t.Errorf("heading = %q, want No Comments", got)
	}
	if eval[bool](t, ctx, shadow("#parley", `return root.querySelector('[name=remember]').checked ||
		root.querySelector('[name=notify_published]').checked || root.querySelector('[name=notify_replies]').checked`)) {
		t.Error("an opt-in checkbox is ticked by default")
	}

	do(t, ctx,
		chromedp.SendKeys(field("#parley", "#f-author"), "Ada Lovelace"),
		chromedp.SendKeys(field("#parley", "#f-email"), "ada@example.com"),
		chromedp.SendKeys(field("#parley", "#f-website"), "https://ada.example.org"),
		chromedp.SendKeys(field("#parley", "#f-body"), "The canal photos are *lovely*.\nWhich guesthouse was it?"),
		chromedp.Click(field("#parley", "[name=remember]")))
	send(t, ctx, "#parley")
	if got := text(t, ctx, "#parley", ".status"); !strings.Contains(got, "awaiting moderation") {
		t.Errorf("status = %q, want it to say the comment awaits moderation", got)
	}
	if got := text(t, ctx, "#parley", ".parley-pending .parley-body"); got != "The canal photos are *lovely*.\nWhich guesthouse was it?" {
		t.Errorf("own pending comment shows %q", got)
	}
	if got := eval[string](t, ctx, shadow("#parley", `return root.querySelector('#f-body').value`)); got != "" {
		t.Errorf("the comment field still holds %q after 202", got)
	}

	queue := pending(t, w.app)
	if len(queue) != 1 {
		t.Fatalf("%d comments pending, want 1", len(queue))
	}
	c := queue[0]
	if c.Post != "/2015/12/xi-wuzhen" || c.Author != "Ada Lovelace" || c.Email != "ada@example.com" || c.Website != "https://ada.example.org" {
		t.Errorf("stored comment = %+v", c)
	}
	if c.NotifyPublished || c.NotifyReplies {
		t.Error("notifications were asked for without the commenter ticking them")
	}
	if got := publicCount(t, w.URL, "/2015/12/xi-wuzhen"); got != 0 {
		t.Errorf("public count before approval = %d, want 0", got)
	}

	// Their own pending comment stays in view for them across a reload.
	do(t, ctx, chromedp.Reload())
	waitReady(t, ctx, "#parley")
	if got := text(t, ctx, "#parley", ".parley-pending .parley-badge"); got != "Awaiting moderation" {
		t.Errorf("after a reload the pending comment shows %q", got)
	}

	approve(t, w.app, c.ID)
	do(t, ctx, chromedp.Reload())
	waitReady(t, ctx, "#parley")
	if got := text(t, ctx, "#parley", "h2"); got != "1 Comment" {
		t.Errorf("heading after approval = %q, want 1 Comment", got)
	}
	li := "#parley-" + c.ID
	if got := text(t, ctx, "#parley", li+" .parley-body em"); got != "lovely" {
		t.Errorf("published HTML: <em> holds %q", got)
	}
	if got := eval[string](t, ctx, shadow("#parley", `const a = root.querySelector('`+li+` .parley-author a');
		return a.getAttribute('href') + ' ' + a.rel + ' ' + a.textContent`)); got != "https://ada.example.org nofollow ugc noopener Ada Lovelace" {
		t.Errorf("author link = %q", got)
	}
	if got := eval[string](t, ctx, shadow("#parley", `return root.querySelector('`+li+` time').getAttribute('datetime')`)); got != c.Created.Format(time.RFC3339Nano) {
		t.Errorf("<time datetime> = %q, want %s", got, c.Created)
	}
	if n := eval[int](t, ctx, shadow("#parley", `return root.querySelectorAll('.parley-pending').length`)); n != 0 {
		t.Errorf("the approved comment is still shown as pending too (%d)", n)
	}
	if got := eval[string](t, ctx, shadow("#parley", `return [root.querySelector('#f-author').value, root.querySelector('#f-email').value,
		root.querySelector('[name=remember]').checked].join(' ')`)); got != "Ada Lovelace ada@example.com true" {
		t.Errorf("remembered fields after reload = %q", got)
	}
	if cookies := eval[string](t, ctx, `document.cookie`); cookies != "" {
		t.Errorf("the widget left cookies: %q", cookies)
	}
}

func publicCount(t *testing.T, base, post string) int {
	t.Helper()
	res, err := http.Get(base + "/api/counts?post=" + url.QueryEscape(post))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var counts map[string]int
	if err := json.NewDecoder(res.Body).Decode(&counts); err != nil {
		t.Fatal(err)
	}
	return counts[post]
}

// TestWidgetValidation shows the client's checks and the server's errors
// next to their fields, with aria-invalid and focus on the first.
func TestWidgetValidation(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(b.page("/v", "Validation", w.embedTag(`data-post="/v"`))))
	waitReady(t, ctx, "#parley")

	invalid := shadow("#parley", `return [...root.querySelectorAll('[aria-invalid=true]')].map(e => e.name).join(',')`)
	focused := shadow("#parley", `return root.activeElement?.name ?? ''`)

	do(t, ctx, chromedp.Click(field("#parley", "button[type=submit]")))
	if got := eval[string](t, ctx, invalid); got != "author,email,body" {
		t.Errorf("invalid fields after an empty submit = %q, want author,email,body", got)
	}
	if got := eval[string](t, ctx, focused); got != "author" {
		t.Errorf("focus on %q, want author", got)
	}
	if got := text(t, ctx, "#parley", "#e-author"); got != "Please fill in this field." {
		t.Errorf("author error = %q", got)
	}
	if eval[string](t, ctx, shadow("#parley", `return root.querySelector('#f-email').getAttribute('aria-describedby')`)) != "h-email e-email" {
		t.Error("the email field does not point at its hint and error")
	}

	do(t, ctx,
		chromedp.SendKeys(field("#parley", "#f-author"), "Ada"),
		chromedp.SendKeys(field("#parley", "#f-email"), "not an address"),
		chromedp.SendKeys(field("#parley", "#f-website"), "ftp://files.example.com"),
		chromedp.SendKeys(field("#parley", "#f-body"), "Hello"),
		chromedp.Click(field("#parley", "button[type=submit]")),
	)
	if got := eval[string](t, ctx, invalid); got != "email,website" {
		t.Errorf("invalid fields = %q, want email,website", got)
	}
	if got := eval[string](t, ctx, focused); got != "email" {
		t.Errorf("focus on %q, want email", got)
	}

	// An address the client lets through and the server's validator refuses:
	// the server's message lands next to the field, and nothing typed is lost.
	eval[chromedp.Void](t, ctx, shadow("#parley", `root.querySelector('#f-email').value = 'ada..lovelace@example.com';
		root.querySelector('#f-website').value = ''`))
	do(t, ctx, chromedp.Click(field("#parley", "button[type=submit]")))
	waitUntil(t, ctx, "the server's field error", shadow("#parley", `return root.querySelector('#e-email').textContent.includes('valid email')`),
		shadow("#parley", `return root.textContent`))
	if got := eval[string](t, ctx, invalid); got != "email" {
		t.Errorf("invalid fields after the server answered = %q, want email", got)
	}
	if got := eval[string](t, ctx, focused); got != "email" {
		t.Errorf("focus on %q, want email", got)
	}
	if got := eval[string](t, ctx, shadow("#parley", `return root.querySelector('#f-body').value + '|' + root.querySelector('#f-author').value`)); got != "Hello|Ada" {
		t.Errorf("typed text after a refused submission = %q", got)
	}
	if n := len(pending(t, w.app)); n != 0 {
		t.Errorf("%d comments stored from invalid submissions", n)
	}
}

// TestWidgetServerStoppedMidSubmit kills the server while the submission is
// in flight: the text stays, the error is said, and a retry succeeds.
func TestWidgetServerStoppedMidSubmit(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(b.page("/crash", "Crash", w.embedTag(`data-post="/crash"`))))
	waitReady(t, ctx, "#parley")

	arrived := make(chan struct{}, 1)
	w.setHook(func(rw http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost {
			return false
		}
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done() // held until the server dies under it
		return true
	})
	const body = "A long, carefully written comment\nthat must survive a crash."
	do(t, ctx,
		typeComment("#parley", "Grace", "grace@example.com", body),
		chromedp.Click(field("#parley", "button[type=submit]")),
	)
	select {
	case <-arrived:
	case <-ctx.Done():
		t.Fatal("the submission never reached the server")
	}
	w.stop()
	waitUntil(t, ctx, "the network error", shadow("#parley", `return root.querySelector('.summary').textContent.includes('did not answer')`),
		shadow("#parley", `return root.textContent`))
	kept := shadow("#parley", `return [root.querySelector('#f-author').value, root.querySelector('#f-email').value, root.querySelector('#f-body').value].join('|')`)
	if got := eval[string](t, ctx, kept); got != "Grace|grace@example.com|"+body {
		t.Fatalf("after the crash the form holds %q", got)
	}
	if eval[string](t, ctx, shadow("#parley", `return root.querySelector('button[type=submit]').textContent`)) != "Post comment" {
		t.Error("the submit button did not come back for a retry")
	}

	// Retrying while the server is down fails the same way, still losing nothing.
	do(t, ctx, chromedp.Click(field("#parley", "button[type=submit]")))
	waitUntil(t, ctx, "the second network error", shadow("#parley", `return !root.querySelector('form').hasAttribute('aria-busy')`), "")
	if got := eval[string](t, ctx, kept); got != "Grace|grace@example.com|"+body {
		t.Fatalf("after a failed retry the form holds %q", got)
	}

	w.setHook(nil)
	w.restart(t)
	send(t, ctx, "#parley")
	queue := pending(t, w.app)
	if len(queue) != 1 || queue[0].Body != body {
		t.Fatalf("after the retry the queue holds %d comments (%v)", len(queue), queue)
	}
}

// TestWidgetReplyFlow opens the form under a comment, posts a reply to it,
// and shows the reply pending under its parent.
func TestWidgetReplyFlow(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	ids := seed(t, w.app,
		moderation.Submission{Post: "/r", Author: "Ada", Body: "First!"},
		moderation.Submission{Post: "/r", Author: "Grace", Body: "Second."})
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(b.page("/r", "Replies", w.embedTag(`data-post="/r"`))))
	waitReady(t, ctx, "#parley")

	reply := field("#parley", "#parley-"+ids[0]+" .parley-actions button")
	if got := eval[string](t, ctx, shadow("#parley", `const b = root.querySelector('#parley-`+ids[0]+` .parley-actions button');
		return b.textContent + '|' + b.getAttribute('aria-label')`)); got != "Reply|Reply to \u2068Ada\u2069" {
		t.Errorf("reply button = %q", got)
	}
	do(t, ctx, chromedp.Click(reply))
	if got := eval[string](t, ctx, shadow("#parley", `const f = root.querySelector('form');
		return f.parentElement.id + '|' + f.querySelector('h3').textContent + '|' + root.activeElement?.name`)); got != "parley-"+ids[0]+"|Reply to \u2068Ada\u2069|author" {
		t.Errorf("reply form (parent|heading|focus) = %q", got)
	}
	if eval[string](t, ctx, shadow("#parley", `return root.querySelector('#parley-`+ids[0]+` .parley-actions button').getAttribute('aria-expanded')`)) != "true" {
		t.Error("the Reply button does not say its form is open")
	}

	// Cancel puts the form back and focus on the Reply button; reopening works.
	do(t, ctx, chromedp.Click(field("#parley", "button.cancel")))
	if got := eval[string](t, ctx, shadow("#parley", `return root.querySelector('form').parentElement.className + '|' + root.activeElement?.textContent`)); got != "home|Reply" {
		t.Errorf("after cancel (form home|focus) = %q", got)
	}
	do(t, ctx, chromedp.Click(reply),
		typeComment("#parley", "Mei", "mei@example.com", "Thanks, Ada."),
		chromedp.Click(field("#parley", "button[type=submit]")))
	waitUntil(t, ctx, "the pending reply", shadow("#parley", `return root.querySelector('#parley-`+ids[0]+` > ol > .parley-pending')`),
		shadow("#parley", `return root.textContent`))
	if got := eval[string](t, ctx, shadow("#parley", `return root.querySelector('form').parentElement.className`)); got != "home" {
		t.Errorf("after the reply the form is in %q, want back home", got)
	}
	queue := pending(t, w.app)
	if len(queue) != 1 || queue[0].Parent != ids[0] || queue[0].Post != "/r" {
		t.Fatalf("stored reply = %+v", queue)
	}

	approve(t, w.app, queue[0].ID)
	do(t, ctx, chromedp.Reload())
	waitReady(t, ctx, "#parley")
	if got := strings.TrimSpace(text(t, ctx, "#parley", "#parley-"+ids[0]+" > ol > #parley-"+queue[0].ID+" .parley-body")); got != "Thanks, Ada." {
		t.Errorf("published reply nested under its parent: %q", got)
	}
	if got := text(t, ctx, "#parley", "h2"); got != "3 Comments" {
		t.Errorf("heading = %q", got)
	}
}

// TestWidgetTombstonesAndSiteReplies renders a deleted comment that still
// has replies as a tombstone, and marks a reply posted by the site.
func TestWidgetTombstonesAndSiteReplies(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	parent := seed(t, w.app, moderation.Submission{Post: "/t", Author: "Troll", Body: "Something regrettable."})[0]
	replies := seed(t, w.app,
		moderation.Submission{Post: "/t", Parent: parent, Author: "Ada", Body: "Please be kind."},
		moderation.Submission{Post: "/t", Parent: parent, Author: "The author", Body: "Thanks, everyone."})
	markSite(t, w.app, replies[1])
	moderate(t, w.app, http.MethodDelete, parent)

	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(b.page("/t", "Tombstones", w.embedTag(`data-post="/t"`))))
	waitReady(t, ctx, "#parley")
	if got := text(t, ctx, "#parley", "#parley-"+parent+" > .parley-body"); got != "This comment was deleted." {
		t.Errorf("tombstone says %q", got)
	}
	if n := eval[int](t, ctx, shadow("#parley", `return root.querySelectorAll('#parley-`+parent+` > .parley-actions, #parley-`+parent+` > .parley-meta').length`)); n != 0 {
		t.Error("the tombstone shows an author or a Reply button")
	}
	if n := eval[int](t, ctx, shadow("#parley", `return root.querySelectorAll('#parley-`+parent+` > ol > li').length`)); n != 2 {
		t.Errorf("%d replies under the tombstone, want 2", n)
	}
	if got := text(t, ctx, "#parley", "#parley-"+replies[1]+" .parley-site"); got != "Site" {
		t.Errorf("site badge = %q", got)
	}
	if n := eval[int](t, ctx, shadow("#parley", `return root.querySelectorAll('#parley-`+replies[0]+` .parley-site').length`)); n != 0 {
		t.Error("a reader's reply carries the site badge")
	}
	if got := text(t, ctx, "#parley", "h2"); got != "2 Comments" {
		t.Errorf("heading = %q, want the tombstone uncounted", got)
	}
}

// markSite makes a comment one posted by a moderator as the site, for setup.
func markSite(t *testing.T, a *app, id string) {
	t.Helper()
	err := a.DB.UpdateComments(context.Background(), moderation.DefaultSite, []string{id}, func(c *moderation.Comment) (*moderation.AuditEntry, error) {
		c.BySite = true
		return &moderation.AuditEntry{At: time.Now(), Actor: "test-setup", Action: "site", Comment: c.ID, Post: c.Post}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWidgetKeyboardOnly writes and sends a comment with the keyboard alone,
// never landing on the hidden honeypot.
func TestWidgetKeyboardOnly(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(b.page("/k", "Keyboard", `<p><a href="#top">A link before the comments</a></p>`+w.embedTag(`data-post="/k"`))))
	waitReady(t, ctx, "#parley")

	focused := shadow("#parley", `return document.activeElement === document.querySelector('#parley') ? (root.activeElement?.name || root.activeElement?.className || root.activeElement?.tagName) : 'page'`)
	tabTo := func(want string) {
		t.Helper()
		for range 20 {
			do(t, ctx, chromedp.KeyEvent("\t"))
			got := eval[string](t, ctx, focused)
			if got == "nickname" {
				t.Fatal("Tab reached the honeypot field")
			}
			if got == want {
				return
			}
		}
		t.Fatalf("Tab never reached %s", want)
	}
	tabTo("author")
	do(t, ctx, chromedp.KeyEvent("Katherine Johnson"))
	tabTo("email")
	do(t, ctx, chromedp.KeyEvent("katherine@example.com"))
	tabTo("body")
	do(t, ctx, chromedp.KeyEvent("Typed without a mouse."))
	tabTo("notify_replies")
	do(t, ctx, chromedp.KeyEvent(" ")) // Space ticks the checkbox
	tabTo("primary")
	do(t, ctx, chromedp.KeyEvent("\r"))
	waitUntil(t, ctx, "the keyboard submission", shadow("#parley", `return root.querySelector('.parley-pending')`),
		shadow("#parley", `return root.textContent`))
	if got := eval[string](t, ctx, focused); got != "parley-comment parley-pending" {
		t.Errorf("after sending, focus is on %q, want the pending comment", got)
	}
	queue := pending(t, w.app)
	if len(queue) != 1 || queue[0].Author != "Katherine Johnson" || queue[0].Body != "Typed without a mouse." || !queue[0].NotifyReplies || queue[0].NotifyPublished {
		t.Fatalf("stored %+v", queue)
	}
}

// TestWidgetThemes checks the dark theme, auto following the reader's
// colour scheme, and that both pass axe-core with a full thread and errors.
func TestWidgetThemes(t *testing.T) {
	axe := axeSource(t)
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	parent := seed(t, w.app, moderation.Submission{Post: "/th", Author: "Ada", Website: "https://ada.example.org",
		Body: "A *quote*:\n\n> the canal\n\nand `code`, and a [link](https://example.com)."})[0]
	seed(t, w.app, moderation.Submission{Post: "/th", Parent: parent, Author: "Site owner", Body: "Thanks!"},
		moderation.Submission{Post: "/th", Author: "Grace", Body: "Lovely."})
	ctx := newBrowser(t)

	background := shadow("#parley", `return getComputedStyle(root.querySelector('.root')).backgroundColor`)
	for _, tc := range []struct {
		theme  string
		scheme bool // emulated prefers-color-scheme: dark
		dark   bool
	}{
		{"light", true, false},
		{"dark", false, true},
		{"auto", true, true},
		{"auto", false, false},
	} {
		emulateDark(t, ctx, tc.scheme)
		do(t, ctx, chromedp.Navigate(b.page("/th-"+tc.theme, "Themes", w.embedTag(`data-post="/th" data-theme="`+tc.theme+`"`))))
		waitReady(t, ctx, "#parley")
		bg := eval[string](t, ctx, background)
		if isDark := luminance(bg) < 0.2; isDark != tc.dark {
			t.Errorf("data-theme=%s, prefers dark %v: background %s, want dark %v", tc.theme, tc.scheme, bg, tc.dark)
		}
		// Show validation errors too, so that their colours are checked.
		do(t, ctx, chromedp.Click(field("#parley", "button[type=submit]")))
		checkAccessibility(t, ctx, axe, "theme "+tc.theme)
	}

	// The page themes the widget through custom properties on the container.
	do(t, ctx, chromedp.Navigate(b.page("/th-custom", "Custom", `<style>#parley{--parley-accent:rgb(200, 0, 100)}</style>`+w.embedTag(`data-post="/th"`))))
	waitReady(t, ctx, "#parley")
	if got := eval[string](t, ctx, shadow("#parley", `return getComputedStyle(root.querySelector('button[type=submit]')).backgroundColor`)); got != "rgb(200, 0, 100)" {
		t.Errorf("--parley-accent did not reach the button: %s", got)
	}
}

// luminance is the relative luminance of a CSS rgb()/rgba() colour.
func luminance(css string) float64 {
	var r, g, b float64
	if _, err := fmt.Sscanf(strings.NewReplacer("rgba(", "", "rgb(", "", ",", " ", ")", "").Replace(css), "%f %f %f", &r, &g, &b); err != nil {
		return -1
	}
	return (0.2126*r + 0.7152*g + 0.0722*b) / 255
}
