package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"parley/moderation"
)

// TestAdminSites: an owner adds a site and sets it up from its settings
// page with the keyboard, switches between sites with per-site pending
// counts, works the "all my sites" queue (each comment labelled with its
// site) and approves there; a site's admin sees only their site. Every
// page passes axe.
func TestAdminSites(t *testing.T) {
	a := startApp(t)
	axe := axeSource(t)
	ctx := context.Background()
	addModerator(t, a, "olga", moderation.RoleOwner)
	addModerator(t, a, "bert", moderation.RoleModerator)
	if err := a.Svc.SetSiteRole(ctx, a.Owner, moderation.DefaultSite, "bert", ""); err != nil {
		t.Fatal(err)
	}
	onDefault := submitComment(t, a, "/same", "Dora Default", "On the default site.")
	browser := newBrowser(t)
	signIn(t, browser, a, "olga")

	// Add site "beta" from the settings page.
	do(t, browser, chromedp.Navigate(a.URL+"/admin/settings?site=default"), chromedp.WaitVisible(chromedp.ID("add-site")),
		chromedp.SendKeys(chromedp.ID("new-site-id"), "beta"),
		chromedp.SendKeys(chromedp.ID("new-site-name"), "Beta Blog"),
		chromedp.SendKeys(chromedp.ID("new-site-origins"), "https://beta.example"),
		chromedp.Click(chromedp.CSS(`#add-site button[type="submit"]`)))
	waitFor(t, browser, `[...document.querySelectorAll('#sites-title ~ ul a')].some(a => a.textContent === 'Beta Blog')`)
	if v := axeViolations(t, browser, axe); len(v) > 0 {
		t.Errorf("settings page:\n%s", strings.Join(v, "\n"))
	}
	// Its settings: a setting, an origin more, and bert as its admin.
	do(t, browser, chromedp.Navigate(a.URL+"/admin/settings?site=beta"), chromedp.WaitVisible(chromedp.ID("site-form")))
	waitFor(t, browser, `document.getElementById('site-name').value === 'Beta Blog'`)
	do(t, browser, chromedp.SendKeys(chromedp.ID("site-origins"), "\nhttps://www.beta.example"),
		chromedp.SendKeys(chromedp.ID("s-links"), "0"),
		chromedp.SetValue(chromedp.ID("s-theme"), "dark"),
		chromedp.Click(chromedp.CSS(`#site-form button[type="submit"]`)))
	waitFor(t, browser, `document.querySelector('#site-form .form-status').textContent === 'Site saved.'`)
	do(t, browser, chromedp.SendKeys(chromedp.ID("member-name"), "bert"), chromedp.SetValue(chromedp.ID("member-role"), "admin"),
		chromedp.Click(chromedp.CSS(`#site-team button[type="submit"]`)))
	waitFor(t, browser, `!!document.querySelector('tr[data-site-member="bert"]')`)
	site, err := a.Svc.Site(ctx, a.Owner, "beta")
	if err != nil || len(site.Origins) != 2 || site.Effective.MaxLinks != 0 || site.Effective.Theme != "dark" {
		t.Fatalf("beta after its settings page: %+v, %v", site, err)
	}

	// A comment on beta; the switcher counts each site's pending.
	c, err := a.Svc.Submit(ctx, "beta", moderation.Submission{Post: "/same", Author: "Bea Beta", Email: "bea@example.com",
		Body: "On beta."}, moderation.Client{IP: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	do(t, browser, chromedp.Navigate(a.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("site-switch")))
	options := eval[[]string](t, browser, `[...document.querySelectorAll('#site-switch option')].map(o => o.value + ' ' + o.textContent)`)
	if strings.Join(options, "|") != "* All my sites (2 pending)|beta Beta Blog (1 pending)|default Default (1 pending)" {
		t.Errorf("switcher: %q", options)
	}
	// g, then choose "All my sites" with the keyboard and open it.
	press(t, browser, "g")
	if id := eval[string](t, browser, `document.activeElement.id`); id != "site-switch" {
		t.Fatalf("g focuses %q", id)
	}
	do(t, browser, chromedp.SetValue(chromedp.ID("site-switch"), "*"), chromedp.Click(chromedp.CSS(`.site-switch button`)))
	waitFor(t, browser, `location.search.includes('site=*') || location.search.includes('site=%2A')`)
	do(t, browser, chromedp.WaitVisible(chromedp.CSS(`#queue .item[data-site="beta"]`)))
	labels := eval[[]string](t, browser, `[...document.querySelectorAll('#queue > .item')].map(el => el.dataset.id + ' ' + el.querySelector('.site-label').textContent)`)
	if strings.Join(labels, "|") != onDefault+" default|"+c.ID+" beta" {
		t.Errorf("all my sites: %q", labels)
	}
	if v := axeViolations(t, browser, axe); len(v) > 0 {
		t.Errorf("all my sites:\n%s", strings.Join(v, "\n"))
	}
	// Approve beta's comment from there with the keyboard.
	press(t, browser, "j")
	press(t, browser, "j")
	if focusedID(t, browser) != c.ID {
		t.Fatalf("focus on %q, want beta's comment", focusedID(t, browser))
	}
	press(t, browser, "a")
	waitUntilStatus := func() moderation.Status {
		got, _ := a.Svc.Comment(ctx, a.Owner, "beta", c.ID)
		return got.Status
	}
	for i := 0; i < 100 && waitUntilStatus() != moderation.StatusApproved; i++ {
		do(t, browser, chromedp.Sleep(50_000_000))
	}
	if got := waitUntilStatus(); got != moderation.StatusApproved {
		t.Errorf("beta's comment after a: %s", got)
	}

	// The instance's log (owners): the site was added, bert given it.
	do(t, browser, chromedp.Navigate(a.URL+"/admin/audit?log=instance"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	if log := eval[string](t, browser, `document.querySelector('table.audit').textContent`); !strings.Contains(log, "site.add") {
		t.Errorf("the instance's log lacks site.add:\n%s", log)
	}
	do(t, browser, chromedp.Navigate(a.URL+"/admin/audit?site=beta"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	if log := eval[string](t, browser, `document.querySelector('table.audit').textContent`); !strings.Contains(log, "moderator.site") ||
		!strings.Contains(log, c.ID) {
		t.Errorf("beta's log lacks bert's role or the approval:\n%s", log)
	}
	if v := axeViolations(t, browser, axe); len(v) > 0 {
		t.Errorf("audit page:\n%s", strings.Join(v, "\n"))
	}
	do(t, browser, chromedp.Navigate(a.URL+"/admin/team"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if row := eval[string](t, browser, `document.querySelector('tr[data-moderator="bert"]').textContent`); !strings.Contains(row, "beta (admin)") {
		t.Errorf("team row of bert: %q", row)
	}

	// bert, beta's admin, sees beta only.
	browser = newBrowser(t)
	signIn(t, browser, a, "bert")
	do(t, browser, chromedp.Navigate(a.URL+"/admin?site=beta"), chromedp.WaitVisible(chromedp.ID("queue")))
	if body := eval[string](t, browser, `document.body.textContent`); strings.Contains(body, "Dora Default") {
		t.Error("beta's admin sees the default site's comment")
	}
	for _, path := range []string{"/admin?site=default", "/admin?site=*", "/admin/settings?site=default", "/admin/audit?site=default"} {
		do(t, browser, chromedp.Navigate(a.URL+path), chromedp.WaitReady(chromedp.CSS("body")))
		if body := eval[string](t, browser, `document.body.textContent`); strings.Contains(body, "Dora Default") {
			t.Errorf("%s shows beta's admin the default site's comment", path)
		}
	}
	do(t, browser, chromedp.Navigate(a.URL+"/admin/settings?site=beta"), chromedp.WaitVisible(chromedp.ID("site-form")))
	if v := axeViolations(t, browser, axe); len(v) > 0 {
		t.Errorf("settings as a site admin:\n%s", strings.Join(v, "\n"))
	}
	if n := eval[int](t, browser, `document.querySelectorAll('#add-site, #forget').length`); n != 0 {
		t.Errorf("a site admin sees owners' forms (%d)", n)
	}
}
