package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// wxrFile is a WXR document of one post holding comments.
func wxrFile(comments ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>
<item><link>https://blog.example.com/m/</link>
` + strings.Join(comments, "\n") + `
</item></channel></rss>`
}

// wxrComment is a <wp:comment>; fields replace its defaults by name.
func wxrComment(id string, fields map[string]string) string {
	f := map[string]string{"comment_id": id, "comment_author": "Ann", "comment_date_gmt": "2026-01-01 10:00:00",
		"comment_content": "<![CDATA[Fine.]]>", "comment_approved": "1", "comment_type": "comment", "comment_parent": "0"}
	for k, v := range fields {
		f[k] = v
	}
	var b strings.Builder
	b.WriteString("<wp:comment>")
	for _, k := range []string{"comment_id", "comment_author", "comment_date_gmt", "comment_content", "comment_approved", "comment_type", "comment_parent"} {
		fmt.Fprintf(&b, "\n<wp:%s>%s</wp:%s>", k, f[k], k)
	}
	b.WriteString("\n</wp:comment>")
	return b.String()
}

// disqusFile is a Disqus export of one thread holding posts.
func disqusFile(posts ...string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
<thread dsq:id="1"><forum>f</forum><link>https://blog.example.com/m/</link></thread>
` + strings.Join(posts, "\n") + `
</disqus>`
}

func disqusPost(id, spam, deleted, created, message, thread string) string {
	return fmt.Sprintf(`<post dsq:id="%s">
<message><![CDATA[%s]]></message><createdAt>%s</createdAt><isDeleted>%s</isDeleted><isSpam>%s</isSpam>
<author><name>Ann</name></author><thread dsq:id=%s/>
</post>`, id, message, created, deleted, spam, thread)
}

func parleyRecord(id, extra string) string {
	return `{"id":"` + id + `","post":"/m/","author":"Ann","body":"Fine.","status":"approved","created":"2026-01-01T10:00:00Z"` + extra + `}`
}

// TestMalformedRecordsBeforeGoodOnes: in every import format, records
// that cannot be read (booleans, dates, ids, nesting, encodings, broken
// syntax inside a record, XML tags that do not nest) come first; each is counted invalid and reported
// with its number, line and reason, and the good records after them are
// imported.
func TestMalformedRecordsBeforeGoodOnes(t *testing.T) {
	ndjsonBad := []string{
		parleyRecord("B1", `,"by_site":"yes"`),
		parleyRecord("B2", `,"created":"yesterday"`),
		parleyRecord("B3", `,"author":"`+"\xff"+`"`),
		parleyRecord("B4", `,"parent":"B4"`),
		parleyRecord("B5", `,"history":[[[[{"status":[]}]]]]`),
		`{"id":"B6","post": }`,
		parleyRecord("B7", `,"status":"published"`),
	}
	good := []string{parleyRecord("G1", ""), parleyRecord("G2", `,"parent":"G1"`)}
	ndjsonReasons := []string{"by_site of type bool", `parsing time "yesterday"`,
		"is not valid UTF-8", "parent must be the id of another comment", "is not a comment: json: cannot unmarshal array",
		"is not valid JSON", "status must be pending, approved, rejected, spam or deleted"}

	wxrBad := []string{
		wxrComment("1", map[string]string{"comment_approved": "maybe"}),
		wxrComment("2", map[string]string{"comment_date_gmt": "yesterday"}),
		wxrComment("3", map[string]string{"comment_author": "Ann \xff"}),
		wxrComment("4", map[string]string{"comment_content": "Bell \x01 here"}),
		wxrComment("5", map[string]string{"comment_content": "Bell &#1; here"}),
		wxrComment("6", map[string]string{"comment_parent": "not-in-the-file"}),
		wxrComment("7", map[string]string{"comment_author": `<span class=x>Ann</span>`}),
		strings.Replace(wxrComment("8", nil), "</wp:comment_author>", "</wp:comment_autor>", 1),
		wxrComment("9", map[string]string{"comment_content": "1 < 2"}),
	}
	wxrReasons := []string{`comment_approved "maybe" is not 1, 0, spam or trash`, `comment_date_gmt: "yesterday" is not a date`,
		"is not valid UTF-8", "has the control character U+0001, which XML does not allow",
		"has the character reference &#1;, which XML does not allow", "its parent is neither earlier in the file nor already stored",
		"has an attribute value without quotes", "the XML is broken: element <comment_author> closed by </comment_autor>",
		"the XML is broken: expected element name after <"}
	wxrGood := []string{wxrComment("10", nil), wxrComment("11", map[string]string{"comment_parent": "10", "comment_date_gmt": "2026-01-01 11:00:00"})}

	disqusBad := []string{
		disqusPost("1", "123", "false", "2026-01-01T10:00:00Z", "Fine.", `"1"`),
		disqusPost("2", "false", "yes", "2026-01-01T10:00:00Z", "Fine.", `"1"`),
		disqusPost("3", "false", "false", "2011-x09-30T22:48:43Z", "Fine.", `"1"`),
		disqusPost("4", "false", "false", "2026-01-01T10:00:00Z", "Fine \xfe.", `"1"`),
		disqusPost("5", "false", "false", "2026-01-01T10:00:00Z", "Fine.", `1`),
		strings.Replace(disqusPost("6", "false", "false", "2026-01-01T10:00:00Z", "Fine.", `"1"`), "<message>", "<message><b>", 1),
	}
	disqusReasons := []string{`isSpam: "123" is not true or false`, `isDeleted: "yes" is not true or false`,
		`createdAt: "2011-x09-30T22:48:43Z" is not a date`, "is not valid UTF-8", "has an attribute value without quotes",
		"the XML is broken: element <b> closed by </message>"}
	disqusGood := []string{disqusPost("10", "false", "false", "2026-01-01T10:00:00Z", "Fine.", `"1"`),
		strings.Replace(disqusPost("11", "false", "false", "2026-01-01T11:00:00Z", "Reply.", `"1"`), "</post>", `<parent dsq:id="10"/></post>`, 1)}

	cases := []struct {
		format, file string
		reasons      []string
	}{
		{"ndjson", strings.Join(append(ndjsonBad, good...), "\n"), ndjsonReasons},
		{"json", "[\n" + strings.Join(append(ndjsonBad, good...), ",\n") + "\n]", ndjsonReasons},
		{"wxr", wxrFile(append(wxrBad, wxrGood...)...), wxrReasons},
		{"disqus", disqusFile(append(disqusBad, disqusGood...)...), disqusReasons},
	}
	for _, c := range cases {
		a := newTransferApp(t, nil)
		res := a.importFile(t, c.format, strings.NewReader(c.file))
		if res.Created != 2 || res.Invalid != len(c.reasons) || len(res.Problems) != len(c.reasons) {
			t.Fatalf("%s: %+v, want 2 created and %d invalid", c.format, res, len(c.reasons))
		}
		for i, p := range res.Problems {
			if p.Record != i+1 || p.Line == 0 || !strings.Contains(p.Reason, c.reasons[i]) {
				t.Errorf("%s problem %d: %+v, want record %d with a line, reason %q", c.format, i+1, p, i+1, c.reasons[i])
			}
		}
		cs := exportedComments(t, a.export(t, "format=ndjson"))
		if len(cs) != 2 || cs[1].Parent != cs[0].ID || cs[1].Depth != 1 {
			t.Errorf("%s: the good records after the bad ones: %+v", c.format, cs)
		}
	}
}

// TestImportStopsOnlyAtTheEndOfReadableFile: a file cut short mid-document
// keeps what came before and says that the complete file gets further; a
// file that is no XML or JSON at all says that re-running cannot.
func TestImportStopsOnlyAtTheEndOfReadableFile(t *testing.T) {
	three := []string{parleyRecord("C1", ""), parleyRecord("C2", ""), parleyRecord("C3", "")}
	files := map[string]string{
		"ndjson": strings.Join(three, "\n"),
		"json":   "[" + strings.Join(three, ",") + "]",
		"wxr":    wxrFile(wxrComment("1", nil), wxrComment("2", nil), wxrComment("3", nil)),
		"disqus": disqusFile(disqusPost("1", "false", "false", "2026-01-01T10:00:00Z", "A", `"1"`),
			disqusPost("2", "false", "false", "2026-01-01T10:00:00Z", "B", `"1"`), disqusPost("3", "false", "false", "2026-01-01T10:00:00Z", "C", `"1"`)),
	}
	for format, file := range files {
		if format == "ndjson" {
			continue // every line stands alone: a cut line is one invalid record
		}
		a := newTransferApp(t, nil)
		cut := file[:strings.LastIndex(file, "C")-4]
		if format == "wxr" || format == "disqus" {
			cut = file[:strings.LastIndex(file, "<message>")+len("<message>")]
			if format == "wxr" {
				cut = file[:strings.Index(file, "<wp:comment_id>3")+8]
			}
		}
		rec := a.do(t, http.MethodPost, "/api/admin/import?format="+format, a.owner, strings.NewReader(cut))
		code, message := errorOf(t, rec.Body.Bytes())
		if rec.Code != http.StatusUnprocessableEntity || code != "unreadable_file" ||
			!strings.Contains(message, "the file ends in the middle of the document, after comment 2") ||
			!strings.Contains(message, "The 2 comments before that point were imported.") ||
			!strings.Contains(message, "It was cut short (an interrupted download or upload?): import the complete file") {
			t.Errorf("%s cut short: %d %s", format, rec.Code, rec.Body)
		}
		if res := a.importFile(t, format, strings.NewReader(file)); res.Created != 1 || res.Skipped != 2 {
			t.Errorf("%s: the complete file after the cut one: %+v", format, res)
		}
	}
	a := newTransferApp(t, nil)
	for format, want := range map[string]string{
		"json":   "line 1: this is not a Parley json export: it starts with 'h'",
		"wxr":    "this is not a WordPress export: it has no <rss> element",
		"disqus": "line 1: the XML is broken: element <disqus> closed by </rss>",
	} {
		file := "hello, world"
		if format == "disqus" {
			file = "<disqus><post></post></rss>"
		}
		rec := a.do(t, http.MethodPost, "/api/admin/import?format="+format, a.owner, strings.NewReader(file))
		_, message := errorOf(t, rec.Body.Bytes())
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(message, want) || !strings.Contains(message, "Importing the same file again stops at the same place") {
			t.Errorf("%s, not a file of its format: %d %s, want %q", format, rec.Code, message, want)
		}
	}
}
