package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"

	"parley/moderation"
)

// TestWidgetFirstRender500 measures the first render of a post with 500
// approved comments (100 of them replies) in headless Chromium, and reports
// the medians with b.ReportMetric. It asserts no time: the machine is shared.
//
//	go test ./e2e -run TestWidgetFirstRender500 -count=1 -v -benchtime 5s
//
// "to-paint" runs from navigation start to the first frame that shows the
// thread (the heading and the first comments, parley:ready); "widget" from
// embed.js arriving to that frame (running the script, fetching the thread,
// building and laying out the first comments), of which "thread-fetch" is the
// request for the thread's JSON; "comments-first-frame" is how many comments
// that frame holds. The widget adds the rest while the page is idle:
// "all-in" runs from navigation start to the frame after the last of the 500
// is in the DOM, and the load counts only once all 500 are. Wall-clock time
// on a busy machine mostly measures the neighbours, so "main-cpu" is the
// page's main-thread CPU time for the same load (all 500 comments), and "main-cpu-empty" that of
// the same page on a post without comments: their difference is what 500
// comments cost. Loads are warm (embed.js cached, the thread revalidated).
func TestWidgetFirstRender500(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	seedMany(t, w.app, "/big", 400, 100)
	ctx := newBrowser(t)
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{TimeDomain: performance.EnableTimeDomainThreadTicks}); err != nil {
		t.Fatal(err)
	}
	measured := func(post string) string {
		return b.page(post, "A popular post", `<p>An article that drew a crowd.</p>`+w.embedTag(`data-post="`+post+`"`)+
			`<script>addEventListener('parley:ready', (e) => {
	const root = document.querySelector('#parley').shadowRoot;
	const count = () => root.querySelectorAll('li.parley-comment').length;
	const shown = count(), timing = {};
	const publish = (part) => { Object.assign(timing, part); if ('paint' in timing && 'all' in timing) window.__timing = timing; };
	const afterFrame = (f) => requestAnimationFrame(() => setTimeout(f));
	afterFrame(() => {
		const entries = performance.getEntriesByType('resource');
		const embed = entries.find(e => e.name.endsWith('/embed.js'));
		const thread = entries.find(e => e.name.includes('/api/comments'));
		publish({paint: performance.now(), widget: performance.now() - embed.responseEnd, fetch: thread.duration, shown});
	});
	const allIn = () => afterFrame(() => publish({all: performance.now(), comments: count()}));
	if (shown >= e.detail.count) return allIn();
	const rest = new MutationObserver(() => { if (count() >= e.detail.count) { rest.disconnect(); allIn(); } });
	rest.observe(root.querySelector('ol.parley-comments'), {childList: true, subtree: true});
});</script>`)
	}
	big, empty := measured("/big"), measured("/quiet")

	// One cold load of each first: readers who come back have embed.js
	// cached and revalidate the thread with its ETag.
	for _, page := range []string{big, empty} {
		if _, err := firstRender(ctx, page); err != nil {
			t.Fatal(err)
		}
	}
	var paints, widgets, fetches, alls, shown, cpus, emptyCPUs []float64
	var failure error
	res := testing.Benchmark(func(bb *testing.B) {
		for bb.Loop() {
			ms, err := firstRender(ctx, big)
			if err == nil && ms.Comments != 500 {
				err = fmt.Errorf("rendered %d comments, want 500", ms.Comments)
			}
			var base renderTiming
			if err == nil {
				base, err = firstRender(ctx, empty)
			}
			if err != nil {
				failure = err
				bb.SkipNow()
			}
			paints, widgets, fetches = append(paints, ms.Paint), append(widgets, ms.Widget), append(fetches, ms.Fetch)
			alls, shown = append(alls, ms.All), append(shown, float64(ms.Shown))
			cpus, emptyCPUs = append(cpus, ms.CPU), append(emptyCPUs, base.CPU)
		}
		bb.ReportMetric(median(paints), "ms-to-paint")
		bb.ReportMetric(median(widgets), "ms-widget")
		bb.ReportMetric(median(fetches), "ms-thread-fetch")
		bb.ReportMetric(median(shown), "comments-first-frame")
		bb.ReportMetric(median(alls), "ms-all-in")
		bb.ReportMetric(median(cpus), "ms-main-cpu")
		bb.ReportMetric(median(emptyCPUs), "ms-main-cpu-empty")
		bb.ReportMetric(0, "ns/op") // the page loads, not the loop, are the figure
	})
	if failure != nil {
		t.Fatal(failure)
	}
	t.Logf("first render of 500 comments, medians of %d page loads: %s", len(paints), res)
}

// renderTiming is what a measured page records, in milliseconds, plus the
// main thread's CPU time for its load.
type renderTiming struct {
	Paint, Widget, Fetch, All, CPU float64
	Shown, Comments                int
}

// firstRender loads url and returns the timings of that load.
func firstRender(ctx context.Context, url string) (renderTiming, error) {
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return renderTiming{}, err
	}
	timing, err := chromedp.Run(ctx, chromedp.Poll[renderTiming](`window.__timing`))
	if err != nil {
		return timing, err
	}
	metrics, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
	for _, m := range metrics.Metrics {
		if m.Name == "TaskDuration" { // seconds of thread time, since this document began
			timing.CPU = m.Value * 1000
		}
	}
	return timing, err
}

// seedMany stores top approved comments on post, then replies to the first
// of them, all approved in bulk.
func seedMany(t *testing.T, a *app, post string, top, replies int) {
	t.Helper()
	ctx := context.Background()
	submit := func(n int, parent func(i int) string) []string {
		ids := make([]string, n)
		for i := range n {
			c, err := a.Svc.Submit(ctx, moderation.DefaultSite, moderation.Submission{Post: post, Parent: parent(i), Author: fmt.Sprintf("Reader %d", i),
				Email: "reader@example.com", Website: "https://example.com/~reader",
				Body: fmt.Sprintf("Comment %d: a *fair* point about `code`, with [a link](https://example.com/%d).\n\nAnd a second paragraph.", i, i)},
				moderation.Client{IP: "192.0.2.7"})
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = c.ID
		}
		if _, err := a.Svc.Moderate(ctx, a.Owner, moderation.DefaultSite, ids, moderation.ActionApprove); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	parents := submit(top, func(int) string { return "" })
	submit(replies, func(i int) string { return parents[i%20] })
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}
