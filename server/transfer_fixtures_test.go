package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"parley/moderation"
)

// TestImportFixtures imports every fixture from migrate/testdata over HTTP
// and states its exact counts, its problems, and the status of each
// comment; a second import of each creates nothing.
func TestImportFixtures(t *testing.T) {
	type problem = moderation.RecordProblem
	const (
		ok, pending, spam, rejected, deleted = moderation.StatusApproved, moderation.StatusPending, moderation.StatusSpam, moderation.StatusRejected, moderation.StatusDeleted
	)
	remark42 := map[string]moderation.Status{"Alexander Blah": ok, "mikhail": ok, "No Username": ok, "Blah Noname": ok, "Spam Noname": spam}
	remark42Bad := []problem{{Record: 6, Line: 135, ID: "x299986073", Reason: `isSpam: "123" is not true or false`}}
	cases := []struct {
		file, format string
		created      int
		problems     []problem
		statuses     map[string]moderation.Status // author → status; "" is a tombstone
	}{
		{"remark42/disqus2.xml", "disqus", 5, remark42Bad, remark42},
		{"remark42/disqus-deleted-post.xml", "disqus", 5, remark42Bad,
			map[string]moderation.Status{"": deleted, "mikhail": ok, "No Username": ok, "Blah Noname": ok, "Spam Noname": spam}},
		{"remark42/disqus-deleted-thread.xml", "disqus", 5, remark42Bad,
			map[string]moderation.Status{"Alexander Blah": rejected, "mikhail": rejected, "No Username": ok, "Blah Noname": ok, "Spam Noname": spam}},
		{"disqus-deleted-spam.xml", "disqus", 7, []problem{{Record: 7, Line: 130, ID: "9007", Reason: `its thread "799" is not in the file`}},
			map[string]moderation.Status{"Ana Souza": ok, "": deleted, "Ben Okafor": ok, "Pen Deals": spam, "Eve Adams": ok, "Cleo Lind": rejected, "dave_d": ok}},
		{"disqus-bom-crlf.xml", "disqus", 2, nil, map[string]moderation.Status{"中文 User": ok, "Seán O'Brien & Co": ok}},
		{"disqus.xml", "disqus", 6, []problem{
			{Record: 7, Line: 122, ID: "4100000007", Reason: `its thread "9999999" is not in the file`},
			{Record: 8, Line: 134, ID: "4100000008", Reason: `createdAt: "yesterday" is not a date`}}, nil},
		{"wordpress-2.9-wxr-1.0.xml", "wxr", 5, []problem{{Record: 5, Line: 97, ID: "15", Reason: "is a trackback, not a comment: only comments are imported"}},
			map[string]moderation.Status{"Jean-Luc Picard": ok, "Deanna Troi": ok, "Anonymous": pending, "Cheap Meds": spam, "Early Bird": ok}},
		{"wordpress-3.0-wxr-1.1.xml", "wxr", 4, []problem{
			{Record: 5, Line: 114, ID: "25", Reason: "is a pingback, not a comment: only comments are imported"},
			{Record: 6, Line: 128, ID: "26", Reason: "its parent is neither earlier in the file nor already stored"}},
			map[string]moderation.Status{"Ада Лавлейс": ok, "Charles Babbage": ok, "Removed": rejected, "Junk URL": ok}},
		{"wordpress.xml", "wxr", 10, []problem{
			{Record: 7, Line: 170, ID: "107", Reason: "is a pingback, not a comment: only comments are imported"},
			{Record: 10, Line: 212, ID: "111", Reason: "its parent is neither earlier in the file nor already stored"},
			{Record: 13, Line: 282, ID: "122", Reason: "body is required"}}, nil},
		{"wordpress-6.7-https.xml", "wxr", 14, []problem{
			{Record: 12, Line: 211, ID: "302", Reason: "is a pingback, not a comment: only comments are imported"},
			{Record: 13, Line: 225, ID: "303", Reason: "is a trackback, not a comment: only comments are imported"},
			{Record: 17, Line: 281, ID: "307", Reason: "is a pingback, not a comment: only comments are imported"}}, nil},
		{"wordpress-long-comment.xml", "wxr", 2, []problem{{Record: 3, Line: 93, ID: "33", Reason: "body must be at most 65525 characters"}},
			map[string]moderation.Status{"Verbose Reader": ok, "At The Limit": ok}},
		{"wordpress-bom-crlf.xml", "wxr", 3, nil, map[string]moderation.Status{"José & Zoë Müller": ok, "Tom & Jerry": ok, "山田 太郎": ok}},
		{"parley-bom-crlf.ndjson", "ndjson", 3, nil, map[string]moderation.Status{"Zoë & Ann": ok, "山田": ok, "Renée": pending}},
		{"parley-bom-crlf.json", "json", 3, nil, map[string]moderation.Status{"Zoë & Ann": ok, "山田": ok, "Renée": pending}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			a := newTransferApp(t, nil)
			file := fixture(t, c.file)
			res := a.importFile(t, c.format, bytes.NewReader(file))
			if res.Created != c.created || res.Skipped != 0 || res.Invalid != len(c.problems) || fmt.Sprint(res.Problems) != fmt.Sprint(append([]problem{}, c.problems...)) {
				t.Errorf("import: %+v\nwant %d created, problems %+v", res, c.created, c.problems)
			}
			if c.statuses != nil {
				got := map[string]moderation.Status{}
				for _, cm := range exportedComments(t, a.export(t, "format=ndjson")) {
					got[cm.Author] = cm.Status
				}
				if fmt.Sprint(got) != fmt.Sprint(c.statuses) {
					t.Errorf("statuses:\n got %v\nwant %v", got, c.statuses)
				}
			}
			again := a.importFile(t, c.format, bytes.NewReader(file))
			if again.Created != 0 || again.Skipped != c.created {
				t.Errorf("second import: %+v, want %d skipped", again, c.created)
			}
		})
	}
}

// TestImportFixtureDetails checks what the odd fixtures become: entities
// and CRLF in names and bodies, threads under deleted and spam posts, the
// reasons that deleted threads leave in the history.
func TestImportFixtureDetails(t *testing.T) {
	a := newTransferApp(t, nil)
	a.importFile(t, "wxr", bytes.NewReader(fixture(t, "wordpress-bom-crlf.xml")))
	a.importFile(t, "disqus", bytes.NewReader(fixture(t, "disqus-deleted-spam.xml")))
	a.importFile(t, "disqus", bytes.NewReader(fixture(t, "remark42/disqus-deleted-thread.xml")))
	a.importFile(t, "wxr", bytes.NewReader(fixture(t, "wordpress-2.9-wxr-1.0.xml")))
	cs := exportedComments(t, a.export(t, "format=ndjson"))
	jose, tom := findBy(cs, "José & Zoë Müller"), findBy(cs, "Tom & Jerry")
	if jose.Body != "Line one\nline two" || tom.Parent != jose.ID {
		t.Errorf("CRLF body %q, reply parent %q", jose.Body, tom.Parent)
	}
	// WXR escapes the HTML WordPress stored: &lt;b&gt; is bold.
	if tom.Body != "Café **not bold** 😀" || tom.HTML != "<p>Café <strong>not bold</strong> 😀</p>\n" {
		t.Errorf("entities in a body: %q %q", tom.Body, tom.HTML)
	}
	var tomb *moderation.Comment
	for _, c := range cs {
		if c.Status == moderation.StatusDeleted && c.Post == "/2015/02/fountain-pens/" {
			tomb = c
		}
	}
	ben, eve, deals := findBy(cs, "Ben Okafor"), findBy(cs, "Eve Adams"), findBy(cs, "Pen Deals")
	if tomb == nil || ben.Parent != tomb.ID || eve.Parent != deals.ID || deals.Status != moderation.StatusSpam {
		t.Errorf("replies under a deleted and a spam post: tomb %+v ben %+v eve %+v", tomb, ben, eve)
	}
	if cleo := findBy(cs, "Cleo Lind"); cleo.History[0].Reason != "imported from disqus; its thread was deleted in Disqus" {
		t.Errorf("deleted thread: %+v", cleo.History)
	}
	if picard := findBy(cs, "Jean-Luc Picard"); picard.HTML != "<p>Make it <strong>so</strong>.</p>\n<p>Engage.</p>\n" {
		t.Errorf("WordPress 2.9 HTML: %q", picard.HTML)
	}
	if bird := findBy(cs, "Early Bird"); bird.Created.Format("2006-01-02 15:04:05") != "2010-01-04 16:00:00" {
		t.Errorf("no GMT date: %v", bird.Created)
	}
	thread := a.do(t, http.MethodGet, "/api/comments?post=/2015/03/taken-down/", "", nil).Body.String()
	if strings.Contains(thread, "Cleo") {
		t.Errorf("a comment of a deleted thread is public: %s", thread)
	}
}

// TestLongImportedCommentsEverywhere: comments up to WordPress's limit of
// 65,525 characters come in, and every surface takes them whole: the
// widget's thread, the no-JavaScript page, the admin list and moderation,
// every export format, and an import of the WXR export back. New
// submissions keep their limit of 10,000.
func TestLongImportedCommentsEverywhere(t *testing.T) {
	a := newTransferApp(t, nil)
	res := a.importFile(t, "wxr", bytes.NewReader(fixture(t, "wordpress-long-comment.xml")))
	if res.Created != 2 {
		t.Fatalf("import: %+v", res)
	}
	limit := strings.Repeat("a", moderation.MaxImportedBody)
	const post = "/2023/05/a-long-discussion/"
	cs := exportedComments(t, a.export(t, "format=ndjson"))
	verbose, exact := findBy(cs, "Verbose Reader"), findBy(cs, "At The Limit")
	if len([]rune(verbose.Body)) <= 10000 || strings.Contains(verbose.HTML, "script") || strings.Count(verbose.HTML, "<p>Lorem ipsum") != 25 {
		t.Errorf("long HTML comment: %d characters, html sanitized: %t, %d paragraphs", len([]rune(verbose.Body)), !strings.Contains(verbose.HTML, "script"), strings.Count(verbose.HTML, "<p>Lorem ipsum"))
	}
	if exact.Body != limit {
		t.Errorf("the comment at the limit is %d characters", len(exact.Body))
	}
	surfaces := map[string]string{
		"widget thread": a.do(t, http.MethodGet, "/api/comments?post="+post, "", nil).Body.String(),
		"page":          a.do(t, http.MethodGet, "/p?post="+post, "", nil).Body.String(),
		"admin list":    a.do(t, http.MethodGet, "/api/admin/comments?status=approved&post="+post, a.mod, nil).Body.String(),
		"admin comment": a.do(t, http.MethodGet, "/api/admin/comments/"+exact.ID, a.mod, nil).Body.String(),
	}
	for _, f := range []string{"ndjson", "json", "csv", "wxr"} {
		surfaces["export "+f] = string(a.export(t, "format="+f))
	}
	for name, body := range surfaces {
		if !strings.Contains(body, limit) {
			t.Errorf("%s does not carry the 65,525-character comment whole (%d bytes)", name, len(body))
		}
	}
	for _, action := range []string{"spam", "approve"} {
		if rec := a.do(t, http.MethodPost, "/api/admin/comments/"+exact.ID+"/"+action, a.mod, nil); rec.Code != http.StatusOK {
			t.Errorf("%s: %d %s", action, rec.Code, rec.Body)
		}
	}
	for _, f := range []string{"wxr", "ndjson", "json"} {
		b := newTransferApp(t, nil)
		if res := b.importFile(t, f, strings.NewReader(surfaces["export "+f])); res.Created != 2 || res.Invalid != 0 {
			t.Errorf("the %s export imported back: %+v", f, res)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/api/comments", strings.NewReader(
		`{"post":"/x/","author":"Ann","email":"ann@example.com","body":"`+strings.Repeat("a", 10001)+`"}`))
	req.Header.Set("Content-Type", "application/json")
	sub := httptest.NewRecorder()
	a.handler.ServeHTTP(sub, req)
	if !strings.Contains(sub.Body.String(), "must be at most 10000 characters") {
		t.Errorf("a new comment over 10,000 characters: %d %s", sub.Code, sub.Body)
	}
}
