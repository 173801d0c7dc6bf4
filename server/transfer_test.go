package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/moderation"
	"parley/server"
	"parley/storage/testdb"
)

// exported is the clock of transfer apps, the time in golden headers.
var exported = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// transferApp is the real Echo server over a real database, with an
// owner's and a moderator's API token.
type transferApp struct {
	handler    http.Handler
	db         moderation.Store
	svc        *moderation.Service
	owner, mod string
}

func newTransferApp(t *testing.T, clock func() time.Time) *transferApp {
	t.Helper()
	return openTransferApp(t, testdb.Data(t), clock, 0)
}

// openTransferApp serves the database data names (see storage/testdb).
func openTransferApp(t *testing.T, data string, clock func() time.Time, importLimit int64) *transferApp {
	t.Helper()
	ctx := context.Background()
	db := testdb.OpenData(t, data)
	svc, err := moderation.NewService(ctx, db, moderation.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{PublicURL: "http://comments.example.com", ImportLimit: importLimit}, svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a := &transferApp{handler: srv, db: db, svc: svc}
	a.owner = a.token(t, "owner-script", moderation.RoleOwner)
	a.mod = a.token(t, "mod-script", moderation.RoleModerator)
	return a
}

func (a *transferApp) token(t *testing.T, name string, role moderation.Role) string {
	t.Helper()
	secret, _, err := a.svc.CreateToken(context.Background(), name, role, "")
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// do sends a request with a bearer token ("" for none).
func (a *transferApp) do(t *testing.T, method, target, token string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	return rec
}

// importFile posts a file to the import endpoint and decodes the answer.
func (a *transferApp) importFile(t *testing.T, format string, body io.Reader) moderation.ImportResult {
	t.Helper()
	rec := a.do(t, http.MethodPost, "/api/admin/import?format="+format, a.owner, body)
	if rec.Code != http.StatusOK {
		t.Fatalf("import %s: %d %s", format, rec.Code, rec.Body)
	}
	var res moderation.ImportResult
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func (a *transferApp) export(t *testing.T, query string) []byte {
	t.Helper()
	rec := a.do(t, http.MethodGet, "/api/admin/export?"+query, a.owner, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("export %s: %d %s", query, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func golden(t *testing.T, ext string) []byte {
	return readFile(t, filepath.Join("..", "migrate", "testdata", "golden", "export."+ext))
}

func fixture(t *testing.T, name string) []byte {
	return readFile(t, filepath.Join("..", "migrate", "testdata", name))
}

// exportedComments decodes an ndjson export, header skipped.
func exportedComments(t *testing.T, ndjson []byte) []*moderation.Comment {
	t.Helper()
	var out []*moderation.Comment
	for i, line := range bytes.Split(bytes.TrimSpace(ndjson), []byte("\n")) {
		if i == 0 {
			continue
		}
		var c moderation.Comment
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatalf("export line %d: %v", i+1, err)
		}
		out = append(out, &c)
	}
	return out
}

// TestExportFormatsAreGolden imports the golden ndjson into an empty
// database over HTTP and exports it again in every format: each must match
// its golden file byte for byte, so the ndjson round trip is exact.
func TestExportFormatsAreGolden(t *testing.T) {
	a := newTransferApp(t, func() time.Time { return exported })
	res := a.importFile(t, "ndjson", bytes.NewReader(golden(t, "ndjson")))
	if res.Created != 8 || res.Skipped != 0 || res.Invalid != 0 {
		t.Fatalf("import: %+v", res)
	}
	for _, f := range []struct{ format, ctype, ext string }{
		{"ndjson", "application/x-ndjson; charset=utf-8", "ndjson"},
		{"json", "application/json; charset=utf-8", "json"},
		{"csv", "text/csv; charset=utf-8", "csv"},
		{"wxr", "application/xml; charset=utf-8", "xml"},
	} {
		rec := a.do(t, http.MethodGet, "/api/admin/export?site=https://blog.example.com&format="+f.format, a.owner, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", f.format, rec.Code, rec.Body)
		}
		if got := rec.Header().Get("Content-Type"); got != f.ctype {
			t.Errorf("%s: Content-Type %q, want %q", f.format, got, f.ctype)
		}
		wantDisp := `attachment; filename="parley-comments-20261128-120000.` + f.ext + `"`
		if got := rec.Header().Get("Content-Disposition"); got != wantDisp {
			t.Errorf("%s: Content-Disposition %q, want %q", f.format, got, wantDisp)
		}
		if want := golden(t, f.format); !bytes.Equal(rec.Body.Bytes(), want) {
			t.Errorf("%s export differs from the golden file:\n--- got\n%s\n--- want\n%s", f.format, rec.Body, want)
		}
	}
}

// TestRoundTripReproducesEveryComment builds a database the way users do
// (submissions, replies, moderation, a deletion that leaves a tombstone),
// exports it, imports the export into an empty database and checks that
// every comment, every thread and every count is the same.
func TestRoundTripReproducesEveryComment(t *testing.T) {
	ctx := context.Background()
	src := newTransferApp(t, nil)
	owner := moderation.Actor{Name: "alice", Role: moderation.RoleOwner}
	submit := func(post, parent, body string) *moderation.Comment {
		c, err := src.svc.Submit(ctx, moderation.DefaultSite, moderation.Submission{Post: post, Parent: parent, Author: "Ünïcödé " + body[:3],
			Email: "a@example.com", Website: "https://example.com/~a", Body: body, NotifyReplies: true},
			moderation.Client{IP: "192.0.2.1", UserAgent: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	moderate := func(c *moderation.Comment, action moderation.Action) {
		if _, err := src.svc.ModerateOne(ctx, owner, moderation.DefaultSite, c.ID, action); err != nil {
			t.Fatal(err)
		}
	}
	var parents []*moderation.Comment
	for i := 0; i < 30; i++ {
		post := fmt.Sprintf("/posts/%d/", i%3)
		body := fmt.Sprintf("Comment %d with **bold**, `code`, a link https://example.com/%d & <b>typed tags</b> — ✓", i, i)
		parent := "" // every other comment replies to the latest approved one on its post
		for j := i - 3; i%2 == 0 && j >= 0 && parent == ""; j -= 3 {
			if j%5 < 3 {
				parent = parents[j].ID
			}
		}
		c := submit(post, parent, body)
		switch i % 5 {
		case 0, 1, 2:
			moderate(c, moderation.ActionApprove)
		case 3:
			moderate(c, moderation.ActionSpam)
		case 4:
			moderate(c, moderation.ActionReject)
		}
		parents = append(parents, c)
	}
	moderate(parents[0], moderation.ActionDelete)  // has replies: stays as a tombstone
	moderate(parents[29], moderation.ActionDelete) // no replies: gone

	dump := src.export(t, "format=ndjson")
	want := exportedComments(t, dump)
	if len(want) != 29 {
		t.Fatalf("exported %d comments, want 29", len(want))
	}
	dst := newTransferApp(t, nil)
	res := dst.importFile(t, "ndjson", bytes.NewReader(dump))
	if res.Created != 29 || res.Invalid != 0 {
		t.Fatalf("import: %+v", res)
	}
	got := exportedComments(t, dst.export(t, "format=ndjson"))
	for i := range want {
		wantJSON, _ := json.Marshal(want[i])
		gotJSON, _ := json.Marshal(got[i])
		if !bytes.Equal(wantJSON, gotJSON) {
			t.Errorf("comment %d differs after the round trip:\n got %s\nwant %s", i, gotJSON, wantJSON)
		}
	}
	for _, post := range []string{"/posts/0/", "/posts/1/", "/posts/2/"} {
		wantThread := src.do(t, http.MethodGet, "/api/comments?post="+post, "", nil).Body.String()
		if gotThread := dst.do(t, http.MethodGet, "/api/comments?post="+post, "", nil).Body.String(); gotThread != wantThread {
			t.Errorf("thread %s differs:\n got %s\nwant %s", post, gotThread, wantThread)
		}
		if !strings.Contains(wantThread, `"deleted":true`) && post == "/posts/0/" {
			t.Errorf("thread %s should show the tombstone: %s", post, wantThread)
		}
	}
	counts := "/api/counts?post=/posts/0/&post=/posts/1/&post=/posts/2/"
	if got, want := dst.do(t, http.MethodGet, counts, "", nil).Body.String(), src.do(t, http.MethodGet, counts, "", nil).Body.String(); got != want {
		t.Errorf("counts differ: got %s, want %s", got, want)
	}
	for _, status := range moderation.Statuses {
		q := "/api/admin/comments?limit=200&status=" + string(status)
		if got, want := dst.do(t, http.MethodGet, q, dst.mod, nil).Body.String(), src.do(t, http.MethodGet, q, src.mod, nil).Body.String(); got != want {
			t.Errorf("%s queue differs:\n got %s\nwant %s", status, got, want)
		}
	}
}

// TestImportTwiceCreatesNoDuplicates imports each format's file twice.
func TestImportTwiceCreatesNoDuplicates(t *testing.T) {
	for _, c := range []struct {
		format, file          string
		created, invalid, sum int
	}{
		{"ndjson", "golden/export.ndjson", 8, 0, 8},
		{"json", "golden/export.json", 8, 0, 8},
		{"wxr", "wordpress.xml", 10, 3, 13},
		{"disqus", "disqus.xml", 6, 2, 8},
	} {
		t.Run(c.format, func(t *testing.T) {
			a := newTransferApp(t, nil)
			file := fixture(t, c.file)
			first := a.importFile(t, c.format, bytes.NewReader(file))
			if first.Created != c.created || first.Skipped != 0 || first.Invalid != c.invalid {
				t.Errorf("first import: %+v, want %d created, %d invalid", first, c.created, c.invalid)
			}
			second := a.importFile(t, c.format, bytes.NewReader(file))
			if second.Created != 0 || second.Skipped != c.created || second.Invalid != c.invalid {
				t.Errorf("second import: %+v, want 0 created, %d skipped", second, c.created)
			}
			if n := len(exportedComments(t, a.export(t, "format=ndjson"))); n != c.created {
				t.Errorf("%d comments stored, want %d", n, c.created)
			}
		})
	}
}

// TestParleyWXRRoundTrip imports Parley's own WXR export: the comments
// keep their place and status, and importing the ndjson of the same
// comments afterwards finds them all.
func TestParleyWXRRoundTrip(t *testing.T) {
	a := newTransferApp(t, func() time.Time { return exported })
	res := a.importFile(t, "wxr&post_key=id", bytes.NewReader(golden(t, "wxr")))
	if res.Created != 8 || res.Invalid != 0 {
		t.Fatalf("import: %+v", res)
	}
	got := exportedComments(t, a.export(t, "format=ndjson"))
	byAuthor := map[string]*moderation.Comment{}
	for _, c := range got {
		byAuthor[c.Author] = c
	}
	if c := byAuthor["Zoë 山田 🐦"]; c == nil || c.Parent != byAuthor["Ada Lovelace"].ID || c.Post != "/2026/11/hello-world/" || c.Status != moderation.StatusApproved {
		t.Errorf("reply lost its place: %+v", c)
	}
	if c := byAuthor[""]; c == nil || c.Status != moderation.StatusDeleted || byAuthor["Field Notes"].Parent != c.ID {
		t.Errorf("tombstone lost: %+v", c)
	}
	if c := byAuthor["-Minus"]; c == nil || c.Status != moderation.StatusRejected {
		t.Errorf("rejected comment: %+v", c)
	}
	again := a.importFile(t, "ndjson", bytes.NewReader(golden(t, "ndjson")))
	if again.Created != 0 || again.Skipped != 8 {
		t.Errorf("ndjson after wxr: %+v, want all 8 skipped", again)
	}
}

func findBy(cs []*moderation.Comment, author string) *moderation.Comment {
	for _, c := range cs {
		if c.Author == author {
			return c
		}
	}
	return nil
}

// TestImportWordPress checks what a WordPress export becomes: statuses,
// threads, safe HTML, problems reported by record and line.
func TestImportWordPress(t *testing.T) {
	a := newTransferApp(t, nil)
	res := a.importFile(t, "wxr", bytes.NewReader(fixture(t, "wordpress.xml")))
	want := []moderation.RecordProblem{
		{Record: 7, Line: 170, ID: "107", Reason: "is a pingback, not a comment: only comments are imported"},
		{Record: 10, Line: 212, ID: "111", Reason: "its parent is neither earlier in the file nor already stored"},
		{Record: 13, Line: 282, ID: "122", Reason: "body is required"},
	}
	if res.Created != 10 || res.Invalid != 3 || fmt.Sprint(res.Problems) != fmt.Sprint(want) {
		t.Errorf("import: %+v\nwant problems %+v", res, want)
	}
	cs := exportedComments(t, a.export(t, "format=ndjson"))
	zoe, mara, kenji := findBy(cs, "Zoë Ångström"), findBy(cs, "Mara Lindqvist"), findBy(cs, "Kenji 山田")
	if mara.Parent != zoe.ID || kenji.Parent != mara.ID || kenji.Depth != 2 {
		t.Errorf("thread lost: zoe %s, mara's parent %s, kenji's parent %s depth %d", zoe.ID, mara.Parent, kenji.Parent, kenji.Depth)
	}
	if ana, priya := findBy(cs, "Ana"), findBy(cs, "Priya"); priya.Parent != ana.ID {
		t.Errorf("a reply before its parent in the file lost its parent: %+v", priya)
	}
	if zoe.Body != "What a sight! We saw the same murmuration from the bridge.\n\nIt went on for twenty minutes,\nthen they all dropped into the reeds at once. 🐦" ||
		zoe.HTML != "<p>What a sight! We saw the same murmuration from the bridge.</p>\n<p>It went on for twenty minutes,<br>\nthen they all dropped into the reeds at once. 🐦</p>\n" {
		t.Errorf("paragraphs: body %q html %q", zoe.Body, zoe.HTML)
	}
	if want := `Thank you, Zoë! The <strong>RSPB</strong> has <a href="https://www.rspb.org.uk/birds-and-wildlife/starling" rel="nofollow ugc noopener">a good page on them</a>; <em>well</em> worth a read.`; !strings.Contains(mara.HTML, want) {
		t.Errorf("links and emphasis: %q", mara.HTML)
	}
	if want := "Thank you, Zoë! The **RSPB** has [a good page on them](https://www.rspb.org.uk/birds-and-wildlife/starling); *well* worth a read."; mara.Body != want {
		t.Errorf("body text = %q, want %q", mara.Body, want)
	}
	if kenji.Website != "" || kenji.Status != moderation.StatusApproved {
		t.Errorf("junk website kept: %+v", kenji)
	}
	spam, bob, troll := findBy(cs, "cheap-watches"), findBy(cs, "Bob"), findBy(cs, "Troll")
	if spam.Status != moderation.StatusSpam || strings.Contains(spam.HTML, "javascript") {
		t.Errorf("spam: %+v", spam)
	}
	if bob.Status != moderation.StatusPending || bob.HTML != "<p>Is this thing on? </p>\n" || bob.Body != "Is this thing on?" {
		t.Errorf("hostile HTML: status %s html %q body %q", bob.Status, bob.HTML, bob.Body)
	}
	if troll.Status != moderation.StatusRejected || troll.History[0].Reason != "imported from wxr; was in WordPress's trash" || troll.History[0].By != "token:owner-script" {
		t.Errorf("trash: %+v", troll)
	}
	if troll.IPHash == "" || strings.Contains(string(a.export(t, "format=ndjson")), "192.0.2.66") {
		t.Errorf("the IP must be kept only as a hash: %q", troll.IPHash)
	}
	anon := findBy(cs, "Anonymous")
	if anon == nil || anon.Email != "" || !anon.Created.Equal(time.Date(2010, 5, 4, 12, 0, 0, 0, time.UTC)) || anon.Post != "/2024/03/sourdough-week-three/" {
		t.Fatalf("anonymous: %+v", anon)
	}
	if want := "<p>My recipe:</p>\n<ul>\n<li>500 g flour</li>\n<li>350 g water &amp; 10 g salt</li>\n</ul>\n<blockquote>Patience is the main ingredient.</blockquote>\n<p>Use <code>75%</code> hydration &lt;not more&gt;.</p>\n"; anon.HTML != want {
		t.Errorf("WordPress paragraphs around blocks:\n got %q\nwant %q", anon.HTML, want)
	}
	if want := "My recipe:\n\n- 500 g flour\n- 350 g water & 10 g salt\n\n> Patience is the main ingredient.\n\nUse `75%` hydration <not more>."; anon.Body != want {
		t.Errorf("list body:\n got %q\nwant %q", anon.Body, want)
	}
	if formula := findBy(cs, `=HYPERLINK("http://evil.example","click")`); formula == nil || formula.Email != "" || formula.Website != "" {
		t.Errorf("junk email and website must be dropped: %+v", formula)
	}
	thread := a.do(t, http.MethodGet, "/api/comments?post=/2024/02/starlings-over-the-marsh/", "", nil).Body.String()
	for _, hidden := range []string{"cheap-watches", "Bob", "Troll", "zoe@example.se"} {
		if strings.Contains(thread, hidden) {
			t.Errorf("the public thread shows %q: %s", hidden, thread)
		}
	}
	if !strings.Contains(thread, `"count":5`) {
		t.Errorf("public thread: %s", thread)
	}
}

// TestImportDisqus checks threads, deleted posts (tombstones that keep
// their replies in place) and spam from a Disqus export.
func TestImportDisqus(t *testing.T) {
	a := newTransferApp(t, nil)
	res := a.importFile(t, "disqus", bytes.NewReader(fixture(t, "disqus.xml")))
	if res.Created != 6 || res.Invalid != 2 || res.Problems[0].Record != 7 || res.Problems[1].Line != 134 {
		t.Errorf("import: %+v", res)
	}
	cs := exportedComments(t, a.export(t, "format=ndjson"))
	amelie, tinker, calm := findBy(cs, "Amélie Dubois"), findBy(cs, "Tinkerlog"), findBy(cs, "Guest Reader")
	if tinker.Parent != amelie.ID || tinker.Depth != 1 {
		t.Errorf("reply: %+v", tinker)
	}
	if tinker.Body != "Lead-free is safer, but **leaded** flows much more easily.\n\nSee https://en.wikipedia.org/wiki/Solder\nand wash your hands *afterwards*." {
		t.Errorf("body: %q", tinker.Body)
	}
	tomb := findBy(cs, "")
	if tomb == nil || tomb.Status != moderation.StatusDeleted || tomb.HTML != "" || tomb.Body != "" || calm.Parent != tomb.ID {
		t.Errorf("tombstone: %+v, reply %+v", tomb, calm)
	}
	if spam := findBy(cs, "Make Money Fast"); spam.Status != moderation.StatusSpam {
		t.Errorf("spam: %+v", spam)
	}
	thread := a.do(t, http.MethodGet, "/api/comments?post=/2019/11/soldering-for-beginners/", "", nil).Body.String()
	if !strings.Contains(thread, `"deleted":true`) || !strings.Contains(thread, "Calm down") || strings.Contains(thread, "regret") {
		t.Errorf("thread: %s", thread)
	}
}

// TestImportInvalidRecords: each bad record is reported with its line and
// reason and stored not at all; the good ones around it are stored.
func TestImportInvalidRecords(t *testing.T) {
	a := newTransferApp(t, nil)
	line := func(id, post, parent, author, email, body, html string, status moderation.Status) string {
		b, _ := json.Marshal(moderation.Comment{ID: id, Post: post, Parent: parent, Author: author, Email: email, Body: body,
			HTML: html, Status: status, Created: exported, Updated: exported})
		return string(b)
	}
	file := strings.Join([]string{
		`{"format":"parley-comments","version":1,"exported":"2026-11-28T12:00:00Z"}`,
		line("GOOD1", "/p/", "", "Ann", "ann@example.com", "fine", "<p>fine</p>\n", "approved"),
		line("BAD1", "/p/", "", "Ann", "not an email", "fine", "<p>fine</p>\n", "approved"),
		line("BAD2", "/p/", "", "Ann", "", strings.Repeat("x", moderation.MaxImportedBody+1), "", "approved"),
		line("BAD3", "/p/", "", "Ann\u202e", "", "fine", "", "approved"),
		line("BAD4", "/p/", "NOPE", "Ann", "", "reply", "", "approved"),
		line("BAD 5", "/p/", "", "Ann", "", "fine", "", "approved"),
		line("BAD6", "/p/", "", "Ann", "", "fine", "", "published"),
		line("GOOD2", "/p/", "GOOD1", "Ben", "", "safe", `<p onclick="x()">safe<script>alert(1)</script></p>`, "approved"),
		`{"id": "BAD7", "post": }`,
	}, "\n")
	res := a.importFile(t, "ndjson", strings.NewReader(file))
	want := []moderation.RecordProblem{
		{Record: 2, Line: 3, ID: "BAD1", Reason: "email must be a valid email address"},
		{Record: 3, Line: 4, ID: "BAD2", Reason: "body must be at most 65525 characters"},
		{Record: 4, Line: 5, ID: "BAD3", Reason: "author must not contain invisible or text-direction characters"},
		{Record: 5, Line: 6, ID: "BAD4", Reason: "its parent is neither earlier in the file nor already stored"},
		{Record: 6, Line: 7, ID: "BAD 5", Reason: "id must be 1 to 64 letters, digits, - or _"},
		{Record: 7, Line: 8, ID: "BAD6", Reason: "status must be pending, approved, rejected, spam or deleted"},
		{Record: 9, Line: 10, Reason: "is not valid JSON: invalid character '}' looking for beginning of value"},
	}
	if res.Created != 2 || res.Invalid != 7 || fmt.Sprint(res.Problems) != fmt.Sprint(want) {
		t.Errorf("import: %+v\nwant problems %+v", res, want)
	}
	cs := exportedComments(t, a.export(t, "format=ndjson"))
	if len(cs) != 2 || cs[0].ID != "GOOD1" || cs[1].ID != "GOOD2" {
		t.Fatalf("stored: %+v", cs)
	}
	if cs[1].HTML != "<p>safe</p>" || cs[1].Depth != 1 {
		t.Errorf("imported HTML must be sanitized: %q depth %d", cs[1].HTML, cs[1].Depth)
	}
}

func TestImportRefusals(t *testing.T) {
	a := newTransferApp(t, nil)
	check := func(name string, rec *httptest.ResponseRecorder, status int, code string, message string) {
		t.Helper()
		var body struct {
			Error struct {
				Code, Message string
				Fields        map[string]string
			}
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != status || body.Error.Code != code || !strings.Contains(body.Error.Message+fmt.Sprint(body.Error.Fields), message) {
			t.Errorf("%s: %d %s, want %d %s %q", name, rec.Code, rec.Body, status, code, message)
		}
	}
	ndjson := bytes.NewReader(golden(t, "ndjson"))
	check("no token", a.do(t, http.MethodPost, "/api/admin/import?format=ndjson", "", ndjson), 401, "unauthorized", "")
	check("moderator", a.do(t, http.MethodPost, "/api/admin/import?format=ndjson", a.mod, ndjson), 403, "forbidden", "")
	check("no format", a.do(t, http.MethodPost, "/api/admin/import", a.owner, ndjson), 400, "validation_failed", "must be one of ndjson, json, wxr, disqus")
	check("csv", a.do(t, http.MethodPost, "/api/admin/import?format=csv", a.owner, ndjson), 400, "validation_failed", "format")
	check("post key", a.do(t, http.MethodPost, "/api/admin/import?format=wxr&post_key=title", a.owner, ndjson), 400, "validation_failed", "must be path, url or id")

	req := httptest.NewRequest(http.MethodPost, "/api/admin/import?format=ndjson", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+a.owner)
	req.ContentLength = server.MaxImportBytes + 1
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	check("declared too large", rec, 413, "too_large", "larger than the import limit of 256 MiB")

	// A body without a length that runs past the limit (1 MiB here): lines
	// of 1 MiB of spaces, which read as blank lines until the limit cuts them.
	a = openTransferApp(t, testdb.Data(t), nil, 1<<20)
	spaces := io.MultiReader(bytes.NewReader(golden(t, "ndjson")), &blankLines{left: 3})
	req = httptest.NewRequest(http.MethodPost, "/api/admin/import?format=ndjson", spaces)
	req.Header.Set("Authorization", "Bearer "+a.owner)
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	check("streamed too large", rec, 413, "too_large", "larger than the import limit of 1 MiB: split it, or import it on the server with \"parley import\", which has no limit. The 8 comments before that point were imported")

	// Broken between records: XML inside a record that breaks costs only
	// that record (TestMalformedRecordsBeforeGoodOnes).
	broken := strings.Replace(string(fixture(t, "disqus.xml")), `<post dsq:id="4100000004">`, `</oops><post dsq:id="4100000004">`, 1)
	rec = a.do(t, http.MethodPost, "/api/admin/import?format=disqus", a.owner, strings.NewReader(broken))
	check("broken XML", rec, 422, "unreadable_file", "The import stopped: line 81: the XML is broken: element <disqus> closed by </oops>. The 3 comments before that point were imported. Importing the same file again stops at the same place")
}

// blankLines reads as lines of 1 MiB of spaces.
type blankLines struct{ left, pos int }

func (b *blankLines) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && b.left > 0 {
		if b.pos == 1<<20 {
			p[n], b.pos = '\n', 0
			b.left--
		} else {
			p[n] = ' '
			b.pos++
		}
		n++
	}
	return n, nil
}

// TestImportMultipartForm takes the file from an HTML form's file input.
func TestImportMultipartForm(t *testing.T) {
	a := newTransferApp(t, nil)
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	_ = form.WriteField("note", "ignored")
	part, _ := form.CreateFormFile("file", "disqus.xml")
	_, _ = part.Write(fixture(t, "disqus.xml"))
	_ = form.Close()
	req := httptest.NewRequest(http.MethodPost, "/api/admin/import?format=disqus", &body)
	req.Header.Set("Authorization", "Bearer "+a.owner)
	req.Header.Set("Content-Type", form.FormDataContentType())
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"created":6`) {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

// TestExportFilters selects by status, post and time, and refuses bad filters.
func TestExportFilters(t *testing.T) {
	a := newTransferApp(t, func() time.Time { return exported })
	a.importFile(t, "ndjson", bytes.NewReader(golden(t, "ndjson")))
	ids := func(query string) string {
		var out []string
		for _, c := range exportedComments(t, a.export(t, query)) {
			out = append(out, c.ID[len(c.ID)-1:])
		}
		return strings.Join(out, "")
	}
	for query, want := range map[string]string{
		"":                             "12345678",
		"status=approved":              "1278",
		"status=deleted":               "6",
		"status=spam&post=/about/":     "",
		"post=/about/":                 "567",
		"status=approved&post=/about/": "7",
		"since=2026-11-01T09:09:00Z":   "5678",
		"since=2026-11-02":             "",
	} {
		if got := ids("format=ndjson&" + query); got != want {
			t.Errorf("%s: exported %q, want %q", query, got, want)
		}
	}
	if csv := string(a.export(t, "format=csv&status=pending")); strings.Count(csv, "\n01JCZ") != 1 || !strings.Contains(csv, `"'=HYPERLINK(""http://evil.example"",""click"")"`) || !strings.Contains(csv, `"'+1 to that`) {
		t.Errorf("csv must neutralize formulas:\n%s", csv)
	}
	for query, field := range map[string]string{"format=xml": "format", "status=hidden": "status", "since=yesterday": "since", "site_url=javascript:x": "site_url", "site=javascript:x": "site_url"} {
		rec := a.do(t, http.MethodGet, "/api/admin/export?"+query, a.owner, nil)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"`+field+`"`) || rec.Header().Get("Content-Disposition") != "" {
			t.Errorf("%s: %d %s", query, rec.Code, rec.Body)
		}
	}
	if rec := a.do(t, http.MethodGet, "/api/admin/export", "", nil); rec.Code != 401 {
		t.Errorf("export without a token: %d", rec.Code)
	}
	audit := a.do(t, http.MethodGet, "/api/admin/audit", a.mod, nil).Body.String()
	if !strings.Contains(audit, `"action":"export"`) || !strings.Contains(audit, `"action":"import"`) {
		t.Errorf("exports and imports must be in the audit log: %s", audit)
	}
}
