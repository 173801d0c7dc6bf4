package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"parley/migrate"
	"parley/moderation"
)

// TestImportedLongCommentsInWidgetAndAdmin imports WordPress comments longer
// than new submissions may be (up to WordPress's 65,525 characters) and
// reads them in a real browser: the widget shows each whole, sanitized,
// and so does the admin queue.
func TestImportedLongCommentsInWidgetAndAdmin(t *testing.T) {
	b := startBlog(t)
	w := startWidgetApp(t, b.URL)
	f, err := os.Open(filepath.Join("..", "migrate", "testdata", "wordpress-long-comment.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := migrate.NewDecoder(migrate.WXR, f, migrate.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := w.app.Svc.Import(context.Background(), w.app.Owner, moderation.DefaultSite, "wxr", dec, nil); err != nil || res.Created != 2 {
		t.Fatalf("import: %+v %v", res, err)
	}
	const post = "/2023/05/a-long-discussion/"
	ctx := newBrowser(t)
	page := b.page("/long-import", "A long discussion", `<p>An article.</p>`+w.embedTag(`data-post="`+post+`"`))
	do(t, ctx, chromedp.Navigate(page))
	waitUntil(t, ctx, "both imported comments", shadow("#parley", `return root.querySelectorAll('li.parley-comment').length === 2`),
		shadow("#parley", `return root.querySelectorAll('li.parley-comment').length + ' comments'`))
	limit := strings.Repeat("a", moderation.MaxImportedBody)
	if !eval[bool](t, ctx, shadow("#parley", `return root.textContent.includes('`+limit+`')`)) {
		t.Error("the widget does not show the 65,525-character comment whole")
	}
	if n := eval[int](t, ctx, shadow("#parley", `return root.querySelectorAll('li.parley-comment script').length`)); n != 0 {
		t.Errorf("an imported script reached the page: %d", n)
	}
	if n := eval[int](t, ctx, shadow("#parley", `return (root.textContent.match(/Lorem ipsum dolor/g) || []).length`)); n != 500 {
		t.Errorf("the long HTML comment shows %d of its 500 sentences", n)
	}

	addModerator(t, w.app, "mara", moderation.RoleModerator)
	signIn(t, ctx, w.app, "mara")
	do(t, ctx, chromedp.Navigate(w.app.URL+"/admin?status=approved&post="+post), chromedp.WaitVisible(chromedp.ID("queue-title")))
	if ids := queueIDs(t, ctx); len(ids) != 2 {
		t.Errorf("the admin queue lists %d comments, want 2", len(ids))
	}
	if !eval[bool](t, ctx, `document.querySelector('#queue').textContent.includes('`+limit+`')`) {
		t.Error("the admin queue does not show the 65,525-character comment whole")
	}
}
