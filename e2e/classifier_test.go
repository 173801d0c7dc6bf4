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

// TestAdminSpamByScore trains the classifier with a few decisions, then in
// the browser: the queue shows each comment's score and top features, sorts
// by score, marks everything scored 0.9 or more as spam in one action and
// undoes it with one Undo. The page stays axe-clean.
func TestAdminSpamByScore(t *testing.T) {
	a := startApp(t)
	axe := axeSource(t)
	addModerator(t, a, "ada", moderation.RoleModerator)
	promo := func(i int) string {
		return fmt.Sprintf("Subscribe to my channel and win free crypto bonus %d https://youtube.example/win", i)
	}
	var hams, spams []string
	for i := range 4 {
		hams = append(hams, submitComment(t, a, "/s", fmt.Sprintf("Reader %c", 'A'+i), fmt.Sprintf("Thanks for the careful write-up on cache headers (%d)", i)))
		spams = append(spams, submitComment(t, a, "/s", fmt.Sprintf("Promo %c", 'A'+i), promo(i)))
	}
	for _, d := range []struct {
		ids    []string
		action moderation.Action
	}{{hams, moderation.ActionApprove}, {spams, moderation.ActionSpam}} {
		if _, err := a.Svc.Moderate(t.Context(), a.Owner, moderation.DefaultSite, d.ids, d.action); err != nil {
			t.Fatal(err)
		}
	}
	genuine := submitComment(t, a, "/s", "Reader Z", "Thanks, the careful write-up on cache headers helped")
	junk := []string{submitComment(t, a, "/s", "Promo Y", promo(10)), submitComment(t, a, "/s", "Promo Z", promo(11))}

	ctx := newBrowser(t)
	signIn(t, ctx, a, "ada")
	waitFor(t, ctx, `document.querySelectorAll('#queue > .item .score meter').length === 3`)
	if got := eval[string](t, ctx, `document.querySelector('#c-`+junk[0]+` .features').textContent`); !strings.Contains(got, "subscribe") {
		t.Errorf("top features of a spammy comment: %q", got)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(`details.by-score summary`)), chromedp.WaitVisible(chromedp.ID("sort")),
		chromedp.SetValue(chromedp.ID("sort"), "score"), chromedp.Click(chromedp.CSS(`details.by-score form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#queue[data-sort="score"]`)))
	if got := queueIDs(t, ctx); len(got) != 3 || got[2] != genuine {
		t.Fatalf("sorted by score: %v, want the genuine comment last", got)
	}
	if v := axeViolations(t, ctx, axe); len(v) > 0 {
		t.Errorf("queue by score:\n%s", strings.Join(v, "\n"))
	}

	do(t, ctx, chromedp.Click(chromedp.CSS(`details.by-score summary`)), chromedp.WaitVisible(chromedp.ID("by-score")),
		chromedp.Click(chromedp.CSS(`#spam-by-score button[type="submit"]`)))
	waitFor(t, ctx, `document.querySelectorAll('#queue > .item').length === 1 && !document.querySelector('details.by-score').open`)
	for _, id := range junk {
		waitStatus(t, a, id, moderation.StatusSpam)
	}
	waitFor(t, ctx, `[...document.querySelectorAll('.toast')].some(t => t.textContent.includes('Marked as spam: 2 comments'))`)
	eval[bool](t, ctx, `[...document.querySelectorAll('.toast')].find(t => t.textContent.includes('Marked as spam: 2 comments'))
		.querySelector('button').click() === undefined`) // the toast's first button is its Undo
	waitFor(t, ctx, `document.querySelectorAll('#queue > .item').length === 3`)
	for _, id := range junk {
		waitStatus(t, a, id, moderation.StatusPending)
	}
	if got := queueIDs(t, ctx); !slices.Contains(got, junk[0]) || got[2] != genuine {
		t.Errorf("after the undo the queue shows %v", got)
	}
	// The model in memory learns just after the commit that waitStatus saw.
	for deadline := time.Now().Add(5 * time.Second); classifierStats(t, a.Svc).Spam != 4 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if st := classifierStats(t, a.Svc); st.Ham != 4 || st.Spam != 4 {
		t.Errorf("the undo did not take the lessons back: %+v", st)
	}
}

// classifierStats is what the default site's classifier has learned.
func classifierStats(t testing.TB, svc *moderation.Service) moderation.ClassifierStats {
	t.Helper()
	st, err := svc.ClassifierStats(context.Background(), moderation.DefaultSite)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
