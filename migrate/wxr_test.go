package migrate_test

import (
	"errors"
	"strings"
	"testing"

	"parley/migrate"
	"parley/moderation"
)

// TestWordPressNamespaces reads the WXR 1.2 https fixture whatever version
// and scheme of WordPress's namespace it declares, and with any namespace
// the file itself binds to the prefix wp, as WordPress's importer does.
func TestWordPressNamespaces(t *testing.T) {
	file := string(readFixture(t, "wordpress-6.7-https.xml"))
	const https12 = `xmlns:wp="https://wordpress.org/export/1.2/"`
	for _, ns := range []string{
		"https://wordpress.org/export/1.2/", "http://wordpress.org/export/1.2/",
		"http://wordpress.org/export/1.1/", "https://wordpress.org/export/1.1/",
		"http://wordpress.org/export/1.0/", "urn:example:a-namespace-of-its-own",
	} {
		recs := readAll(t, migrate.WXR, strings.NewReader(strings.Replace(file, https12, `xmlns:wp="`+ns+`"`, 1)), migrate.DecodeOptions{})
		problems := 0
		for _, rec := range recs {
			if rec.Problem != "" {
				problems++
			}
		}
		if len(recs) != 17 || problems != 3 {
			t.Errorf("%s: %d records, %d problems; want 17 and 3", ns, len(recs), problems)
		}
	}
	// No declaration at all: WordPress's importer takes wp as WXR 1.1's.
	undeclared := strings.Replace(file, https12, "", 1)
	if recs := readAll(t, migrate.WXR, strings.NewReader(undeclared), migrate.DecodeOptions{}); len(recs) != 17 {
		t.Errorf("undeclared wp prefix: %d records, want 17", len(recs))
	}
}

// TestWordPressFixture67 states the exact counts of the WXR 1.2 https
// fixture: 17 comments, 3 of them pingbacks and trackbacks, a chain of 10
// replies, authors in a dozen scripts.
func TestWordPressFixture67(t *testing.T) {
	recs := readAll(t, migrate.WXR, open(t, "wordpress-6.7-https.xml"), migrate.DecodeOptions{})
	if len(recs) != 17 {
		t.Fatalf("%d records, want 17", len(recs))
	}
	want := map[int]string{12: "is a pingback", 13: "is a trackback", 17: "is a pingback"}
	for i, rec := range recs {
		if w := want[i+1]; !strings.Contains(rec.Problem, w) || (w == "") != (rec.Problem == "") {
			t.Errorf("record %d: problem %q, want %q", i+1, rec.Problem, w)
		}
	}
	for i := 1; i < 10; i++ {
		if f := recs[i].Foreign; f.ParentID != recs[i-1].Foreign.ID || f.Post != "/2025/07/deep-thread/" {
			t.Errorf("record %d: parent %q post %q", i+1, f.ParentID, f.Post)
		}
	}
	if f := recs[2].Foreign; f.Author != "محمد العلي" || f.Site != "https://world.example.net" {
		t.Errorf("record 3: %+v", f)
	}
	statuses := []moderation.Status{recs[10].Foreign.Status, recs[13].Foreign.Status, recs[14].Foreign.Status, recs[15].Foreign.Status}
	if want := []moderation.Status{"approved", "pending", "spam", "rejected"}; strings.Join(toStrings(statuses), " ") != strings.Join(toStrings(want), " ") {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
}

func toStrings(ss []moderation.Status) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// TestFilesWithoutCommentsSayWhy: a non-empty file that yields no comment
// is an error that says why, never an empty success.
func TestFilesWithoutCommentsSayWhy(t *testing.T) {
	for _, c := range []struct {
		format migrate.Format
		file   string
		want   string
	}{
		{migrate.WXR, `<rss xmlns:wp="https://wordpress.org/export/1.2/"><channel><title>x</title></channel></rss>`, "without any <item>"},
		{migrate.WXR, `<rss xmlns:wp="https://wordpress.org/export/1.2/"><channel><item><title>a</title></item><item/></channel></rss>`, "none of its 2 posts has a <wp:comment>"},
		{migrate.WXR, `<rss xmlns:x="urn:x"><channel><item><x:comment><x:comment_id>1</x:comment_id></x:comment></item></channel></rss>`, "its 1 <comment> elements are not in WordPress's namespace"},
		{migrate.Disqus, `<disqus><thread dsq:id="1" xmlns:dsq="http://disqus.com/disqus-internals"/></disqus>`, "it has 1 threads but no <post>"},
		{migrate.NDJSON, "", "it is empty"},
		{migrate.NDJSON, "\n  \n\n", "only blank lines"},
		{migrate.JSON, "", "it is empty"},
		{migrate.JSON, "[]", "its array of comments is empty"},
	} {
		_, err := decodeAll(c.format, strings.NewReader(c.file), migrate.DecodeOptions{})
		var none *migrate.NoCommentsError
		if !errors.As(err, &none) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %.40q: err = %v, want one saying %q", c.format, c.file, err, c.want)
		}
	}
	// A Parley export of no comments says so in its header: it is no error.
	for f, file := range map[migrate.Format]string{
		migrate.NDJSON: `{"format":"parley-comments","version":1,"exported":"2026-11-28T12:00:00Z"}` + "\n",
		migrate.JSON:   `{"format":"parley-comments","version":1,"exported":"2026-11-28T12:00:00Z","comments":[]}`,
	} {
		if recs, err := decodeAll(f, strings.NewReader(file), migrate.DecodeOptions{}); err != nil || len(recs) != 0 {
			t.Errorf("%s: empty export: %d records, %v", f, len(recs), err)
		}
	}
}

// TestBrokenXMLCostsOneRecord: XML that breaks inside a comment (a tag
// closed by another, a stray <, the comment's own end tag misspelt) makes
// that comment invalid, and the reading goes on in the same namespace.
func TestBrokenXMLCostsOneRecord(t *testing.T) {
	comment := func(id, author, end string) string {
		return `<x:comment><x:comment_id>` + id + `</x:comment_id><x:comment_author>` + author + `</x:comment_author>` +
			`<x:comment_date_gmt>2026-01-01 10:00:00</x:comment_date_gmt><x:comment_content>Hi</x:comment_content>` +
			`<x:comment_approved>1</x:comment_approved>` + end + "\n"
	}
	file := `<rss xmlns:x="urn:not-wordpress" xmlns:wp="https://wordpress.org/export/1.2/"><channel><item><link>https://b.example/p/</link>` + "\n" +
		strings.ReplaceAll(comment("1", "Ann", "</x:comment>")+comment("2", "Ben</i>", "</x:comment>")+
			comment("3", "Cy", "</x:commment>")+comment("4", "Di", "</x:comment>")+comment("5", "a < b", "</x:comment>")+
			comment("6", "Ed", "</x:comment>"), "x:", "wp:") + `</item></channel></rss>`
	recs := readAll(t, migrate.WXR, strings.NewReader(file), migrate.DecodeOptions{})
	var got []string
	for _, r := range recs {
		got = append(got, r.Foreign.Author+"|"+r.Problem)
	}
	want := []string{"Ann|", "|line 3: the XML is broken: element <comment_author> closed by </i>",
		"Cy|line 4: the XML is broken: element <comment> closed by </commment>", "Di|",
		"|line 6: the XML is broken: expected element name after <", "Ed|"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
