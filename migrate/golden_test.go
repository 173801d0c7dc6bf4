package migrate_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"parley/migrate"
	"parley/moderation"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// Exported is the export time written in the golden files' headers.
var Exported = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// fixtureComments are fixed comments that cover every field and status,
// threads (a tombstone with a reply included), unicode, and cells a
// spreadsheet would run as formulas. Their HTML is what the renderer makes.
func fixtureComments(t testing.TB) []*moderation.Comment {
	t.Helper()
	r := moderation.NewRenderer()
	at := func(min int) time.Time { return time.Date(2026, 11, 1, 9, min, 0, 0, time.UTC) }
	made := func(id, post, parent string, depth int, author, email, website, body string, status moderation.Status, min int, history ...moderation.Change) *moderation.Comment {
		html := ""
		if body != "" {
			var err error
			if html, err = r.Render(body); err != nil {
				t.Fatal(err)
			}
		}
		c := &moderation.Comment{ID: id, Site: moderation.DefaultSite, Post: post, Parent: parent, Depth: depth, Author: author, Email: email,
			Website: website, Body: body, HTML: html, Status: status, Created: at(min), Updated: at(min),
			History: append([]moderation.Change{{Status: moderation.StatusPending, At: at(min), By: "system"}}, history...)}
		if len(history) > 0 {
			c.Updated = history[len(history)-1].At
		}
		if status != moderation.StatusDeleted {
			c.IPHash, c.UserAgent = "5f1c0e2a9b3d4c6e7f80a1b2", "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0"
		}
		return c
	}
	moved := func(s moderation.Status, min int, by, reason string) moderation.Change {
		return moderation.Change{Status: s, At: at(min), By: by, Reason: reason}
	}
	hello, about := "/2026/11/hello-world/", "/about/"
	c1 := made("01JCZ0AAAAAAAAAAAAAAAAAAA1", hello, "", 0, "Ada Lovelace", "ada@example.com", "https://ada.example.com",
		"First! Looking forward to **more** posts.\n\nSee https://example.com/docs and [the notes](https://example.com/notes \"Notes\").",
		moderation.StatusApproved, 1, moved(moderation.StatusApproved, 5, "alice", ""))
	c1.NotifyReplies = true
	c2 := made("01JCZ0AAAAAAAAAAAAAAAAAAA2", hello, c1.ID, 1, "Zoë 山田 🐦", "zoe@example.jp", "",
		"> First!\n\nWelcome, `Ada` — 1 < 2 && 3 > 2, \"quoted\" and 'single'.\nA second line, *emphasis* and ~~gone~~.",
		moderation.StatusApproved, 2, moved(moderation.StatusApproved, 6, "alice", ""))
	c3 := made("01JCZ0AAAAAAAAAAAAAAAAAAA3", hello, c2.ID, 2, `=HYPERLINK("http://evil.example","click")`, "eve@example.com", "",
		"+1 to that\n\n- item one\n- item two", moderation.StatusPending, 3)
	c4 := made("01JCZ0AAAAAAAAAAAAAAAAAAA4", hello, "", 0, "@spammer", "spam@example.biz", "http://spam.example.biz/?a=1&b=2",
		"-50% off <script>alert(1)</script> ]]> <![CDATA[ x", moderation.StatusSpam, 4, moved(moderation.StatusSpam, 4, "system", "honeypot field was filled"))
	c5 := made("01JCZ0AAAAAAAAAAAAAAAAAAA5", about, "", 0, "-Minus", "minus@example.com", "", "=1+2 rude words, and a =formula.",
		moderation.StatusRejected, 7, moved(moderation.StatusRejected, 9, "token:ci", ""))
	c6 := made("01JCZ0AAAAAAAAAAAAAAAAAAA6", about, "", 0, "", "", "", "", moderation.StatusDeleted, 8,
		moved(moderation.StatusApproved, 8, "alice", ""), moved(moderation.StatusDeleted, 10, "bob", ""))
	c7 := made("01JCZ0AAAAAAAAAAAAAAAAAAA7", about, c6.ID, 1, "Field Notes", "owner@example.com", "https://blog.example.com",
		"Thanks, everyone.", moderation.StatusApproved, 9, moved(moderation.StatusApproved, 9, "owner", "posted as the site"))
	c7.BySite = true
	c8 := made("01JCZ0AAAAAAAAAAAAAAAAAAA8", hello, "", 0, "Grace", "grace@example.com", "",
		"Steps:\n\n1. one\n2. two\n\n```\ncode <b>bold</b>\n```", moderation.StatusApproved, 11, moved(moderation.StatusApproved, 12, "alice", ""))
	c8.NotifyPublished = true
	return []*moderation.Comment{c1, c2, c3, c4, c5, c6, c7, c8}
}

// byPost orders comments as storage does for formats that group by post:
// posts by their first comment, comments by ID within a post.
func byPost(cs []*moderation.Comment) []*moderation.Comment {
	var posts []string
	groups := map[string][]*moderation.Comment{}
	for _, c := range cs {
		if _, ok := groups[c.Post]; !ok {
			posts = append(posts, c.Post)
		}
		groups[c.Post] = append(groups[c.Post], c)
	}
	var out []*moderation.Comment
	for _, p := range posts {
		out = append(out, groups[p]...)
	}
	return out
}

// TestGolden pins every export format byte for byte. Run with -update to
// rewrite testdata/golden after a deliberate change, and read the diff.
func TestGolden(t *testing.T) {
	for _, f := range migrate.ExportFormats {
		t.Run(string(f), func(t *testing.T) {
			cs := fixtureComments(t)
			if f.GroupsByPost() {
				cs = byPost(cs)
			}
			var buf bytes.Buffer
			enc, err := migrate.NewEncoder(f, &buf, migrate.EncodeOptions{Exported: Exported, SiteURL: "https://blog.example.com"})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if err := enc.Encode(c); err != nil {
					t.Fatal(err)
				}
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", "golden", "export."+string(f)), buf.Bytes())
		})
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./migrate -run TestGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
