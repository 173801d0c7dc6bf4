package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/moderation"
)

// liveWithin is how soon a committed change must show on the admin page.
const liveWithin = 2 * time.Second

// waitInPage waits, inside the page, until the expression is truthy, polling
// every few milliseconds (far finer than waitFor), and fails after limit.
// It returns how long it waited as the test saw it, an upper bound.
func waitInPage(t *testing.T, ctx context.Context, js string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	ok := eval[bool](t, ctx, fmt.Sprintf(`new Promise((resolve) => {
		const end = Date.now() + %d;
		const check = () => { if (%s) resolve(true); else if (Date.now() > end) resolve(false); else setTimeout(check, 5); };
		check();
	})`, limit.Milliseconds(), js))
	if !ok {
		t.Fatalf("not within %s: %s", limit, js)
	}
	return time.Since(start)
}

const pendingCount = `document.querySelector('[data-count="pending"]').textContent`

// TestAdminQueueLive: on an open queue, new comments and the tab counts
// appear within 2 s of their commit through the event stream, screen readers
// hear of them in a polite live region, focus stays where it was, the bulk
// bar shows only with comments, and the stream reconnects after a break.
func TestAdminQueueLive(t *testing.T) {
	a := startApp(t)
	axe := axeSource(t)
	addModerator(t, a, "ada", moderation.RoleModerator)
	ctx := newBrowser(t)
	signIn(t, ctx, a, "ada")

	if got := eval[string](t, ctx, `document.getElementById('empty').textContent`); !strings.Contains(got, "The queue is clear") {
		t.Errorf("an empty queue says %q", got)
	}
	if !eval[bool](t, ctx, `document.querySelector('.bulk').hidden`) {
		t.Error("the bulk bar shows on an empty queue")
	}
	if v := axeViolations(t, ctx, axe); len(v) > 0 {
		t.Errorf("empty queue:\n%s", strings.Join(v, "\n"))
	}
	waitFor(t, ctx, `Parley.live()`)

	first := submitComment(t, a, "/live", "Ada", "The first to arrive")
	took := waitInPage(t, ctx, fmt.Sprintf(`document.getElementById('c-%s')`, first), liveWithin)
	t.Logf("a new comment showed %s after its commit", took)
	waitInPage(t, ctx, pendingCount+` === '1'`, liveWithin)
	waitInPage(t, ctx, `document.getElementById('news').textContent === '1 new comment arrived.'`, time.Second)
	if eval[bool](t, ctx, `document.querySelector('.bulk').hidden`) {
		t.Error("the bulk bar stays hidden with a comment in the queue")
	}
	if eval[bool](t, ctx, `document.activeElement.classList.contains('item')`) {
		t.Error("a new comment took the focus")
	}

	// With a comment in hand, a new one leaves the focus on it.
	press(t, ctx, "j")
	waitFor(t, ctx, fmt.Sprintf(`document.activeElement.id === 'c-%s'`, first))
	second := submitComment(t, a, "/live", "Bob", "The second")
	waitInPage(t, ctx, fmt.Sprintf(`document.getElementById('c-%s')`, second), liveWithin)
	waitInPage(t, ctx, pendingCount+` === '2'`, liveWithin)
	if got := focusedID(t, ctx); got != first {
		t.Errorf("after a new comment the focus is on %q, want %q", got, first)
	}

	// Another moderator's decisions: the counts move, a comment decided
	// elsewhere leaves the page (said to screen readers), the one in hand
	// stays with a note, so that a key meant for it cannot fall on another.
	otherDecides := func(id string, action moderation.Action) {
		t.Helper()
		if _, err := a.Svc.Moderate(t.Context(), a.Owner, moderation.DefaultSite, []string{id}, action); err != nil {
			t.Fatal(err)
		}
	}
	otherDecides(second, moderation.ActionSpam)
	waitInPage(t, ctx, pendingCount+` === '1' && document.querySelector('[data-count="spam"]').textContent === '1'`, liveWithin)
	waitInPage(t, ctx, fmt.Sprintf(`!document.getElementById('c-%s')`, second), liveWithin)
	waitInPage(t, ctx, `document.getElementById('news').textContent === 'The comment by Bob was decided by another moderator.'`, time.Second)
	otherDecides(first, moderation.ActionApprove)
	waitInPage(t, ctx, fmt.Sprintf(`document.querySelector('#c-%s .elsewhere') &&
		document.querySelector('#c-%s .elsewhere').textContent.includes('now approved')`, first, first), liveWithin)
	if got := focusedID(t, ctx); got != first {
		t.Errorf("after decisions elsewhere the focus is on %q, want %q", got, first)
	}
	press(t, ctx, "a") // already approved: nothing happens
	if got := queueIDs(t, ctx); !slices.Equal(got, []string{first}) {
		t.Errorf("after a on a comment approved elsewhere the queue shows %v", got)
	}
	// An older comment sent back to the queue elsewhere comes back here.
	otherDecides(second, moderation.ActionRestore)
	waitInPage(t, ctx, fmt.Sprintf(`document.getElementById('c-%s')`, second), liveWithin)
	waitInPage(t, ctx, pendingCount+` === '1'`, liveWithin)
	if got := focusedID(t, ctx); got != first {
		t.Errorf("after a comment came back the focus is on %q, want %q", got, first)
	}

	// A broken connection: the browser reconnects and catches up.
	a.HTTP.CloseClientConnections()
	third := submitComment(t, a, "/live", "Cyd", "Sent while the stream was down")
	waitInPage(t, ctx, fmt.Sprintf(`document.getElementById('c-%s')`, third), liveWithin+3*time.Second)
	waitFor(t, ctx, `Parley.live()`)
	fourth := submitComment(t, a, "/live", "Dee", "Sent after the reconnect")
	waitInPage(t, ctx, fmt.Sprintf(`document.getElementById('c-%s')`, fourth), liveWithin)
	waitInPage(t, ctx, pendingCount+` === '3'`, liveWithin)
	if got := queueIDs(t, ctx); !slices.Equal(got, []string{first, second, third, fourth}) {
		t.Errorf("the live queue shows %v", got)
	}
	if v := axeViolations(t, ctx, axe); len(v) > 0 {
		t.Errorf("live queue:\n%s", strings.Join(v, "\n"))
	}

	do(t, ctx, chromedp.Navigate(a.URL+"/admin?status=rejected"), chromedp.WaitVisible(chromedp.ID("queue-title")))
	if !eval[bool](t, ctx, `document.querySelector('.bulk').hidden`) {
		t.Error("the bulk bar shows on an empty tab")
	}
}

// TestAdminQueueToastAndDensity: decisions at speed keep one toast (the last,
// with its Undo and a count of the others) that never covers the current
// comment; the compact density fits many comments on a 1280×900 screen, shows
// the current one in full, and is remembered.
func TestAdminQueueToastAndDensity(t *testing.T) {
	a := startApp(t)
	axe := axeSource(t)
	addModerator(t, a, "ada", moderation.RoleModerator)
	var ids []string
	for i := range 20 {
		ids = append(ids, submitComment(t, a, "/dense", fmt.Sprintf("Reader %c", 'A'+i),
			strings.Repeat(fmt.Sprintf("Comment %d says something worth reading, at some length. ", i), 4)))
	}
	ctx := newBrowser(t)
	do(t, ctx, chromedp.EmulateViewport(1280, 900))
	signIn(t, ctx, a, "ada")

	const fullyVisible = `[...document.querySelectorAll('#queue > .item')].filter(el => {
		const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight }).length`
	full := eval[int](t, ctx, fullyVisible)
	press(t, ctx, "m")
	waitFor(t, ctx, `document.getElementById('queue').classList.contains('compact')`)
	if got := eval[string](t, ctx, `document.getElementById('density').getAttribute('aria-pressed')`); got != "true" {
		t.Errorf("the density button is aria-pressed=%s in compact view", got)
	}
	compact := eval[int](t, ctx, fullyVisible)
	// At work further down the queue, the toolbar has scrolled away.
	for range 8 {
		press(t, ctx, "j")
	}
	waitFor(t, ctx, fmt.Sprintf(`document.activeElement.id === 'c-%s'`, ids[8]))
	working := eval[int](t, ctx, fullyVisible)
	t.Logf("comments fully on a 1280×900 screen: %d in full view, %d compact at the top, %d compact further down", full, compact, working)
	if compact < 7 || working < 10 {
		t.Errorf("compact view fits %d comments at the top and %d further down (full view %d), want 7 and 10", compact, working, full)
	}
	// Others take at most two lines of text; the current one shows in full.
	if n := eval[int](t, ctx, `[...document.querySelectorAll('#queue > .item:not(.current) .published')].filter(p =>
		p.getBoundingClientRect().height > 2.1 * parseFloat(getComputedStyle(p).lineHeight)).length`); n > 0 {
		t.Errorf("%d compact comments take more than two lines", n)
	}
	if !eval[bool](t, ctx, `(() => { const c = document.querySelector('#queue > .item.current');
		const p = c.querySelector('.published'); return p.scrollHeight <= p.clientHeight + 1 && c.querySelector('.actions').offsetParent !== null })()`) {
		t.Error("the current comment is not shown in full, with its actions")
	}
	if v := axeViolations(t, ctx, axe); len(v) > 0 {
		t.Errorf("compact queue:\n%s", strings.Join(v, "\n"))
	}
	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("queue")))
	if !eval[bool](t, ctx, `document.getElementById('queue').classList.contains('compact')`) {
		t.Error("compact view is forgotten after a reload")
	}

	// Five decisions at speed: one toast, the last with its Undo and "+4 earlier".
	for i := range 5 {
		waitInPage(t, ctx, fmt.Sprintf(`document.activeElement.id === 'c-%s'`, ids[i]), time.Second)
		press(t, ctx, "a")
	}
	waitInPage(t, ctx, fmt.Sprintf(`document.activeElement.id === 'c-%s'`, ids[5]), time.Second)
	toasts := eval[[]string](t, ctx, `[...document.querySelectorAll('#toasts .toast')].map(t => t.textContent)`)
	if len(toasts) != 1 || !strings.Contains(toasts[0], "Approved: the comment by Reader E.") ||
		!strings.Contains(toasts[0], "+4 earlier") || !strings.Contains(toasts[0], "Undo") {
		t.Fatalf("toasts after five decisions: %q", toasts)
	}
	if eval[bool](t, ctx, `(() => { const a = document.querySelector('#toasts .toast').getBoundingClientRect();
		const b = document.activeElement.getBoundingClientRect();
		return a.top < b.bottom && b.top < a.bottom })()`) {
		t.Error("the toast covers the current comment")
	}
	if v := axeViolations(t, ctx, axe); len(v) > 0 {
		t.Errorf("queue with a toast:\n%s", strings.Join(v, "\n"))
	}
	press(t, ctx, "u")
	waitStatus(t, a, ids[4], moderation.StatusPending)
	waitFor(t, ctx, `document.querySelectorAll('#toasts .toast').length === 1 &&
		document.querySelector('#toasts .toast').textContent.includes('Undone') && !document.querySelector('.toast-more')`)
	for _, id := range ids[:4] {
		waitStatus(t, a, id, moderation.StatusApproved)
	}

	// Compact holds on a phone too.
	do(t, ctx, chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("queue")))
	if w := eval[[]int](t, ctx, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		t.Errorf("the compact queue is %dpx wide on a %dpx screen", w[0], w[1])
	}

	press(t, ctx, "m")
	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("queue")))
	if eval[bool](t, ctx, `document.getElementById('queue').classList.contains('compact')`) {
		t.Error("the full view is forgotten after a reload")
	}
}

// TestAdminClearHundred drives 100 pending comments with the keyboard as a
// moderator would: one key per decision (approve, with some spam and some
// rejects), each pressed once the next comment has the focus. The second page
// must arrive by itself with the current comment kept, "clear" must be said
// only at the end, and one toast at most may show, never over the current
// comment. It logs the keys and the time; docs/admin.md quotes them.
func TestAdminClearHundred(t *testing.T) {
	a := startApp(t)
	addModerator(t, a, "ada", moderation.RoleModerator)
	const n = 100
	ids := make([]string, n)
	for i := range ids {
		ids[i] = submitComment(t, a, fmt.Sprintf("/post-%d", i%7), fmt.Sprintf("Reader %d", i),
			fmt.Sprintf("Comment number %d, with a sentence or two of text.", i))
	}
	keyOf := func(i int) (string, moderation.Status) {
		switch i % 10 {
		case 3:
			return "s", moderation.StatusSpam
		case 7:
			return "r", moderation.StatusRejected
		}
		return "a", moderation.StatusApproved
	}
	ctx := newBrowser(t)
	do(t, ctx, chromedp.EmulateViewport(1280, 900))
	signIn(t, ctx, a, "ada")
	if got := len(queueIDs(t, ctx)); got != 50 {
		t.Fatalf("the first page shows %d comments", got)
	}
	// The page reports what the test cannot see between its looks: the most
	// toasts at once, and when "clear" was said.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		window.__mon = { keys: 0, maxToasts: 0, clearAt: [] };
		document.addEventListener('keydown', () => { __mon.keys++; }, true);
		new MutationObserver(() => {
			__mon.maxToasts = Math.max(__mon.maxToasts, document.querySelectorAll('#toasts .toast').length);
		}).observe(document.getElementById('toasts'), { childList: true });
		const empty = document.getElementById('empty');
		new MutationObserver(() => {
			if (!empty.hidden && empty.textContent.includes('clear')) __mon.clearAt.push(__mon.keys);
		}).observe(empty, { attributes: true, childList: true, characterData: true, subtree: true });
	})()`))

	// The next comment has the focus and no toast covers it.
	ready := func(id string) string {
		return fmt.Sprintf(`document.activeElement.id === 'c-%s' && !(() => {
			const t = document.querySelector('#toasts .toast'); if (!t) return false;
			const a = t.getBoundingClientRect(), b = document.activeElement.getBoundingClientRect();
			return a.top < b.bottom && b.top < a.bottom })()`, id)
	}
	start := time.Now()
	for i, id := range ids {
		waitInPage(t, ctx, ready(id), 5*time.Second)
		key, _ := keyOf(i)
		press(t, ctx, key)
	}
	waitInPage(t, ctx, `!document.getElementById('empty').hidden`, 5*time.Second)
	onPage := time.Since(start)
	for i, id := range ids {
		_, want := keyOf(i)
		waitStatus(t, a, id, want)
	}
	stored := time.Since(start)
	waitInPage(t, ctx, pendingCount+` === '0'`, liveWithin)

	type monitor struct {
		Keys      int   `json:"keys"`
		MaxToasts int   `json:"maxToasts"`
		ClearAt   []int `json:"clearAt"`
	}
	mon := eval[monitor](t, ctx, `__mon`)
	if mon.Keys != n {
		t.Errorf("%d keys pressed, want %d", mon.Keys, n)
	}
	if mon.MaxToasts > 1 {
		t.Errorf("%d toasts showed at once", mon.MaxToasts)
	}
	if len(mon.ClearAt) == 0 || mon.ClearAt[0] != n {
		t.Errorf("\"clear\" was said after keys %v, want only after the %dth", mon.ClearAt, n)
	}
	if !eval[bool](t, ctx, `document.querySelector('.bulk').hidden`) {
		t.Error("the bulk bar shows on the cleared queue")
	}
	t.Logf("cleared %d comments with %d keys: %s until the page said clear, %s until every decision was stored (%.0f ms a decision)",
		n, mon.Keys, onPage.Round(time.Millisecond), stored.Round(time.Millisecond), float64(onPage.Milliseconds())/n)
}
