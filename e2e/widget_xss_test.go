package e2e

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// xssPayloads would each set window.__xss if any of them ever ran.
var xssPayloads = []string{
	`<script>window.__xss=1</script>`,
	`<img src=x onerror="window.__xss=1">`,
	`"><svg onload="window.__xss=1">`,
	`'><iframe src="javascript:window.__xss=1"></iframe>`,
	`<a href="javascript:window.__xss=1">click</a>`,
	`[click](javascript:window.__xss=1)`,
	`![x](javascript:window.__xss=1)`,
	`<details open ontoggle="window.__xss=1">`,
	`</textarea><script>window.__xss=1</script>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>`,
	"`<img src=x onerror=window.__xss=1>`",
	`&lt;img src=x onerror=window.__xss=1&gt;`,
	`{{constructor.constructor('window.__xss=1')()}}`,
	`${window.__xss=1}`,
	`<style>@import 'javascript:window.__xss=1'</style>`,
}

// xssWebsites are hostile but valid web addresses.
var xssWebsites = []string{
	`https://example.com/"><script>window.__xss=1</script>`,
	`https://example.com/?q=<img src=x onerror=window.__xss=1>`,
	`https://example.com/#' onmouseover='window.__xss=1`,
}

// TestWidgetXSS puts hostile text in every field, the post key included,
// publishes it, and renders it in the widget, the no-JS page and the
// fragment: the flag a payload would set stays unset and the text shows as
// typed.
func TestWidgetXSS(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	const post = `<img src=x onerror=window.__xss=1>"'/`

	// Through the widget: one submission with payloads in every field,
	// shown back to its writer as pending.
	ctx := newBrowser(t)
	page := b.page("/xss", "XSS", `<div id="parley" data-post="`+html.EscapeString(post)+`" data-title="`+html.EscapeString(xssPayloads[1])+`"></div>`+
		`<script src="`+w.URL+`/embed.js" async></script>`)
	do(t, ctx, chromedp.Navigate(page))
	waitReady(t, ctx, "#parley")
	eval[chromedp.Void](t, ctx, shadow("#parley", `const set = (n, v) => root.querySelector('#f-' + n).value = v;
		set('author', `+jsString(xssPayloads[1])+`); set('email', 'xss@example.com');
		set('website', `+jsString(xssWebsites[0])+`); set('body', `+jsString(strings.Join(xssPayloads, "\n\n"))+`);`))
	send(t, ctx, "#parley")
	if got := text(t, ctx, "#parley", ".parley-pending .parley-author"); got != xssPayloads[1] {
		t.Errorf("pending author shows %q, want the text as typed", got)
	}

	// Through the API: a comment per payload, each in author and body, and
	// replies so that "Reply to {author}" renders them too.
	for i, p := range xssPayloads {
		sub := map[string]string{"post": post, "author": p, "email": "x@example.com", "body": p}
		if i < len(xssWebsites) {
			sub["website"] = xssWebsites[i]
		}
		submitJSON(t, w.URL, sub)
	}
	if res := submitJSON(t, w.URL, map[string]string{"post": post, "author": "x", "email": "x@example.com",
		"website": "javascript:window.__xss=1", "body": "x"}); res != http.StatusBadRequest {
		t.Errorf("a javascript: website was answered %d, want 400", res)
	}
	for _, c := range pending(t, w.app) {
		approve(t, w.app, c.ID)
	}

	do(t, ctx, chromedp.Reload())
	waitReady(t, ctx, "#parley")
	if n := eval[int](t, ctx, shadow("#parley", `return root.querySelectorAll('li.parley-comment').length`)); n != len(xssPayloads)+1 {
		t.Fatalf("%d comments rendered, want %d", n, len(xssPayloads)+1)
	}
	authors := eval[[]string](t, ctx, shadow("#parley", `return [...root.querySelectorAll('.parley-author')].map(a => a.textContent)`))
	// Comments sent within one millisecond may come in either order (IDs
	// order by the millisecond): each payload must show as typed, somewhere.
	for i, p := range xssPayloads {
		if !slices.Contains(authors[1:], p) {
			t.Errorf("author %d (%q) is not shown as typed among %q", i, p, authors[1:])
		}
	}
	// Open a reply to each, which writes the author into the form's heading.
	n := len(xssPayloads) + 1
	for i := range n {
		eval[chromedp.Void](t, ctx, shadow("#parley", `root.querySelectorAll('.parley-actions button')[`+strconv.Itoa(i)+`].click()`))
	}
	// Give any event handler (onerror, onload, ontoggle) time to fire.
	eval[chromedp.Void](t, ctx, `new Promise(r => setTimeout(r, 300))`)
	if got := eval[string](t, ctx, `String(window.__xss)`); got != "undefined" {
		t.Fatalf("a payload ran in the widget: window.__xss = %s", got)
	}
	bad := eval[[]string](t, ctx, shadow("#parley", `return [...root.querySelectorAll('*')].flatMap(el =>
		[...el.attributes].filter(a => a.name.startsWith('on') || /^\s*javascript:/i.test(a.value)).map(a => el.tagName + ' ' + a.name + '=' + a.value)
		.concat(/^(SCRIPT|IFRAME|IMG|SVG|STYLE|MATH|DETAILS)$/.test(el.tagName) ? [el.tagName] : []))`))
	if len(bad) != 0 {
		t.Errorf("dangerous markup in the widget: %v", bad)
	}

	// The server-rendered fragment, included in a page without any CSP.
	fragment := get(t, w.URL+"/api/comments?format=html&post="+url.QueryEscape(post))
	do(t, ctx, chromedp.Navigate(b.page("/xss-fragment", "Fragment", fragment)))
	eval[chromedp.Void](t, ctx, `new Promise(r => setTimeout(r, 300))`)
	if got := eval[string](t, ctx, `String(window.__xss)`); got != "undefined" {
		t.Fatalf("a payload ran from the fragment: window.__xss = %s", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('script, iframe, img, svg, details, math, main style').length`); n != 0 {
		t.Errorf("the fragment carries %d dangerous elements", n)
	}

	// The no-JS page, whose CSP runs no script at all; its markup must be
	// clean anyway.
	do(t, ctx, chromedp.Navigate(w.URL+"/p?post="+url.QueryEscape(post)))
	if got := eval[string](t, ctx, `document.title`); got != "Comments on "+post {
		t.Errorf("no-JS page title = %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('script, iframe, img, svg, details, math, body style, [onerror], [onload]').length`); n != 0 {
		t.Errorf("the no-JS page carries %d dangerous elements", n)
	}
}

func submitJSON(t *testing.T, base string, sub map[string]string) int {
	t.Helper()
	body, _ := json.Marshal(sub)
	res, err := http.Post(base+"/api/comments", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted && res.StatusCode != http.StatusBadRequest {
		t.Fatalf("submission answered %s", res.Status)
	}
	return res.StatusCode
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
