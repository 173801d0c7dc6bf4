package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"parley/moderation"
)

// errorOf decodes a JSON error answer.
func errorOf(t *testing.T, body []byte) (code, message string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not a JSON error: %s", body)
	}
	return e.Error.Code, e.Error.Message
}

// TestImportWordPressHTTPSNamespace imports the WXR 1.2 https fixture over
// HTTP: every comment, replies nested ten deep (the ninth and tenth share
// the deepest level, as new replies would), pingbacks and trackbacks
// reported, names in a dozen scripts; a second import creates nothing.
func TestImportWordPressHTTPSNamespace(t *testing.T) {
	a := newTransferApp(t, nil)
	file := fixture(t, "wordpress-6.7-https.xml")
	res := a.importFile(t, "wxr", bytes.NewReader(file))
	want := []moderation.RecordProblem{
		{Record: 12, Line: 211, ID: "302", Reason: "is a pingback, not a comment: only comments are imported"},
		{Record: 13, Line: 225, ID: "303", Reason: "is a trackback, not a comment: only comments are imported"},
		{Record: 17, Line: 281, ID: "307", Reason: "is a pingback, not a comment: only comments are imported"},
	}
	if res.Created != 14 || res.Skipped != 0 || res.Invalid != 3 || fmt.Sprint(res.Problems) != fmt.Sprint(want) {
		t.Errorf("import: %+v\nwant problems %+v", res, want)
	}
	cs := exportedComments(t, a.export(t, "format=ndjson&post=/2025/07/deep-thread/"))
	if len(cs) != 10 {
		t.Fatalf("deep thread: %d comments, want 10", len(cs))
	}
	byAuthor := map[string]*moderation.Comment{}
	for _, c := range cs {
		byAuthor[c.Author] = c
	}
	chain := []string{"Αλέξανδρος Παπαδόπουλος", "Анна Кузнецова", "محمد العلي", "דוד כהן", "王小明", "山田 花子", "김민준", "สมชาย ใจดี", "अनन्या शर्मा", "Nguyễn Thị Lan"}
	for i, name := range chain {
		c := byAuthor[name]
		if c == nil {
			t.Fatalf("%s was not imported", name)
		}
		wantDepth, wantParent := min(i, moderation.MaxDepth), ""
		switch {
		case i == 9: // deeper than MaxDepth: joins its parent's level
			wantParent = byAuthor[chain[7]].ID
		case i > 0:
			wantParent = byAuthor[chain[i-1]].ID
		}
		if c.Depth != wantDepth || c.Parent != wantParent || c.Status != moderation.StatusApproved {
			t.Errorf("%s: depth %d parent %s status %s; want depth %d parent %s", name, c.Depth, c.Parent, c.Status, wantDepth, wantParent)
		}
	}
	thread := a.do(t, http.MethodGet, "/api/comments?post=/2025/07/travel/", "", nil).Body.String()
	if !strings.Contains(thread, "Şebnem Yılmaz") || strings.Contains(thread, "Best Pills") || strings.Contains(thread, "José") {
		t.Errorf("public thread: %s", thread)
	}
	again := a.importFile(t, "wxr", bytes.NewReader(file))
	if again.Created != 0 || again.Skipped != 14 || again.Invalid != 3 {
		t.Errorf("second import: %+v", again)
	}
}

// TestImportOfNoCommentsIsAnError: a file that yields no comment answers
// 422 with the reason, and writes nothing.
func TestImportOfNoCommentsIsAnError(t *testing.T) {
	a := newTransferApp(t, nil)
	for _, c := range []struct{ format, file, want string }{
		{"wxr", `<rss xmlns:wp="https://wordpress.org/export/1.2/"><channel><item><title>Hello</title></item></channel></rss>`,
			"The file holds no comments to import: none of its 1 posts has a <wp:comment>. Nothing was imported."},
		{"disqus", `<disqus xmlns:dsq="http://disqus.com/disqus-internals"><thread dsq:id="1"><link>https://x.example/a</link></thread></disqus>`,
			"The file holds no comments to import: it has 1 threads but no <post>. Nothing was imported."},
		{"ndjson", "", "The file holds no comments to import: it is empty. Nothing was imported."},
		{"json", "[]", "its array of comments is empty"},
	} {
		rec := a.do(t, http.MethodPost, "/api/admin/import?format="+c.format, a.owner, strings.NewReader(c.file))
		code, message := errorOf(t, rec.Body.Bytes())
		if rec.Code != http.StatusUnprocessableEntity || code != "unreadable_file" || !strings.Contains(message, c.want) {
			t.Errorf("%s: %d %s, want 422 saying %q", c.format, rec.Code, rec.Body, c.want)
		}
	}
	if cs := exportedComments(t, a.export(t, "format=ndjson")); len(cs) != 0 {
		t.Errorf("%d comments written", len(cs))
	}
}

// TestImportRecordsWithoutIDs: a script's ndjson or json without Parley ids
// imports; each record's id comes from its content, so a second import of
// the same file creates nothing.
func TestImportRecordsWithoutIDs(t *testing.T) {
	a := newTransferApp(t, nil)
	records := []string{
		`{"post":"/hello/","author":"Ann","email":"ann@example.com","body":"First **comment**","status":"approved","created":"2019-03-01T10:00:00Z"}`,
		`{"post":"/hello/","author":"Ben","body":"Second","status":"pending","created":"2019-03-01T11:00:00Z"}`,
		`{"post":"/hello/","author":"Ben","body":"Second, but another","status":"approved","created":"2019-03-01T11:00:00Z"}`,
	}
	ndjson := strings.Join(records, "\n")
	for round, want := range []moderation.ImportResult{{Format: "ndjson", Created: 3}, {Format: "ndjson", Skipped: 3}} {
		res := a.importFile(t, "ndjson", strings.NewReader(ndjson))
		if res.Created != want.Created || res.Skipped != want.Skipped || res.Invalid != 0 {
			t.Errorf("ndjson round %d: %+v, want %+v", round+1, res, want)
		}
	}
	res := a.importFile(t, "json", strings.NewReader("["+strings.Join(records, ",\n")+"]"))
	if res.Created != 0 || res.Skipped != 3 {
		t.Errorf("the same records as json: %+v, want 3 skipped", res)
	}
	cs := exportedComments(t, a.export(t, "format=ndjson"))
	if len(cs) != 3 || cs[0].Author != "Ann" || cs[0].HTML != "<p>First <strong>comment</strong></p>\n" || !cs[0].Updated.Equal(cs[0].Created) {
		t.Fatalf("stored: %+v", cs[0])
	}
	if cs[1].ID == cs[2].ID || len(cs[0].ID) != 26 || cs[0].ID > cs[1].ID {
		t.Errorf("ids must differ by content and sort by time: %s %s %s", cs[0].ID, cs[1].ID, cs[2].ID)
	}
}
