package e2e

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"parley/moderation"
)

// clippedRings is a script that focuses each element matched by the
// selector (inside root) and returns the ones whose focus ring does not fit
// inside the nearest ancestor that clips it: a scroll container, or a box
// with paint containment (content-visibility: auto contains paint).
const clippedRings = `(root, selector) => {
	const clipper = (el) => {
		for (let a = el.parentElement || el.getRootNode().host; a; a = a.parentElement || a.getRootNode().host) {
			const s = getComputedStyle(a);
			if (s.contentVisibility === 'auto' || /paint|strict|content/.test(s.contain) || s.overflowX !== 'visible' || s.overflowY !== 'visible') return a;
			if (a === document.documentElement) return null;
		}
		return null;
	};
	const bad = [];
	let checked = 0;
	for (const el of root.querySelectorAll(selector)) {
		el.focus();
		const s = getComputedStyle(el);
		if (!el.matches(':focus-visible') || s.outlineStyle === 'none') { bad.push(el.className + ' ' + el.tagName + ': no focus ring'); continue; }
		const grow = parseFloat(s.outlineWidth) + parseFloat(s.outlineOffset);
		const c = clipper(el);
		if (!c) continue;
		const cs = getComputedStyle(c), cr = c.getBoundingClientRect();
		const box = { left: cr.left + parseFloat(cs.borderLeftWidth), right: cr.right - parseFloat(cs.borderRightWidth),
			top: cr.top + parseFloat(cs.borderTopWidth), bottom: cr.bottom - parseFloat(cs.borderBottomWidth) };
		for (const r of el.getClientRects()) {
			checked++;
			const ring = { left: r.left - grow, right: r.right + grow, top: r.top - grow, bottom: r.bottom + grow };
			if (ring.left < box.left - 0.5 || ring.right > box.right + 0.5 || ring.top < box.top - 0.5 || ring.bottom > box.bottom + 0.5) {
				bad.push((el.getAttribute('aria-label') || el.textContent).trim() + ': ring ' + JSON.stringify(ring) + ' outside ' + c.tagName + '.' + c.className + ' ' + JSON.stringify(box));
			}
		}
	}
	return checked ? bad : ['nothing checked'];
}`

// TestWidgetFocusRingsWhole focuses every link and button of every
// top-level comment, light and dark, and checks that no part of its focus
// ring is cut off by the comment's box.
func TestWidgetFocusRingsWhole(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	parent := seed(t, w.app, moderation.Submission{Post: "/rings", Author: "Ada", Website: "https://ada.example.org", Body: "First."})[0]
	seed(t, w.app, moderation.Submission{Post: "/rings", Parent: parent, Author: "Grace", Website: "https://grace.example.org", Body: "A reply."},
		moderation.Submission{Post: "/rings", Author: "Lin", Body: "Second."})
	ctx := newBrowser(t)
	emulateFocus(t, ctx)
	for _, theme := range []string{"light", "dark"} {
		do(t, ctx, chromedp.Navigate(b.page("/rings-"+theme, "Rings", w.embedTag(`data-post="/rings" data-theme="`+theme+`"`))))
		waitReady(t, ctx, "#parley")
		bad := eval[[]string](t, ctx, shadow("#parley", `return (`+clippedRings+`)(root, '.root > ol > .parley-comment :is(a, button)')`))
		for _, b := range bad {
			t.Errorf("%s: %s", theme, b)
		}
		// The reply form opens inside a comment: its fields' rings too. It is
		// opened from the keyboard, so that the rings show as they do then.
		do(t, ctx, chromedp.Focus(field("#parley", "#parley-"+parent+" .parley-reply")), chromedp.KeyEvent("\r"))
		waitUntil(t, ctx, "the reply form", shadow("#parley", `return root.querySelector('#parley-`+parent+` form')`), "")
		bad = eval[[]string](t, ctx, shadow("#parley", `return (`+clippedRings+`)(root, '.root > ol > .parley-comment form :is(input:not([tabindex="-1"]), textarea, button)')`))
		for _, b := range bad {
			t.Errorf("%s, reply form: %s", theme, b)
		}
	}
}

// emulateFocus makes the headless page believe it has the focus, as a page
// in a window in front does: without it, :focus-visible never matches.
func emulateFocus(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
}

// contrast is the WCAG 2 contrast ratio of two CSS rgb() colours.
func contrast(a, b string) float64 {
	l1, l2 := relativeLuminance(a), relativeLuminance(b)
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return (l1 + 0.05) / (l2 + 0.05)
}

// relativeLuminance follows WCAG 2's definition, from sRGB.
func relativeLuminance(css string) float64 {
	var c [3]float64
	if _, err := fmt.Sscanf(strings.NewReplacer("rgba(", "", "rgb(", "", ",", " ", ")", "").Replace(css), "%f %f %f", &c[0], &c[1], &c[2]); err != nil {
		return math.NaN()
	}
	for i, v := range c {
		v /= 255
		if v <= 0.04045 {
			c[i] = v / 12.92
		} else {
			c[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}

// fieldColours is a script that returns, for each form field matched in
// root, its name, its border colour and the colour behind it: the first
// opaque background among its ancestors, across shadow roots.
const fieldColours = `(root, selector) => [...root.querySelectorAll(selector)].map((el) => {
	let bg = 'rgb(255, 255, 255)';
	for (let a = el.parentElement || el.getRootNode().host; a; a = a.parentElement || a.getRootNode().host) {
		const c = getComputedStyle(a).backgroundColor;
		if (c !== 'transparent' && !/rgba\(.*, 0\)$/.test(c)) { bg = c; break; }
	}
	return [el.name || el.id, getComputedStyle(el).borderTopColor, bg];
})`

// checkFieldContrast fails for each field whose border is under 3:1
// against what surrounds it (WCAG 1.4.11).
func checkFieldContrast(t *testing.T, where string, fields [][]string) {
	t.Helper()
	if len(fields) == 0 {
		t.Errorf("%s: no form fields found", where)
	}
	for _, f := range fields {
		if c := contrast(f[1], f[2]); !(c >= 3) {
			t.Errorf("%s: field %s border %s on %s has contrast %.2f:1, want at least 3:1", where, f[0], f[1], f[2], c)
		}
	}
}

// TestFormFieldContrast computes the contrast of the form fields' borders
// with the page behind them, in the widget (on a plain page and on the demo
// page, which lets the blog's background through) and on /p, in the light
// and the dark colour scheme.
func TestFormFieldContrast(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	ctx := newBrowser(t)
	const widgetFields = `input:not([type=checkbox]):not([type=hidden]):not([tabindex="-1"]), textarea`
	for _, dark := range []bool{false, true} {
		scheme := map[bool]string{false: "light", true: "dark"}[dark]
		emulateDark(t, ctx, dark)
		do(t, ctx, chromedp.Navigate(b.page("/contrast", "Contrast", w.embedTag(`data-post="/c" data-theme="auto"`))))
		waitReady(t, ctx, "#parley")
		checkFieldContrast(t, "widget, "+scheme, eval[[][]string](t, ctx, shadow("#parley", `return (`+fieldColours+`)(root, '`+widgetFields+`')`)))

		do(t, ctx, chromedp.Navigate(w.URL+"/"))
		waitReady(t, ctx, "#parley")
		checkFieldContrast(t, "demo page, "+scheme, eval[[][]string](t, ctx, shadow("#parley", `return (`+fieldColours+`)(root, '`+widgetFields+`')`)))

		do(t, ctx, chromedp.Navigate(w.URL+"/p?post=%2Fc"))
		checkFieldContrast(t, "/p, "+scheme, eval[[][]string](t, ctx, `(`+fieldColours+`)(document, '`+widgetFields+`')`))
	}
}

// TestWidgetSmallThings: the Name and Email inputs side by side are the
// same height, Escape closes the reply form and gives focus back to the
// Reply button, and each permalink is named after whose comment it is.
func TestWidgetSmallThings(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	ids := seed(t, w.app, moderation.Submission{Post: "/small", Author: "Ada", Body: "One."},
		moderation.Submission{Post: "/small", Author: "Grace", Body: "Two."},
		moderation.Submission{Post: "/small", Author: "نجيب", Body: "ثلاثة."})
	ctx := newBrowser(t)
	do(t, ctx, chromedp.EmulateViewport(1000, 800), chromedp.Navigate(b.page("/small", "Small", w.embedTag(`data-post="/small"`))))
	waitReady(t, ctx, "#parley")

	heights := eval[[]float64](t, ctx, shadow("#parley", `return ['#f-author', '#f-email'].map(s => root.querySelector(s).getBoundingClientRect().height)`))
	if tops := eval[[]float64](t, ctx, shadow("#parley", `return ['#f-author', '#f-email'].map(s => root.querySelector(s).getBoundingClientRect().top)`)); tops[0] == tops[1] && heights[0] == heights[1] {
		t.Log("Name and Email share a row")
	}
	if heights[0] != heights[1] {
		t.Errorf("Name input is %.1fpx high, Email %.1fpx", heights[0], heights[1])
	}

	// Escape closes the reply form; focus goes back to the Reply button.
	reply := "#parley-" + ids[1] + " .parley-reply"
	do(t, ctx, chromedp.Click(field("#parley", reply)))
	waitUntil(t, ctx, "the reply form", shadow("#parley", `return root.querySelector('#parley-`+ids[1]+` form') && root.activeElement?.closest('form')`), "")
	press(t, ctx, "\u001b") // Escape, in the focused field
	waitUntil(t, ctx, "the reply form to close", shadow("#parley", `return !root.querySelector('.parley-comment form')`), shadow("#parley", `return root.activeElement?.outerHTML`))
	if got := eval[string](t, ctx, shadow("#parley", `return root.activeElement === root.querySelector('`+reply+`') ? 'reply button' : String(root.activeElement?.outerHTML)`)); got != "reply button" {
		t.Errorf("after Escape, focus is on %s, want the Reply button", got)
	}
	if got := eval[string](t, ctx, shadow("#parley", `return root.querySelector('`+reply+`').getAttribute('aria-expanded')`)); got != "false" {
		t.Errorf("after Escape, aria-expanded = %s", got)
	}
	if got := eval[string](t, ctx, shadow("#parley", `return root.querySelector('#form-heading').textContent`)); got != "Leave a comment" {
		t.Errorf("after Escape, the form heading says %q", got)
	}

	// Permalinks: named by author and date, each name different.
	names := eval[[]string](t, ctx, shadow("#parley", `return [...root.querySelectorAll('.parley-permalink')].map(a => a.getAttribute('aria-label') + '|' + a.textContent)`))
	seen := map[string]bool{}
	for i, n := range names {
		label, date, _ := strings.Cut(n, "|")
		author := []string{"Ada", "Grace", "نجيب"}[i]
		if !strings.Contains(label, author) || !strings.Contains(label, date) || date == "" {
			t.Errorf("permalink %d is named %q (shows %q), want the author %s and the date", i, label, date, author)
		}
		if seen[label] {
			t.Errorf("two permalinks are both named %q", label)
		}
		seen[label] = true
	}
	if len(names) != 3 {
		t.Errorf("%d permalinks, want 3", len(names))
	}
}

// isolation is a script returning, for every author name and comment body
// in root (matched by the selectors), what is wrong with its direction:
// each must carry dir="auto", and a right-to-left text must lay out
// right to left.
const isolation = `(root, names, bodies) => {
	const bad = [];
	const all = [...root.querySelectorAll(names)].map(el => ['name', el]).concat([...root.querySelectorAll(bodies)].map(el => ['body', el]));
	for (const [kind, el] of all) {
		const text = el.textContent.trim();
		if (el.getAttribute('dir') !== 'auto') bad.push(kind + ' ' + JSON.stringify(text) + ' has dir=' + el.getAttribute('dir'));
		const rtl = /^[\u0590-\u08FF]/.test(text);
		if (rtl !== (getComputedStyle(el).direction === 'rtl')) bad.push(kind + ' ' + JSON.stringify(text) + ' lays out ' + getComputedStyle(el).direction);
	}
	return all.length ? bad : ['no names or bodies found'];
}`

// TestRightToLeftIsolated shows comments and names in Arabic and Hebrew
// beside Latin ones, in the widget, the format=html fragment and /p: every
// name and body carries dir="auto", and right-to-left ones read so.
func TestRightToLeftIsolated(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	ids := seed(t, w.app, moderation.Submission{Post: "/rtl", Author: "نجيب محفوظ", Body: "مرحبا بالعالم."},
		moderation.Submission{Post: "/rtl", Author: "Zoë 🎉👩‍💻", Website: "https://zoe.example.org", Body: "Hello, world."})
	seed(t, w.app, moderation.Submission{Post: "/rtl", Parent: ids[0], Author: "שלום", Body: "תודה!"})
	ctx := newBrowser(t)
	const names, bodies = `[itemprop=name], .parley-author:not(:has([itemprop=name]))`, `.parley-body`

	do(t, ctx, chromedp.Navigate(b.page("/rtl", "RTL", w.embedTag(`data-post="/rtl"`))))
	waitReady(t, ctx, "#parley")
	for _, bad := range eval[[]string](t, ctx, shadow("#parley", `return (`+isolation+`)(root, '`+names+`', '`+bodies+`')`)) {
		t.Errorf("widget: %s", bad)
	}
	// The writer's own pending comment, shown at once.
	// The writer's own pending comment, shown at once, with a name that
	// needs its joiners (ZWNJ in Persian, ZWJ in an emoji sequence).
	const name = "فرخ\u200cزاد 👩\u200d💻"
	do(t, ctx, chromedp.SetValue(field("#parley", "#f-author"), name), typeComment("#parley", "", "f@example.com", "سلام"))
	send(t, ctx, "#parley")
	if q := pending(t, w.app); len(q) != 1 || q[0].Author != name {
		t.Fatalf("stored %+v, want the author %q", q, name)
	}
	for _, bad := range eval[[]string](t, ctx, shadow("#parley", `return (`+isolation+`)(root, '`+names+`', '`+bodies+`')`)) {
		t.Errorf("widget with a pending comment: %s", bad)
	}

	fragment := get(t, w.URL+"/api/comments?post=%2Frtl&format=html")
	do(t, ctx, chromedp.Navigate(b.page("/rtl-fragment", "Fragment", fragment)))
	for _, bad := range eval[[]string](t, ctx, `(`+isolation+`)(document, '`+names+`', '`+bodies+`')`) {
		t.Errorf("format=html: %s", bad)
	}

	do(t, ctx, chromedp.Navigate(w.URL+"/p?post=%2Frtl&parent="+ids[0]))
	for _, bad := range eval[[]string](t, ctx, `(`+isolation+`)(document, '`+names+`, form [dir]', '`+bodies+`')`) {
		t.Errorf("/p: %s", bad)
	}
	// Its permalinks, like the widget's, say whose comment they are.
	for _, bad := range eval[[]string](t, ctx, `[...document.querySelectorAll('.parley-comment:not(.parley-deleted)')].flatMap((li) => {
		const name = li.querySelector('[itemprop=name]').textContent, link = li.querySelector('.parley-permalink');
		const label = link.getAttribute('aria-label') || '';
		return label.includes(name) && label.includes(link.textContent) ? [] : ['permalink of ' + name + ' is named ' + JSON.stringify(label)];
	})`) {
		t.Errorf("/p: %s", bad)
	}
}

// TestNoScriptPageIcon: /p declares its icon, and the page's own CSP lets
// it load, so that browsers do not fetch /favicon.ico against the policy.
func TestNoScriptPageIcon(t *testing.T) {
	a := startApp(t)
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(a.URL+"/p?post=%2Ficon"))
	got := eval[string](t, ctx, `new Promise((resolve) => {
		const icon = document.querySelector('link[rel=icon]');
		if (!icon) return resolve('no icon declared');
		document.addEventListener('securitypolicyviolation', (e) => resolve('CSP refused ' + e.blockedURI + ' (' + e.violatedDirective + ')'));
		const img = new Image();
		img.onload = () => setTimeout(() => resolve('loaded'), 100);
		img.onerror = () => setTimeout(() => resolve('did not load'), 100);
		img.src = icon.href;
	})`)
	if got != "loaded" {
		t.Errorf("the /p icon: %s", got)
	}
}

// TestWidgetFlushOnAPhone: a widget with no padding, flush with the edges
// of a phone's screen, makes the page no wider than the screen, and its
// focus rings stay whole.
func TestWidgetFlushOnAPhone(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	seed(t, w.app, moderation.Submission{Post: "/flush", Author: "Ada", Website: "https://ada.example.org", Body: "First."})
	ctx := newBrowser(t)
	emulateFocus(t, ctx)
	do(t, ctx, chromedp.EmulateViewport(360, 740),
		chromedp.Navigate(b.page("/flush", "Flush", `<style>body,main{margin:0;padding:0}#parley{--parley-padding:0}</style>`+w.embedTag(`data-post="/flush"`))))
	waitReady(t, ctx, "#parley")
	if got := eval[[]int](t, ctx, `[document.documentElement.scrollWidth, innerWidth]`); got[0] > got[1] {
		t.Errorf("the page is %dpx wide on a %dpx screen", got[0], got[1])
	}
	for _, bad := range eval[[]string](t, ctx, shadow("#parley", `return (`+clippedRings+`)(root, '.root > ol > .parley-comment :is(a, button)')`)) {
		t.Error(bad)
	}
}
