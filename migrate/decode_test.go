package migrate_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"parley/migrate"
	"parley/moderation"
)

// readAll decodes every record of a file, failing on a file error.
func readAll(t *testing.T, f migrate.Format, r io.Reader, opts migrate.DecodeOptions) []*moderation.ImportRecord {
	t.Helper()
	recs, err := decodeAll(f, r, opts)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func decodeAll(f migrate.Format, r io.Reader, opts migrate.DecodeOptions) ([]*moderation.ImportRecord, error) {
	dec, err := migrate.NewDecoder(f, r, opts)
	if err != nil {
		return nil, err
	}
	var recs []*moderation.ImportRecord
	for {
		rec, err := dec.Next()
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		recs = append(recs, rec)
	}
}

func open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestParleyFormatsReadBack reads the golden ndjson and json exports back
// into exactly the comments they were written from.
func TestParleyFormatsReadBack(t *testing.T) {
	want := fixtureComments(t)
	for _, f := range []migrate.Format{migrate.NDJSON, migrate.JSON} {
		recs := readAll(t, f, open(t, filepath.Join("golden", "export."+string(f))), migrate.DecodeOptions{})
		if len(recs) != len(want) {
			t.Fatalf("%s: %d records, want %d", f, len(recs), len(want))
		}
		for i, rec := range recs {
			if rec.Problem != "" || rec.Number != i+1 {
				t.Errorf("%s record %d: number %d, problem %q", f, i+1, rec.Number, rec.Problem)
			}
			if !reflect.DeepEqual(rec.Comment, want[i]) {
				t.Errorf("%s record %d:\n got %+v\nwant %+v", f, i+1, rec.Comment, want[i])
			}
		}
	}
}

func TestNDJSONProblems(t *testing.T) {
	file := `{"format":"parley-comments","version":1,"exported":"2026-11-28T12:00:00Z"}

{"id":"A1","post":"/p/","author":"Ann","body":"hi","status":"approved","created":"2026-11-01T09:00:00Z"}
{"id":"A2","post":
{"id":"A3","depth":"deep"}
{"id":"A4","author":"` + "\xff\xfe" + `"}
` + `{"id":"A5","body":"` + strings.Repeat("x", 5<<20) + `"}
{"id":"A6","post":"/p/","author":"Ann","body":"last, no newline","status":"pending","created":"2026-11-01T09:00:00Z"}`
	recs := readAll(t, migrate.NDJSON, strings.NewReader(file), migrate.DecodeOptions{})
	want := []struct {
		line    int
		problem string
	}{{3, ""}, {4, "is not valid JSON"}, {5, "is not a comment"}, {6, "is not valid UTF-8"}, {7, "longer than 4 MiB"}, {8, ""}}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		rec := recs[i]
		if rec.Number != i+1 || rec.Line != w.line || !strings.Contains(rec.Problem, w.problem) || (w.problem == "") != (rec.Problem == "") {
			t.Errorf("record %d: number %d line %d problem %q; want line %d problem %q", i+1, rec.Number, rec.Line, rec.Problem, w.line, w.problem)
		}
	}
	if recs[5].Comment.Body != "last, no newline" {
		t.Errorf("last record body = %q", recs[5].Comment.Body)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	for f, file := range map[migrate.Format]string{
		migrate.NDJSON: `{"format":"parley-comments","version":2}` + "\n",
		migrate.JSON:   `{"format":"parley-comments","version":2,"comments":[]}`,
	} {
		_, err := decodeAll(f, strings.NewReader(file), migrate.DecodeOptions{})
		var fe *migrate.FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "newer Parley") {
			t.Errorf("%s: err = %v, want a FileError about a newer Parley", f, err)
		}
	}
}

func TestBrokenFilesSayWhere(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "golden", "export.json"))
	if err != nil {
		t.Fatal(err)
	}
	wxr, err := os.ReadFile(filepath.Join("testdata", "wordpress.xml"))
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.Index(wxr, []byte("<wp:comment_id>109"))
	cases := []struct {
		format  migrate.Format
		file    string
		records int
		want    string
	}{
		{migrate.JSON, string(golden[:len(golden)/2]), 3, "after comment"},
		{migrate.JSON, `{"format":"parley-comments","version":1}`, 0, `no "comments" array`},
		{migrate.JSON, `<html>`, 0, "line 1: this is not a Parley json export: it starts with '<'"},
		{migrate.JSON, `"just a string"`, 0, "this is not a Parley json export"},
		{migrate.WXR, string(wxr[:cut]) + "</wp:comment></channel></rss>", 8, "line 185: the XML is broken: element <item> closed by </channel>"},
		{migrate.WXR, `<html><body>hi</body></html>`, 0, "not a WordPress export"},
		{migrate.Disqus, `<rss version="2.0"><channel></channel></rss>`, 0, "not a Disqus export"},
		{migrate.WXR, `<?xml version="1.0" encoding="ISO-8859-1"?><rss></rss>`, 0, "the file is in ISO-8859-1, not UTF-8: convert it first, e.g. iconv -f ISO-8859-1 -t UTF-8"},
	}
	for _, c := range cases {
		recs, err := decodeAll(c.format, strings.NewReader(c.file), migrate.DecodeOptions{})
		var fe *migrate.FileError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %.30q: err = %v, want a FileError mentioning %q", c.format, c.file, err, c.want)
		}
		if len(recs) != c.records {
			t.Errorf("%s %.30q: %d records before the error, want %d", c.format, c.file, len(recs), c.records)
		}
	}
}

// TestWordPressFixture reads a WordPress export as WordPress 6 writes it.
func TestWordPressFixture(t *testing.T) {
	recs := readAll(t, migrate.WXR, open(t, "wordpress.xml"), migrate.DecodeOptions{})
	if len(recs) != 13 {
		t.Fatalf("%d records, want 13", len(recs))
	}
	const site, starlings = "https://fieldnotes.example.org", "/2024/02/starlings-over-the-marsh/"
	utc := func(s string) time.Time { t, _ := time.Parse(time.DateTime, s); return t }
	first := recs[0].Foreign
	want := &moderation.Foreign{Source: "wxr", Site: site, ID: "101", Post: starlings, Author: "Zoë Ångström",
		Email: "zoe@example.se", Website: "https://zoe.example.se", IP: "192.0.2.14",
		HTML:   "What a sight! We saw the same murmuration from the bridge.\n\nIt went on for twenty minutes,\nthen they all dropped into the reeds at once. 🐦",
		Status: moderation.StatusApproved, Created: utc("2024-02-10 19:05:12")}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("first comment:\n got %+v\nwant %+v", first, want)
	}
	checks := []struct {
		n        int
		parent   string
		status   moderation.Status
		created  string
		problem  string
		post     string
		fromLine bool
	}{
		{2, "101", moderation.StatusApproved, "2024-02-10 20:11:40", "", starlings, true},
		{3, "102", moderation.StatusApproved, "2024-02-10 16:20:00", "", starlings, true},
		{4, "", moderation.StatusSpam, "2024-02-12 03:14:15", "", starlings, true},
		{5, "", moderation.StatusPending, "2024-02-12 09:00:00", "", starlings, true},
		{6, "", moderation.StatusRejected, "2024-02-13 22:45:00", "", starlings, true},
		{7, "", "", "", "is a pingback, not a comment", "", true},
		{8, "110", moderation.StatusApproved, "2024-02-15 10:00:00", "", starlings, true},
		{10, "99", moderation.StatusApproved, "2024-02-16 10:00:00", "", starlings, true},
		{11, "", moderation.StatusApproved, "2010-05-04 12:00:00", "", "/2024/03/sourdough-week-three/", true},
	}
	for _, c := range checks {
		rec := recs[c.n-1]
		f := rec.Foreign
		if rec.Number != c.n || rec.Line <= recs[c.n-2].Line || !strings.Contains(rec.Problem, c.problem) {
			t.Errorf("record %d: number %d, line %d (previous %d), problem %q", c.n, rec.Number, rec.Line, recs[c.n-2].Line, rec.Problem)
		}
		if c.problem != "" {
			continue
		}
		if f.ParentID != c.parent || f.Status != c.status || !f.Created.Equal(utc(c.created)) || f.Post != c.post {
			t.Errorf("record %d: parent %q status %q created %v post %q; want %q %q %s %q", c.n, f.ParentID, f.Status, f.Created, f.Post, c.parent, c.status, c.created, c.post)
		}
	}
	if note := recs[5].Foreign.Note; note != "was in WordPress's trash" {
		t.Errorf("trashed note = %q", note)
	}
	for mode, want := range map[migrate.PostKey]string{migrate.PostKeyID: "42", migrate.PostKeyURL: site + starlings} {
		recs := readAll(t, migrate.WXR, open(t, "wordpress.xml"), migrate.DecodeOptions{PostKey: mode})
		if got := recs[0].Foreign.Post; got != want {
			t.Errorf("post key %s = %q, want %q", mode, got, want)
		}
	}
}

// TestDisqusFixture reads a Disqus export as its documentation shows it.
func TestDisqusFixture(t *testing.T) {
	recs := readAll(t, migrate.Disqus, open(t, "disqus.xml"), migrate.DecodeOptions{})
	if len(recs) != 8 {
		t.Fatalf("%d records, want 8", len(recs))
	}
	first := recs[0].Foreign
	want := &moderation.Foreign{Source: "disqus", Site: "tinkerlog", ID: "4100000001", Post: "/2019/11/soldering-for-beginners/",
		Author: "Amélie Dubois", HTML: "<p>Great guide! One question: lead-free or leaded solder for a first kit?</p>",
		Status: moderation.StatusApproved, Created: time.Date(2019, 11, 2, 12, 14, 3, 0, time.UTC)}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("first post:\n got %+v\nwant %+v", first, want)
	}
	checks := []struct {
		n       int
		parent  string
		status  moderation.Status
		problem string
		post    string
	}{
		{2, "4100000001", moderation.StatusApproved, "", "/2019/11/soldering-for-beginners/"},
		{3, "", moderation.StatusDeleted, "", "/2019/11/soldering-for-beginners/"},
		{4, "4100000003", moderation.StatusApproved, "", "/2019/11/soldering-for-beginners/"},
		{5, "", moderation.StatusSpam, "", "/2019/11/soldering-for-beginners/"},
		{6, "", moderation.StatusApproved, "", "/2020/01/why-i-left-the-cloud/"},
		{7, "", moderation.StatusApproved, `its thread "9999999" is not in the file`, ""},
		{8, "", moderation.StatusApproved, `createdAt: "yesterday" is not a date`, ""},
	}
	for _, c := range checks {
		rec := recs[c.n-1]
		f := rec.Foreign
		if rec.Number != c.n || rec.Line <= recs[c.n-2].Line || rec.Problem != c.problem || f.ParentID != c.parent || f.Status != c.status || f.Post != c.post {
			t.Errorf("record %d: number %d line %d problem %q parent %q status %q post %q", c.n, rec.Number, rec.Line, rec.Problem, f.ParentID, f.Status, f.Post)
		}
	}
	if a := recs[3].Foreign; a.Author != "Guest Reader" || a.Email != "guest.reader@example.org" || a.IP != "203.0.113.5" {
		t.Errorf("anonymous post: %+v", a)
	}
	recs = readAll(t, migrate.Disqus, open(t, "disqus.xml"), migrate.DecodeOptions{PostKey: migrate.PostKeyID})
	if got := recs[0].Foreign.Post; got != "post-31 https://tinkerlog.example.net/?p=31" {
		t.Errorf("post key id = %q", got)
	}
	if got := recs[5].Foreign.Post; got != "/2020/01/why-i-left-the-cloud/" {
		t.Errorf("post key id without an identifier = %q, want the path", got)
	}
}

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		"=SUM(A1)": "'=SUM(A1)", "+1": "'+1", "-2": "'-2", "@cmd": "'@cmd", "\tx": "'\tx", "\rx": "'\rx",
		"": "", "plain": "plain", " =spaced": " =spaced", "a=b": "a=b", "'quoted": "'quoted",
	} {
		if got := migrate.Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzDecoders feeds arbitrary bytes to every decoder: each must end with
// records, io.EOF or an error, never a panic or a loop.
func FuzzDecoders(f *testing.F) {
	for _, name := range []string{"wordpress.xml", "disqus.xml", "golden/export.ndjson", "golden/export.json", "golden/export.wxr",
		"remark42/disqus2.xml", "wordpress-bom-crlf.xml", "disqus-bom-crlf.xml", "parley-bom-crlf.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"format":"parley-comments","version":1}` + "\n{}\n[]\n\"x\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, format := range migrate.ImportFormats {
			dec, err := migrate.NewDecoder(format, bytes.NewReader(b), migrate.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; ; i++ {
				if i > len(b)+2 {
					t.Fatalf("%s: more records than bytes", format)
				}
				if _, err := dec.Next(); err != nil {
					break
				}
			}
		}
	})
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
