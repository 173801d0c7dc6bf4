package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"parley/moderation"
)

// TestTwoSitesInTheBrowser: two blogs on two origins (two 127.0.0.1
// listeners) embed one Parley, each as its own site, with the same post
// key. Each page shows only its own thread, a comment sent from one lands
// on that site only, and a page on one site that names the other with
// data-site is refused.
func TestTwoSitesInTheBrowser(t *testing.T) {
	w := startWidgetApp(t)
	alpha, beta := startBlog(t), startBlog(t)
	ctx := context.Background()
	for id, b := range map[string]*blog{"alpha": alpha, "beta": beta} {
		if _, err := w.Svc.CreateSite(ctx, w.Owner, moderation.Site{ID: id, Name: strings.ToUpper(id), Origins: []string{b.URL}}); err != nil {
			t.Fatal(err)
		}
		c, err := w.Svc.Submit(ctx, id, moderation.Submission{Post: "/same", Author: "Reader of " + id,
			Email: "r@example.com", Body: "Only on " + id + "."}, moderation.Client{IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Svc.Moderate(ctx, w.Owner, id, []string{c.ID}, moderation.ActionApprove); err != nil {
			t.Fatal(err)
		}
	}
	// alpha's page names no site: its origin decides. beta's names itself.
	pageA := alpha.page("/same", "Alpha", w.embedTag(`data-post="/same"`))
	pageB := beta.page("/same", "Beta", w.embedTag(`data-post="/same" data-site="beta"`))
	spoof := alpha.page("/spoof", "Alpha pretending", w.embedTag(`data-post="/same" data-site="beta"`))

	browser := newBrowser(t)
	for _, tt := range []struct{ url, mine, theirs string }{{pageA, "Only on alpha.", "Only on beta."}, {pageB, "Only on beta.", "Only on alpha."}} {
		do(t, browser, chromedp.Navigate(tt.url))
		waitReady(t, browser, "#parley")
		got := text(t, browser, "#parley", ".parley-thread, ol, ul")
		all := eval[string](t, browser, shadow("#parley", `return root.textContent`))
		if !strings.Contains(all, tt.mine) || strings.Contains(all, tt.theirs) {
			t.Errorf("%s shows %q (thread %q), want only %q", tt.url, all, got, tt.mine)
		}
	}
	// A comment written on beta's page is beta's.
	do(t, browser, typeComment("#parley", "Bea", "bea@example.com", "Written on beta."))
	send(t, browser, "#parley")
	for site, want := range map[string]int{"alpha": 0, "beta": 1} {
		cs, _, err := w.Svc.Comments(ctx, w.Owner, moderation.Query{Site: site, Status: moderation.StatusPending})
		if err != nil || len(cs) != want {
			t.Errorf("%s's queue after a comment on beta's page: %d, %v", site, len(cs), err)
		}
	}
	// Spoofing: alpha's origin asking for beta's thread is refused.
	do(t, browser, chromedp.Navigate(spoof))
	waitUntil(t, browser, "the refusal", shadow("#parley", `return root.textContent.includes('could not be loaded')`),
		shadow("#parley", `return root.textContent`))
	if all := eval[string](t, browser, shadow("#parley", `return root.textContent`)); strings.Contains(all, "Only on beta.") {
		t.Errorf("a page on alpha naming beta shows beta's thread: %s", all)
	}
}

// TestSiteWidgetSettings: a site's widget settings are the defaults of its
// widgets. A page whose tag says nothing shows the site's language (over the
// page's <html lang="en">), theme and title source; a tag's data-lang and
// data-theme still win.
func TestSiteWidgetSettings(t *testing.T) {
	w := startWidgetApp(t)
	b := startBlog(t)
	ctx := context.Background()
	fr, dark, doc := "fr", "dark", "document"
	if _, err := w.Svc.CreateSite(ctx, w.Owner, moderation.Site{ID: "gamma", Origins: []string{b.URL},
		Settings: moderation.SiteSettings{Language: &fr, Theme: &dark, TitleSource: &doc}}); err != nil {
		t.Fatal(err)
	}
	c, err := w.Svc.Submit(ctx, "gamma", moderation.Submission{Post: "/w", Author: "Ada", Email: "a@example.com",
		Body: "Bonjour."}, moderation.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Svc.Moderate(ctx, w.Owner, "gamma", []string{c.ID}, moderation.ActionApprove); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)
	emulateDark(t, browser, false)
	background := shadow("#parley", `return getComputedStyle(root.querySelector('.root')).backgroundColor`)
	for i, tc := range []struct{ attrs, heading, submit string }{
		{``, "1 commentaire sur « Wuzhen »", "Publier le commentaire"},
		{`data-lang="en" data-theme="light" data-title="Canals"`, "1 Comment on “Canals”", "Post comment"},
	} {
		do(t, browser, chromedp.Navigate(b.page("/w"+strconv.Itoa(i), "Wuzhen", w.embedTag(`data-post="/w" `+tc.attrs))))
		waitReady(t, browser, "#parley")
		if got := text(t, browser, "#parley", "h2"); got != tc.heading {
			t.Errorf("tag %q: heading %q, want %q", tc.attrs, got, tc.heading)
		}
		if got := text(t, browser, "#parley", "button[type=submit]"); got != tc.submit {
			t.Errorf("tag %q: submit button %q, want %q", tc.attrs, got, tc.submit)
		}
		bg := eval[string](t, browser, background)
		if isDark := luminance(bg) < 0.2; isDark != (tc.attrs == "") {
			t.Errorf("tag %q: background %s, want dark %v", tc.attrs, bg, tc.attrs == "")
		}
	}
}
