package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/storage/testdb"
)

// TestSiteCommands: add, list, edit and remove sites; import, export,
// blocklist and forget on one site; a site that holds comments is kept
// unless --delete-comments.
func TestSiteCommands(t *testing.T) {
	data := testdb.Data(t)
	run := func(want int, args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, "", append(args, "--data", data)...)
		if code != want {
			t.Fatalf("parley %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out + errOut
	}
	run(0, "site", "add", "field-notes", "--name", "Field Notes", "--origins", "https://notes.example,https://www.notes.example")
	if out := run(1, "site", "add", "other", "--origins", "https://notes.example"); !strings.Contains(out, "belongs to another site") &&
		!strings.Contains(out, "already belongs") {
		t.Errorf("a taken origin: %s", out)
	}
	run(2, "site", "add", "bad", "--settings", `{"nope":1}`)
	if out := run(1, "site", "add", "Bad Id"); !strings.Contains(out, "id") {
		t.Errorf("a bad id: %s", out)
	}
	run(0, "site", "edit", "field-notes", "--settings", `{"max_links":0,"theme":"dark"}`)
	out := run(0, "site", "list")
	if !strings.Contains(out, "field-notes") || !strings.Contains(out, "Field Notes") || !strings.Contains(out, "https://www.notes.example") ||
		!strings.Contains(out, `"theme":"dark"`) || !strings.Contains(out, "default") {
		t.Errorf("site list:\n%s", out)
	}
	run(1, "site", "edit", "nosuch", "--name", "x")

	file := filepath.Join(t.TempDir(), "in.ndjson")
	record := `{"id":"01JCZ0AAAAAAAAAAAAAAAAAAA1","post":"/hello","author":"Ada","email":"ada@example.com","body":"hi","html":"<p>hi</p>","status":"approved","site":true,"created":"2026-11-01T09:00:00Z","updated":"2026-11-01T09:00:00Z","history":[]}`
	if err := os.WriteFile(file, []byte(record+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := run(0, "import", "--format", "ndjson", "--site", "field-notes", file); !strings.Contains(out, "1 created") {
		t.Errorf("import: %s", out)
	}
	if out := run(0, "export", "--site", "field-notes"); !strings.Contains(out, `"site":"field-notes"`) || !strings.Contains(out, `"by_site":true`) {
		t.Errorf("export of field-notes: %s", out)
	}
	if out := run(0, "export"); strings.Contains(out, "01JCZ0AAAAAAAAAAAAAAAAAAA1") {
		t.Errorf("the default site's export holds field-notes' comment: %s", out)
	}
	run(1, "export", "--site", "nosuch")
	run(0, "blocklist", "add", "--site", "field-notes", "words", "casino")
	if out := run(0, "blocklist", "list", "--site", "field-notes"); !strings.Contains(out, "casino") {
		t.Errorf("field-notes' blocklist: %s", out)
	}
	if out := run(0, "blocklist", "list"); strings.Contains(out, "casino") {
		t.Errorf("the default site's blocklist: %s", out)
	}
	if out := run(1, "site", "remove", "field-notes"); !strings.Contains(out, "--delete-comments") {
		t.Errorf("removing a site with comments: %s", out)
	}
	if out := run(0, "forget", "--site", "field-notes", "ada@example.com"); !strings.Contains(out, "1") {
		t.Errorf("forget: %s", out)
	}
	run(0, "site", "remove", "field-notes")
	run(1, "site", "remove", "default")
	if out := run(0, "token", "create", "--name", "ci", "--role", "admin", "--site", "default"); !strings.HasPrefix(out, "parley_") {
		t.Errorf("a site admin's token: %s", out)
	}
	run(1, "token", "create", "--name", "ci", "--role", "owner", "--site", "default")
}
