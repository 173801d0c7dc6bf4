package e2e

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"parley/moderation"
)

// TestNoScriptPageAndForm reads and writes comments with JavaScript off:
// the blog's <noscript> link leads to /p, whose plain form posts to
// /api/comments and comes back with a confirmation; replies work too.
func TestNoScriptPageAndForm(t *testing.T) {
	axe := axeSource(t)
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	ids := seed(t, w.app, moderation.Submission{Post: "/n", Author: "Ada", Website: "https://ada.example.org", Body: "Readable *without* scripts."})

	ctx := newBrowser(t)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	blogPage := b.page("/n", "No script", `<div id="parley" data-post="/n"><noscript><p><a id="plain" href="`+w.URL+`/p?post=%2Fn">Read and write comments without JavaScript</a></p></noscript></div>`+
		`<script src="`+w.URL+`/embed.js" async></script>`)
	do(t, ctx, chromedp.Navigate(blogPage), chromedp.Click(chromedp.ID("plain")))
	waitUntil(t, ctx, "the no-JS page", `location.pathname === '/p' && document.readyState === 'complete'`, `location.href`)
	if got := eval[string](t, ctx, `document.querySelector('#parley-`+ids[0]+` [itemprop=text]').textContent.trim()`); got != "Readable without scripts." {
		t.Errorf("approved comment on /p shows %q", got)
	}
	if eval[bool](t, ctx, `getComputedStyle(document.getElementById('parley-submitted')).display !== 'none'`) {
		t.Error("the confirmation shows before anything was sent")
	}
	if got := eval[string](t, ctx, `getComputedStyle(document.querySelector('button')).backgroundColor`); got != "rgb(10, 88, 202)" {
		t.Errorf("the page's own style was blocked by its CSP: button %s", got)
	}

	fill := func(body string) {
		t.Helper()
		do(t, ctx,
			chromedp.SendKeys(chromedp.ID("author"), "Lin"),
			chromedp.SendKeys(chromedp.ID("email"), "lin@example.com"),
			chromedp.SendKeys(chromedp.ID("body"), body))
	}
	fill("Sent by a plain form.")
	do(t, ctx, chromedp.Click(chromedp.CSS(`input[name=notify_replies]`)), chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	waitUntil(t, ctx, "the confirmation", `location.hash === '#parley-submitted' && getComputedStyle(document.getElementById('parley-submitted')).display !== 'none'`, `location.href`)
	if got := eval[string](t, ctx, `location.pathname + location.search`); got != "/p?post=%2Fn" {
		t.Errorf("came back to %s", got)
	}
	q := pending(t, w.app)
	if len(q) != 1 || q[0].Post != "/n" || q[0].Body != "Sent by a plain form." || !q[0].NotifyReplies || q[0].NotifyPublished {
		t.Fatalf("stored %+v", q)
	}

	// Reply through the comment's Reply link.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#parley-`+ids[0]+` .parley-actions a`)))
	waitUntil(t, ctx, "the reply form", `document.querySelector('form h2').textContent === 'Reply to Ada'`, `document.querySelector('form h2').textContent`)
	fill("A plain reply.")
	do(t, ctx, chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	waitUntil(t, ctx, "the reply's confirmation", `location.hash === '#parley-submitted'`, `location.href`)
	q = pending(t, w.app)
	if len(q) != 2 || q[1].Parent != ids[0] {
		t.Fatalf("stored reply %+v", q)
	}

	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(w.URL+"/p?post=%2Fn"))
	checkAccessibility(t, ctx, axe, "no-JS page")

	res, err := http.Get(w.URL + "/p?post=%2Fn")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.HasPrefix(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
		t.Errorf("no-JS page CSP = %q, want no script and no unsafe-inline", csp)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("no-JS page Cache-Control = %q; its form token must not be cached", cc)
	}
}

// TestThreadFragment checks the server-rendered thread for search engines:
// hostile authors and websites escaped, schema.org Comment microdata, replies
// nested, tombstones in place, nothing unapproved or private, and an ETag.
func TestThreadFragment(t *testing.T) {
	a := startApp(t)
	hostile := `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	ids := seed(t, a,
		moderation.Submission{Post: "/seo", Author: hostile, Email: "secret-ada@example.com", Website: `https://example.com/"><script>alert(3)</script>`, Body: "Top *level*."},
		moderation.Submission{Post: "/seo", Author: "Grace", Body: "Second."})
	reply := seed(t, a, moderation.Submission{Post: "/seo", Parent: ids[0], Author: "Mei", Body: "A reply."})[0]
	doomed := seed(t, a, moderation.Submission{Post: "/seo", Author: "Troll", Body: "Regrettable."})[0]
	seed(t, a, moderation.Submission{Post: "/seo", Parent: doomed, Author: "Lin", Body: "Answering the troll."})
	moderate(t, a, http.MethodDelete, doomed)
	if _, err := a.Svc.Submit(t.Context(), moderation.DefaultSite, moderation.Submission{Post: "/seo", Author: "Pending", Email: "p@example.com", Body: "Not yet approved."},
		moderation.Client{}); err != nil {
		t.Fatal(err)
	}

	res, err := http.Get(a.URL + "/api/comments?format=html&post=" + url.QueryEscape("/seo"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := string(raw)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, bad := range []string{"<script", "<img", "secret-ada@example.com", "Not yet approved", "Regrettable", "Troll"} {
		if strings.Contains(body, bad) {
			t.Errorf("fragment contains %q:\n%s", bad, body)
		}
	}
	// Escaped text holds no '<', so every '<' starts a real tag: none may
	// carry an event handler. (Quoted attribute values, such as a label
	// that holds the hostile name, are text and are skipped.)
	for _, tag := range regexp.MustCompile(`<[a-z](?:[^>"]|"[^"]*")*>`).FindAllString(body, -1) {
		if regexp.MustCompile(`\son[a-z]+\s*=`).MatchString(regexp.MustCompile(`"[^"]*"`).ReplaceAllString(tag, `""`)) {
			t.Errorf("fragment tag with an event handler: %s", tag)
		}
	}
	for _, want := range []string{
		`<span itemprop="name" dir="auto">&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;</span>`,
		`href="https://example.com/%22%3e%3cscript%3ealert%283%29%3c/script%3e" rel="nofollow ugc noopener" itemprop="url"`,
		`<h2 class="parley-heading">4 Comments</h2>`,
		`<div class="parley-body" itemprop="text" dir="auto"><p>Top <em>level</em>.</p>`,
		`This comment was deleted.`,
		`itemprop="author" itemscope itemtype="https://schema.org/Person"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("fragment lacks %s:\n%s", want, body)
		}
	}
	if n := strings.Count(body, `itemprop="comment" itemscope itemtype="https://schema.org/Comment"`); n != 4 {
		t.Errorf("%d schema.org Comment items, want 4 (the tombstone has none)", n)
	}
	if n := len(regexp.MustCompile(`itemprop="dateCreated" datetime="\d{4}-\d\d-\d\dT[0-9:]+Z"`).FindAllString(body, -1)); n != 4 {
		t.Errorf("%d dateCreated with RFC 3339 datetime, want 4", n)
	}
	// The reply sits inside its parent's item, so that it is the parent's comment.
	parent := strings.Index(body, `id="parley-`+ids[0]+`"`)
	child := strings.Index(body, `id="parley-`+reply+`"`)
	second := strings.Index(body, `id="parley-`+ids[1]+`"`)
	if parent < 0 || child < parent || second < child {
		t.Errorf("reply not nested under its parent (parent %d, reply %d, next %d)", parent, child, second)
	}

	etag := res.Header.Get("ETag")
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/api/comments?format=html&post=%2Fseo", nil)
	req.Header.Set("If-None-Match", etag)
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if etag == "" || again.StatusCode != http.StatusNotModified {
		t.Errorf("ETag %q revalidated with %s, want 304", etag, again.Status)
	}
}
