package e2e

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWidgetAntiSpamContract plays the server side of the anti-spam contract
// (GET /api/form with a proof-of-work challenge) and checks that the widget
// sends the token back with the solved puzzle, keeps the honeypot empty and
// hidden from people yet present, and takes a fresh token for each comment.
func TestWidgetAntiSpamContract(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	spam := &antiSpam{maxNumber: 40000, answers: map[string]string{}}
	w.setHook(spam.hook)
	ctx := newBrowser(t)
	do(t, ctx, chromedp.Navigate(b.page("/s", "Spam", w.embedTag(`data-post="/s"`))))
	waitReady(t, ctx, "#parley")

	honeypot := eval[string](t, ctx, shadow("#parley", `const f = root.querySelector('[name=nickname]'); const r = f.parentElement.getBoundingClientRect(); // clipped to 1px
		const hidden = f.closest('[aria-hidden=true]') !== null; const s = getComputedStyle(f);
		return [hidden, f.tabIndex, f.autocomplete, s.display !== 'none' && s.visibility !== 'hidden', r.width <= 1 && r.height <= 1].join(' ')`))
	if honeypot != "true -1 off true true" {
		t.Errorf("honeypot (aria-hidden, tabindex, autocomplete, rendered, invisible) = %s, want true -1 off true true", honeypot)
	}

	for i, body := range []string{"First, with notifications.", "Second, right after."} {
		do(t, ctx,
			typeComment("#parley", "Ada", "ada@example.com", body))
		if i == 0 {
			do(t, ctx, chromedp.Click(field("#parley", "[name=notify_published]")), chromedp.Click(field("#parley", "[name=notify_replies]")))
		}
		do(t, ctx, chromedp.Click(field("#parley", "button[type=submit]")))
		waitUntil(t, ctx, "the submission", shadow("#parley", `return root.querySelectorAll('.parley-pending').length === `+strconv.Itoa(i+1)),
			shadow("#parley", `return root.textContent`))
		if err := spam.check(i); err != nil {
			t.Error(err)
		}
	}
	spam.mu.Lock()
	first, second := spam.received[0], spam.received[1]
	issued := spam.issued
	spam.mu.Unlock()
	if first.Token == second.Token {
		t.Error("the second comment reused the first one's token")
	}
	if !first.NotifyPublished || !first.NotifyReplies || second.NotifyPublished || second.NotifyReplies {
		t.Errorf("notify opt-ins sent as %v/%v then %v/%v, want true/true then reset to false/false",
			first.NotifyPublished, first.NotifyReplies, second.NotifyPublished, second.NotifyReplies)
	}
	if issued != 3 {
		t.Errorf("%d tokens fetched, want 3 (when the form showed, and after each comment)", issued)
	}
	stored := pending(t, w.app)
	if len(stored) != 2 || !stored[0].NotifyPublished || !stored[0].NotifyReplies || stored[1].NotifyReplies {
		t.Errorf("stored opt-ins wrong: %+v", stored)
	}
}
