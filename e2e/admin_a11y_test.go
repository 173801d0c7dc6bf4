package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"parley/moderation"
)

// TestAdminReplyParent: a reply in the queue shows its parent by author and
// first words, linked to the parent in the queue, and every name and body
// on the page is isolated (dir="auto"), right-to-left ones laid out so.
func TestAdminReplyParent(t *testing.T) {
	a := startApp(t)
	addModerator(t, a, "olga", moderation.RoleOwner)
	parent := seed(t, a, moderation.Submission{Post: "/canal", Author: "Ada Lovelace",
		Body: "The canal at dusk was the best part of the trip, quiet and cold and full of lanterns and boats."})[0]
	reply, err := a.Svc.Submit(context.Background(), moderation.DefaultSite, moderation.Submission{Post: "/canal", Parent: parent, Author: "نجيب محفوظ",
		Email: "naguib@example.com", Body: "مرحبا، أوافق تماما."}, moderation.Client{IP: "198.51.100.7", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	signIn(t, ctx, a, "olga")

	got := eval[[]string](t, ctx, `(() => { const a = document.querySelector('#c-`+reply.ID+` .parent dd a');
		return a ? [a.textContent, a.getAttribute('href')] : ['(no link)', document.querySelector('#c-`+reply.ID+` .meta').textContent]; })()`)
	if want := "Ada Lovelace: The canal at dusk was the best part of the trip, quiet…"; got[0] != want {
		t.Errorf("the reply's parent shows as %q, want %q", got[0], want)
	}
	if !strings.Contains(got[1], "status=approved") || !strings.Contains(got[1], "post=%2Fcanal") || !strings.HasSuffix(got[1], "#c-"+parent) {
		t.Errorf("the parent links to %q", got[1])
	}
	for _, bad := range eval[[]string](t, ctx, `(`+isolation+`)(document, '.item .author > span, .parent [dir]', '.item .published, .item .raw pre')`) {
		t.Errorf("admin queue: %s", bad)
	}

	// Following the link shows the parent.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#c-`+reply.ID+` .parent dd a`)))
	waitUntil(t, ctx, "the parent in the queue", `location.hash === '#c-`+parent+`' && document.getElementById('c-`+parent+`')`, `location.href`)
}

// TestAdminAndLinkPagesColourSchemes: the admin pages and the email-link
// pages follow prefers-color-scheme, pass axe-core in both schemes, show
// names and bodies isolated, and the search field's placeholder shows whole.
func TestAdminAndLinkPagesColourSchemes(t *testing.T) {
	a := startApp(t)
	axe := axeSource(t)
	addModerator(t, a, "olga", moderation.RoleOwner)
	parent := seed(t, a, moderation.Submission{Post: "/dark", Author: "Ada", Body: "Published first."})[0]
	c, err := a.Svc.Submit(context.Background(), moderation.DefaultSite, moderation.Submission{Post: "/dark", Parent: parent, Author: "שלום עליכם",
		Email: "sholem@example.com", Website: "https://sholem.example.org", Body: "שלום, *עולם*."}, moderation.Client{IP: "198.51.100.8", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	background := `getComputedStyle(document.body).backgroundColor === 'rgba(0, 0, 0, 0)' ? getComputedStyle(document.documentElement).backgroundColor : getComputedStyle(document.body).backgroundColor`
	for _, dark := range []bool{false, true} {
		scheme := map[bool]string{false: "light", true: "dark"}[dark]
		t.Run(scheme, func(t *testing.T) {
			ctx := newBrowser(t) // a browser per scheme: axe-core takes its time
			checkScheme := func(where string) {
				t.Helper()
				bg := eval[string](t, ctx, background)
				if isDark := relativeLuminance(bg) < 0.2; isDark != dark {
					t.Errorf("%s: background %s, want dark %v", where, bg, dark)
				}
				if v := axeViolations(t, ctx, axe); len(v) > 0 {
					t.Errorf("%s:\n%s", where, strings.Join(v, "\n"))
				}
			}
			emulateDark(t, ctx, dark)
			do(t, ctx, chromedp.Navigate(a.URL+"/admin/login"), chromedp.WaitVisible(chromedp.ID("password")))
			checkScheme("login")
			signIn(t, ctx, a, "olga")
			for _, path := range []string{"/admin", "/admin/audit", "/admin/team", "/admin/settings", "/admin/account"} {
				do(t, ctx, chromedp.Navigate(a.URL+path), chromedp.WaitVisible(chromedp.CSS("h1")))
				checkScheme(path)
			}
			do(t, ctx, chromedp.Navigate(a.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("queue")))
			press(t, ctx, "?")
			checkScheme("keyboard help")

			// The pages an email's links open.
			do(t, ctx, chromedp.Navigate(a.URL+"/moderate/"+a.Svc.ModerationLink("olga", moderation.DefaultSite, c.ID, moderation.ActionApprove)))
			checkScheme("moderation link page")
			for _, bad := range eval[[]string](t, ctx, `(`+isolation+`)(document, '.meta strong', 'article .body')`) {
				t.Errorf("moderation link page: %s", bad)
			}
			do(t, ctx, chromedp.Navigate(a.URL+"/unsubscribe/"+a.Svc.UnsubscribeLink("sholem@example.com")))
			checkScheme("unsubscribe page")
			do(t, ctx, chromedp.Navigate(a.URL+"/moderate/not-a-token"))
			checkScheme("failed link page")
		})
	}

	// The search placeholders fit their fields, on a desktop and on a phone,
	// with a fifth to spare: other browsers' default fonts run wider.
	ctx := newBrowser(t)
	signIn(t, ctx, a, "olga")
	for _, width := range []int64{1280, 375} {
		do(t, ctx, chromedp.EmulateViewport(width, 800), chromedp.Navigate(a.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("q")))
		fits := eval[[][]any](t, ctx, `[...document.querySelectorAll('.search input[placeholder]')].map((q) => {
			const s = getComputedStyle(q);
			const ctx = document.createElement('canvas').getContext('2d');
			ctx.font = s.font;
			return [q.id, ctx.measureText(q.placeholder).width, q.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight)];
		})`)
		if len(fits) != 2 {
			t.Errorf("%d search fields with a placeholder, want 2", len(fits))
		}
		for _, f := range fits {
			if need, has := f[1].(float64)*1.2, f[2].(float64); need > has {
				t.Errorf("at %dpx, the %s placeholder needs %.0fpx and has %.0fpx", width, f[0], need, has)
			}
		}
	}
}
