package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"parley/storage/bolt"
	"parley/storage/testdb"
)

func transferFixture(t *testing.T, name string) string {
	return filepath.Join("..", "migrate", "testdata", name)
}

// exportTimes blanks the export time, which the command takes from the clock.
var exportTimes = regexp.MustCompile(`"exported":"[^"]*"|<pubDate>[^<]*</pubDate>`)

// TestCLIExportImportRoundTrip imports the golden ndjson with parley
// import, exports every format with parley export (to standard output and
// to a file) and compares with the golden files.
func TestCLIExportImportRoundTrip(t *testing.T) {
	db := testdb.Data(t)
	code, out, errOut := cli(t, "", "import", "--data", db, "--format", "ndjson", transferFixture(t, "golden/export.ndjson"))
	if code != 0 || !strings.Contains(out, "8 created, 0 skipped (already there), 0 invalid") {
		t.Fatalf("import: %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "import took") || strings.Contains(errOut, "\r") {
		t.Errorf("progress off a terminal must be plain lines: %q", errOut)
	}
	for _, f := range []string{"ndjson", "json", "csv", "wxr"} {
		code, out, errOut := cli(t, "", "export", "--format", f, "--site", "https://blog.example.com", "--data", db)
		want, err := os.ReadFile(transferFixture(t, "golden/export."+f))
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 || exportTimes.ReplaceAllString(out, "") != exportTimes.ReplaceAllString(string(want), "") {
			t.Errorf("export %s: %d %s\n--- got\n%s\n--- want\n%s", f, code, errOut, out, want)
		}
	}
	file := filepath.Join(t.TempDir(), "approved.csv")
	if code, _, errOut := cli(t, "", "export", "--data", db, "--format=csv", "--status", "approved", "--output", file); code != 0 {
		t.Fatalf("export to a file: %d %s", code, errOut)
	}
	if b, _ := os.ReadFile(file); bytes.Count(b, []byte("\n01JCZ")) != 4 {
		t.Errorf("approved CSV:\n%s", b)
	}
	code, out, _ = cli(t, "", "import", "--data", db, "--format", "ndjson", transferFixture(t, "golden/export.ndjson"))
	if code != 0 || !strings.Contains(out, "0 created, 8 skipped (already there), 0 invalid") {
		t.Errorf("second import: %d %s", code, out)
	}
}

// TestCLIImportsWordPressAndDisqus imports the fixtures, one from standard
// input, and lists every invalid record with its line and reason.
func TestCLIImportsWordPressAndDisqus(t *testing.T) {
	db := testdb.Data(t)
	code, out, errOut := cli(t, "", "import", transferFixture(t, "wordpress.xml"), "--format", "wxr", "--data", db)
	want := []string{
		"10 created, 0 skipped (already there), 3 invalid",
		"record 7 (line 170), id 107: is a pingback, not a comment: only comments are imported",
		"record 10 (line 212), id 111: its parent is neither earlier in the file nor already stored\n  record 13 (line 282), id 122: body is required",
	}
	for _, w := range want {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("wxr import: %d, want %q in\n%s%s", code, w, out, errOut)
		}
	}
	disqus, err := os.ReadFile(transferFixture(t, "disqus.xml"))
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ = cli(t, string(disqus), "import", "--format", "disqus", "--data", db, "-")
	if code != 0 || !strings.Contains(out, "imported - (disqus): 6 created, 0 skipped (already there), 2 invalid") {
		t.Errorf("disqus import from standard input: %d %s", code, out)
	}
	code, out, _ = cli(t, "", "export", "--data", db, "--status", "deleted")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"status":"deleted"`) {
		t.Errorf("one tombstone expected: %d %s", code, out)
	}
	code, out, errOut = cli(t, "", "import", "--format", "disqus", "--data", db, transferFixture(t, "wordpress.xml"))
	if code != 1 || !strings.Contains(errOut, "not a Disqus export") {
		t.Errorf("wrong format: %d %s %s", code, out, errOut)
	}
}

// TestCLIBackupRestores backs up with parley backup and serves the copy.
func TestCLIBackupRestores(t *testing.T) {
	dir := t.TempDir()
	db, backup := filepath.Join(dir, "parley.db"), filepath.Join(dir, "backups", "parley-2026-11-28.db")
	if code, _, errOut := cli(t, "", "import", "--data", db, "--format", "json", transferFixture(t, "golden/export.json")); code != 0 {
		t.Fatal(errOut)
	}
	if err := os.Mkdir(filepath.Dir(backup), 0o700); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := cli(t, "", "backup", backup, "--data", db)
	if code != 0 || !strings.Contains(errOut, "backed up") {
		t.Fatalf("backup: %d %s", code, errOut)
	}
	entries, _ := os.ReadDir(filepath.Dir(backup))
	if len(entries) != 1 {
		t.Errorf("the backup directory should hold the backup only (no temporary file): %v", entries)
	}
	_, live, _ := cli(t, "", "export", "--data", db)
	_, restored, _ := cli(t, "", "export", "--data", backup)
	if exportTimes.ReplaceAllString(live, "") != exportTimes.ReplaceAllString(restored, "") || strings.Count(restored, "\n") != 9 {
		t.Errorf("the restored database differs:\n%s\n%s", restored, live)
	}
	if code, _, errOut := cli(t, "", "backup", db, "--data", db); code != 2 || !strings.Contains(errOut, "is the database itself") {
		t.Errorf("backup onto the database: %d %s", code, errOut)
	}
}

// TestCLICommandsRefuseAHeldDatabase: while a server holds the database,
// export, import and backup say so and fail instead of hanging.
func TestCLICommandsRefuseAHeldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	held, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	var wg sync.WaitGroup
	for _, args := range [][]string{
		{"export", "--data", path},
		{"import", "--format", "ndjson", "--data", path, transferFixture(t, "golden/export.ndjson")},
		{"backup", "--data", path, filepath.Join(t.TempDir(), "copy.db")},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, errOut := cli(t, "", args...)
			if code != 1 || !strings.Contains(errOut, "in use by another process (is parley serve running?)") {
				t.Errorf("%s: exit %d, %q", args[0], code, errOut)
			}
		}()
	}
	wg.Wait()
}

func TestCLITransferUsage(t *testing.T) {
	for _, args := range [][]string{
		{"import", "--format", "ndjson"},
		{"import", "--format", "csv", "x"},
		{"import", "--format", "wxr", "--post-key", "title", "x"},
		{"export", "--format", "xml"},
		{"export", "--since", "last week"},
		{"backup"},
		{"backup", "a", "b"},
	} {
		if code, _, errOut := cli(t, "", args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d %q, want 2 and a message", args, code, errOut)
		}
	}
}

// TestCLIImportsWXR12HTTPSAndRefusesFilesWithoutComments: the WXR 1.2
// https fixture imports in full; a file with no comment exits non-zero
// with the reason, and writes nothing.
func TestCLIImportsWXR12HTTPSAndRefusesFilesWithoutComments(t *testing.T) {
	db := testdb.Data(t)
	code, out, errOut := cli(t, "", "import", "--data", db, "--format", "wxr", transferFixture(t, "wordpress-6.7-https.xml"))
	if code != 0 || !strings.Contains(out, "14 created, 0 skipped (already there), 3 invalid") ||
		!strings.Contains(out, "record 13 (line 225), id 303: is a trackback, not a comment") {
		t.Errorf("wxr 1.2 https: %d\n%s%s", code, out, errOut)
	}
	posts := `<rss xmlns:wp="https://wordpress.org/export/1.2/"><channel><item><title>Hello</title></item></channel></rss>`
	empty := testdb.Data(t)
	code, out, errOut = cli(t, posts, "import", "--data", empty, "--format", "wxr", "-")
	if code != 1 || !strings.Contains(errOut, "the file holds no comments: none of its 1 posts has a <wp:comment>") {
		t.Errorf("no comments: %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := cli(t, "", "export", "--data", empty); code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("something was written: %d %s", code, out)
	}
}

// TestCLIImportGoesOnPastBadRecords imports Remark42's Disqus fixture, whose
// last post is broken, and a file cut short: the bad record is listed and
// the import succeeds; the cut file keeps what came before and says how to
// get further.
func TestCLIImportGoesOnPastBadRecords(t *testing.T) {
	db := testdb.Data(t)
	code, out, errOut := cli(t, "", "import", "--data", db, "--format", "disqus", transferFixture(t, "remark42/disqus2.xml"))
	if code != 0 || !strings.Contains(out, "5 created, 0 skipped (already there), 1 invalid") ||
		!strings.Contains(out, `record 6 (line 135), id x299986073: isSpam: "123" is not true or false`) {
		t.Errorf("remark42 disqus2.xml: %d\n%s%s", code, out, errOut)
	}
	file, err := os.ReadFile(transferFixture(t, "wordpress-6.7-https.xml"))
	if err != nil {
		t.Fatal(err)
	}
	cut := string(file[:bytes.Index(file, []byte("<wp:comment_id>203"))])
	code, out, errOut = cli(t, cut, "import", "--data", testdb.Data(t), "--format", "wxr", "-")
	if code != 1 || !strings.Contains(out, "2 created") ||
		!strings.Contains(errOut, "the file ends in the middle of the document, after comment 2. 2 comments before that point were imported. It was cut short (an interrupted download or upload?): import the complete file") {
		t.Errorf("cut short: %d\n%s%s", code, out, errOut)
	}
}
