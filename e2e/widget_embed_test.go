package e2e

import (
	"compress/gzip"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"parley/moderation"
)

// TestWidgetCounts fills every count element of a listing page with one
// /api/counts request, in the page's language or the element's own.
func TestWidgetCounts(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	seed(t, w.app, moderation.Submission{Post: "/b", Author: "Ada", Body: "One."})
	seed(t, w.app,
		moderation.Submission{Post: "/c", Author: "Ada", Body: "One."},
		moderation.Submission{Post: "/c", Author: "Grace", Body: "Two."},
		moderation.Submission{Post: "/c", Author: "Mei", Body: "Three."})
	ctx := newBrowser(t)
	listing := b.page("/", "Posts", `<ul>
<li><a href="/a">Post A</a> · <a href="/a#parley" id="a" data-parley-count="/a">Comments</a></li>
<li><a href="/b">Post B</a> · <a href="/b#parley" id="b" data-parley-count="/b">Comments</a></li>
<li><a href="/c">Post C</a> · <a href="/c#parley" id="c" data-parley-count="/c">Comments</a> (<span id="c2" data-parley-count="/c"></span>)</li>
<li lang="fr"><a href="/c">Article C</a> · <a href="/c#parley" id="c-fr" data-parley-count="/c" data-lang="fr">Commentaires</a></li>
<li lang="fr"><a href="/a">Article A</a> · <a href="/a#parley" id="a-fr" data-parley-count="/a" data-lang="fr">Commentaires</a></li>
</ul><script src="`+w.URL+`/count.js" async></script>`)
	do(t, ctx, chromedp.Navigate(listing))
	waitUntil(t, ctx, "the counts", `document.querySelector('#a-fr').textContent !== 'Commentaires'`, `document.body.textContent`)
	for id, want := range map[string]string{"a": "No Comments", "b": "1 Comment", "c": "3 Comments", "c2": "3 Comments",
		"c-fr": "3 commentaires", "a-fr": "Aucun commentaire"} {
		if got := eval[string](t, ctx, `document.getElementById('`+id+`').textContent`); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	if n := eval[int](t, ctx, `performance.getEntriesByType('resource').filter(e => e.name.includes('/api/counts')).length`); n != 1 {
		t.Errorf("%d /api/counts requests, want one for all the elements", n)
	}
	if n := eval[int](t, ctx, `performance.getEntriesByType('resource').filter(e => e.name.includes('/api/comments')).length`); n != 0 {
		t.Errorf("a listing page without a container loaded %d threads", n)
	}
}

// TestWidgetTwoOnOnePage mounts two independent widgets; the second has no
// data-post and so takes the page's path as its key.
func TestWidgetTwoOnOnePage(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	seed(t, w.app, moderation.Submission{Post: "/one", Author: "Ada", Body: "On the first post."})
	seed(t, w.app,
		moderation.Submission{Post: "/notes/two", Author: "Grace", Body: "On the page itself."},
		moderation.Submission{Post: "/notes/two", Author: "Mei", Body: "Me too."})
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(b.page("/notes/two", "Two widgets",
		`<section aria-label="First"><div id="parley" data-post="/one"></div></section>
<section aria-label="Second"><div class="second" data-parley></div></section>
<script src="`+w.URL+`/embed.js" async></script>`)))
	waitReady(t, ctx, "#parley")
	waitReady(t, ctx, ".second")
	if got := text(t, ctx, "#parley", "h2") + " / " + text(t, ctx, ".second", "h2"); got != "1 Comment / 2 Comments" {
		t.Errorf("headings = %q", got)
	}
	if got := text(t, ctx, "#parley", ".parley-body"); !strings.Contains(got, "On the first post.") {
		t.Errorf("first widget shows %q", got)
	}
	do(t, ctx,
		typeComment(".second", "Lin", "lin@example.com", "Posted from the second widget."))
	send(t, ctx, ".second")
	if n := eval[int](t, ctx, shadow("#parley", `return root.querySelectorAll('.parley-pending').length`)); n != 0 {
		t.Error("the first widget shows the second one's pending comment")
	}
	if q := pending(t, w.app); len(q) != 1 || q[0].Post != "/notes/two" {
		t.Fatalf("stored %+v, want one comment on /notes/two", q)
	}
}

// TestWidgetCrossOriginStrictCSP embeds Parley from another origin in a page
// with a strict Content Security Policy: it renders styled, posts, breaks no
// policy, sets no cookie and talks to no other host.
func TestWidgetCrossOriginStrictCSP(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	csp := "default-src 'none'; script-src " + w.URL + "; connect-src " + w.URL + "; style-src 'self'; base-uri 'none'"
	ctx := newBrowser(t)
	beforeScripts(t, ctx, `window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));`)
	do(t, ctx, chromedp.Navigate(b.pageCSP("/strict", "Strict", w.embedTag(`data-post="/strict" data-title="A strict page"`), csp)))
	waitReady(t, ctx, "#parley")
	if got := text(t, ctx, "#parley", "h2"); got != "No Comments on “A strict page”" {
		t.Errorf("heading = %q", got)
	}
	if got := eval[string](t, ctx, shadow("#parley", `return getComputedStyle(root.querySelector('button[type=submit]')).backgroundColor`)); got != "rgb(10, 88, 202)" {
		t.Errorf("the widget's styles did not apply under the page's CSP: button background %s", got)
	}
	do(t, ctx,
		typeComment("#parley", "Ada", "ada@example.com", "From a strict page."))
	send(t, ctx, "#parley")
	if v := eval[[]string](t, ctx, `window.__violations`); len(v) != 0 {
		t.Errorf("CSP violations: %v", v)
	}
	hosts := eval[[]string](t, ctx, `performance.getEntriesByType('resource').map(e => new URL(e.name).origin)`)
	for _, h := range hosts {
		if h != w.URL {
			t.Errorf("the widget made a request to %s", h)
		}
	}
	if c := eval[string](t, ctx, `document.cookie`); c != "" {
		t.Errorf("cookies: %q", c)
	}
	if len(pending(t, w.app)) != 1 {
		t.Error("the comment was not stored")
	}
}

// TestWidgetPermalinksAndStrings scrolls to a comment's permalink on load,
// shows the confirmation of a plain form post, and speaks French with a
// blogger's override.
func TestWidgetPermalinksAndStrings(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	var subs []moderation.Submission
	for i := range 12 {
		subs = append(subs, moderation.Submission{Post: "/p", Author: fmt.Sprintf("Reader %d", i), Body: strings.Repeat("A long comment. ", 40)})
	}
	ids := seed(t, w.app, subs...)
	target := ids[10]
	ctx := newBrowser(t)
	page := b.page("/long", "Long", `<p style="height:1500px">A long article.</p>`+
		w.embedTag(`data-post="/p" data-lang="fr" data-strings='{"submit": "Envoyer mon commentaire"}'`))
	do(t, ctx, chromedp.Navigate(page+"#parley-"+target))
	waitReady(t, ctx, "#parley")
	waitUntil(t, ctx, "the permalinked comment in view", shadow("#parley", `const r = root.getElementById('parley-`+target+`').getBoundingClientRect();
		return r.top >= 0 && r.top < innerHeight && scrollY > 1500`), `'scrollY ' + scrollY`)
	if !eval[bool](t, ctx, shadow("#parley", `return root.getElementById('parley-`+target+`').classList.contains('parley-target')`)) {
		t.Error("the permalinked comment is not highlighted")
	}

	// Following another comment's permalink scrolls there too.
	do(t, ctx, chromedp.Click(field("#parley", "#parley-"+ids[1]+" .parley-permalink")))
	waitUntil(t, ctx, "the clicked permalink", shadow("#parley", `return root.getElementById('parley-`+ids[1]+`').classList.contains('parley-target')`), "")
	if got := eval[string](t, ctx, `location.hash`); got != "#parley-"+ids[1] {
		t.Errorf("location.hash = %q", got)
	}

	if got := text(t, ctx, "#parley", "h2"); got != "12 commentaires" {
		t.Errorf("heading = %q", got)
	}
	if got := text(t, ctx, "#parley", "button[type=submit]"); got != "Envoyer mon commentaire" {
		t.Errorf("overridden submit = %q", got)
	}
	if got := text(t, ctx, "#parley", "label[for=f-author]"); got != "Nom *" {
		t.Errorf("French label = %q", got)
	}
	want := eval[string](t, ctx, shadow("#parley", `return new Intl.DateTimeFormat('fr', {dateStyle: 'long', timeStyle: 'short'}).format(new Date(root.querySelector('time').getAttribute('datetime')))`))
	if got := text(t, ctx, "#parley", "time"); got != want {
		t.Errorf("date = %q, want French %q", got, want)
	}

	// Back from a plain form post, the page says the comment is on its way.
	do(t, ctx, chromedp.Navigate(b.page("/back", "Back", w.embedTag(`data-post="/p"`))+"#parley-submitted"))
	waitReady(t, ctx, "#parley")
	if got := text(t, ctx, "#parley", ".status"); !strings.Contains(got, "awaiting moderation") {
		t.Errorf("status after a form post = %q", got)
	}
}

// TestWidgetEnhancesFragment includes the server-rendered thread in the page,
// as a site generator would, and checks that the widget keeps its nodes,
// adds what is new, and still works.
func TestWidgetEnhancesFragment(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	ids := seed(t, w.app,
		moderation.Submission{Post: "/f", Author: "Ada", Body: "Built into the page."},
		moderation.Submission{Post: "/f", Author: "Grace", Body: "Me too."})
	fragment := get(t, w.URL+"/api/comments?format=html&post=/f")
	later := seed(t, w.app, moderation.Submission{Post: "/f", Author: "Mei", Body: "Approved after the build."})[0]

	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(b.page("/f", "Fragment", `<div id="parley" data-post="/f">`+fragment+`</div>`)))
	if got := eval[string](t, ctx, `document.querySelector('#parley h2').textContent`); got != "2 Comments" {
		t.Fatalf("the fragment shows %q before any script", got)
	}
	eval[chromedp.Void](t, ctx, `for (const li of document.querySelectorAll('#parley li')) li.__fromServer = true;
		const s = document.createElement('script'); s.src = '`+w.URL+`/embed.js'; document.body.append(s);`)
	waitReady(t, ctx, "#parley")
	waitUntil(t, ctx, "the newer comment", shadow("#parley", `return root.getElementById('parley-`+later+`')`), shadow("#parley", `return root.textContent`))
	for _, id := range ids {
		if !eval[bool](t, ctx, shadow("#parley", `return root.getElementById('parley-`+id+`').__fromServer === true`)) {
			t.Errorf("comment %s was re-rendered instead of kept", id)
		}
		if got := text(t, ctx, "#parley", "#parley-"+id+" .parley-actions"); got != "Reply" {
			t.Errorf("kept comment %s has actions %q, want a Reply button", id, got)
		}
	}
	if got := text(t, ctx, "#parley", "h2"); got != "3 Comments" {
		t.Errorf("heading = %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelector('#parley').children.length`); n != 0 {
		t.Errorf("%d server-rendered nodes left in the page outside the widget", n)
	}
	do(t, ctx, chromedp.Click(field("#parley", "#parley-"+ids[0]+" .parley-actions button")))
	if got := eval[string](t, ctx, shadow("#parley", `return root.querySelector('form').parentElement.id`)); got != "parley-"+ids[0] {
		t.Errorf("the reply form opened in %q", got)
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %s", u, err, res.Status)
	}
	return string(body)
}

// TestWidgetBudget keeps embed.js within 12 KiB gzip as served, with an ETag.
func TestWidgetBudget(t *testing.T) {
	a := startApp(t)
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/embed.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	gz, _ := io.ReadAll(res.Body)
	if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("ETag") == "" {
		t.Fatalf("embed.js served with encoding %q, ETag %q", res.Header.Get("Content-Encoding"), res.Header.Get("ETag"))
	}
	const budget = 12 << 10
	t.Logf("embed.js: %d bytes gzip (budget %d)", len(gz), budget)
	if len(gz) > budget {
		t.Errorf("embed.js is %d bytes gzip, over the %d budget", len(gz), budget)
	}
	zr, err := gzip.NewReader(strings.NewReader(string(gz)))
	if err != nil {
		t.Fatal(err)
	}
	if src, _ := io.ReadAll(zr); !strings.Contains(string(src), "attachShadow") {
		t.Error("the gzip body is not the widget")
	}

	req.Header.Set("If-None-Match", res.Header.Get("ETag"))
	again, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation answered %s, want 304", again.Status)
	}
}

// TestDemoPage is what `go run .` shows: a blog post with the widget, a
// count, a way in for readers without JavaScript and a link to /admin.
func TestDemoPage(t *testing.T) {
	axe := axeSource(t)
	a := startApp(t)
	seed(t, a, moderation.Submission{Post: "/2015/12/xi-wuzhen", Author: "Ada", Body: "We stayed at the same guesthouse!"})
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(a.URL+"/"))
	waitReady(t, ctx, "#parley")
	if got := text(t, ctx, "#parley", "h2"); got != "1 Comment on “Two days in Wuzhen”" {
		t.Errorf("heading = %q", got)
	}
	waitUntil(t, ctx, "the count in the byline", `document.querySelector('[data-parley-count]').textContent === '1 Comment'`,
		`document.querySelector('[data-parley-count]').textContent`)
	if !eval[bool](t, ctx, `!!document.querySelector('a[href="/admin"]') && document.querySelectorAll('article p').length >= 4`) {
		t.Error("the demo page lacks its article or its link to /admin")
	}
	noscript := eval[string](t, ctx, `document.querySelector('#parley noscript').textContent`)
	if !strings.Contains(html.UnescapeString(noscript), "/p?post="+url.QueryEscape("/2015/12/xi-wuzhen")) {
		t.Errorf("the demo's <noscript> does not lead to the plain page: %s", noscript)
	}
	checkAccessibility(t, ctx, axe, "demo page")
	do(t, ctx,
		typeComment("#parley", "Visitor", "visitor@example.com", "Trying the demo."))
	send(t, ctx, "#parley")
	if q := pending(t, a); len(q) != 1 || q[0].Post != "/2015/12/xi-wuzhen" {
		t.Fatalf("stored %+v", q)
	}
}
