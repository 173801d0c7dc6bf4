package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWidgetLongThread shows a long thread's first comments at once and the
// rest soon after, in the server's order with replies under their parents,
// and renders a permalinked comment far down (and those above it) for the
// first frame.
func TestWidgetLongThread(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	seedMany(t, w.app, "/long", 150, 30)
	ctx := newBrowser(t)
	beforeScripts(t, ctx, `addEventListener('parley:ready', () => {
		const root = document.querySelector('#parley').shadowRoot;
		const id = location.hash.slice(1);
		window.__atReady = {count: root.querySelectorAll('li.parley-comment').length, target: !!id && !!root.getElementById(id)};
	});`)
	page := b.page("/long", "Long", `<p>An article.</p>`+w.embedTag(`data-post="/long"`))

	do(t, ctx, chromedp.Navigate(page))
	waitUntil(t, ctx, "the whole thread", shadow("#parley", `return root.querySelectorAll('li.parley-comment').length === 180`),
		shadow("#parley", `return root.querySelectorAll('li.parley-comment').length + ' comments'`))
	if n := eval[int](t, ctx, `window.__atReady.count`); n >= 180 || n < 50 {
		t.Errorf("the first frame held %d comments, want the first 50 or so of 180", n)
	}
	// The DOM holds the thread as the API sends it: top-level comments in
	// order, each reply inside its parent, every comment with a Reply button.
	problem := eval[string](t, ctx, `(async () => {
		const root = document.querySelector('#parley').shadowRoot;
		const data = await (await fetch('`+w.URL+`/api/comments?post=/long')).json();
		const top = [...root.querySelectorAll('ol.parley-comments:not(li ol) > li')].map((li) => li.dataset.parleyId);
		const want = data.comments.filter((c) => !c.parent).map((c) => c.id);
		if (top.join() !== want.join()) return 'top-level order differs';
		for (const c of data.comments) {
			const li = root.getElementById('parley-' + c.id);
			if (!li.querySelector(':scope > .parley-actions > button.parley-reply')) return c.id + ' has no Reply button';
			if (c.parent && li.parentElement.closest('li').dataset.parleyId !== c.parent) return c.id + ' is not under its parent';
		}
		return '';
	})()`)
	if problem != "" {
		t.Error(problem)
	}
	target := eval[string](t, ctx, shadow("#parley", `return [...root.querySelectorAll('ol.parley-comments:not(li ol) > li')][100].dataset.parleyId`))

	// A permalink to a comment far down: the first frame holds the thread
	// up to it, not the whole thread, and it is in view.
	do(t, ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(page+"#parley-"+target))
	waitReady(t, ctx, "#parley")
	if !eval[bool](t, ctx, `window.__atReady.target`) {
		t.Error("the permalinked comment was not in the first frame")
	}
	if n := eval[int](t, ctx, `window.__atReady.count`); n >= 180 {
		t.Errorf("the first frame held all %d comments, want those up to the permalinked one", n)
	}
	waitUntil(t, ctx, "the permalinked comment in view", shadow("#parley", `const li = root.getElementById('parley-`+target+`');
		const r = li.getBoundingClientRect();
		return li.classList.contains('parley-target') && r.top >= 0 && r.top < innerHeight`), `'scrollY ' + scrollY`)
}
