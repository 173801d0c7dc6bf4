package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/moderation"
	"parley/storage"
	"parley/storage/bolt"
	"parley/storage/pgtest"
	"parley/storage/storetest"
)

// copyFixture makes a bbolt database holding every kind of record: the
// storetest fill on two sites, and the golden export imported as a user
// does, with a moderator, a token and a blocklist added by the commands.
func copyFixture(t *testing.T) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "source.db")
	db, err := bolt.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	storetest.FillEveryKind(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"import", "--format", "ndjson", transferFixture(t, "golden/export.ndjson")}},
		{"correct horse battery\n", []string{"moderator", "add", "hopper", "--role", "moderator"}},
		{"", []string{"token", "create", "--name", "ci"}},
		{"", []string{"blocklist", "add", "words", "casino"}},
	} {
		if code, out, errOut := cli(t, c.stdin, append(c.args, "--data", data)...); code != 0 {
			t.Fatalf("parley %s: %d\n%s%s", strings.Join(c.args, " "), code, out, errOut)
		}
	}
	return data
}

// copyData runs parley copy and fails the test unless it succeeds.
func copyData(t *testing.T, from, to string) string {
	t.Helper()
	code, out, errOut := cli(t, "", "copy", "--from", from, "--to", to)
	if code != 0 || !strings.Contains(out, "copied ") || !strings.Contains(errOut, "copy took") {
		t.Fatalf("copy %s to %s: %d\n%s%s", from, to, code, out, errOut)
	}
	return out + errOut
}

// exports is what parley export writes of each site, in every format.
func exports(t *testing.T, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, site := range []string{moderation.DefaultSite, "blog"} {
		for _, f := range []string{"ndjson", "csv", "wxr"} {
			code, got, errOut := cli(t, "", "export", "--format", f, "--site", site, "--data", data)
			if code != 0 {
				t.Fatalf("export %s of %s from %s: %d %s", f, site, data, code, errOut)
			}
			out[site+" "+f] = exportTimes.ReplaceAllString(got, "")
		}
	}
	return out
}

// fullDump is every record of a database, one line each.
func fullDump(t *testing.T, data string) []string {
	t.Helper()
	db, err := storage.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	err = db.Dump(context.Background(), func(r *moderation.Record) error {
		out = append(out, string(r.Kind)+" "+r.Site+" "+r.Key+" "+string(r.Value))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameLines fails the test where two dumps or exports part.
func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("%s: record %d\n got %s\nwant %s", what, i, got[i], want[i])
			return
		}
	}
}

func sameExports(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: export %s differs\n--- got\n%s\n--- want\n%s", what, k, got[k], w)
		}
	}
}

// TestCLICopyBetweenFiles copies a bbolt database into a new file, twice,
// and finds the same exports and the same records every time. (An export
// adds its audit entry: dumps are compared before the next export.)
func TestCLICopyBetweenFiles(t *testing.T) {
	src := copyFixture(t)
	wantExports := exports(t, src)
	wantDump := fullDump(t, src)
	dst := filepath.Join(t.TempDir(), "copy.db")
	out := copyData(t, src, dst)
	if strings.Contains(out, "already holds") {
		t.Errorf("a new file was said to hold data: %s", out)
	}
	sameLines(t, "first copy", fullDump(t, dst), wantDump)
	sameExports(t, "first copy", exports(t, dst), wantExports)
	before := fullDump(t, dst)
	if out := copyData(t, src, dst); !strings.Contains(out, "already holds") {
		t.Errorf("copying into a database that holds comments says nothing of it: %s", out)
	}
	sameLines(t, "second copy", fullDump(t, dst), before)
	sameLines(t, "the source after copying", fullDump(t, src), wantDump)

	// bbolt's backup is a database file: copy reads it like any other.
	copyFromBackup(t, src, "backup.db")
}

// copyFromBackup takes a backup of data with parley backup, copies it into
// a new bbolt file and finds the database's records there.
func copyFromBackup(t *testing.T, data, name string) {
	t.Helper()
	backup := filepath.Join(t.TempDir(), name)
	if code, _, errOut := cli(t, "", "backup", "--data", data, backup); code != 0 {
		t.Fatalf("backup of %s: %d %s", data, code, errOut)
	}
	want := fullDump(t, data) // with the backup's audit entry
	restored := filepath.Join(t.TempDir(), "restored.db")
	copyData(t, backup, restored)
	sameLines(t, "copied from "+name, fullDump(t, restored), want)
}

// TestCLICopyRefuses: the same database on both sides, a missing source
// (never created) and a file in use are refused with clear messages.
func TestCLICopyRefuses(t *testing.T) {
	src := copyFixture(t)
	dir := t.TempDir()
	notDump := filepath.Join(dir, "export.ndjson") // an export is not a dump
	if err := os.WriteFile(notDump, []byte(`{"format":"parley-comments","version":1}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--from", src}, 2, "both --from and --to are required"},
		{[]string{"--from", src, "--to", src}, 2, "name the same database"},
		{[]string{"--from", src, "--to", filepath.Join(filepath.Dir(src), ".", filepath.Base(src))}, 2, "name the same database"},
		{[]string{"--from", "postgres://u:secret@db.example/parley", "--to", "postgresql://u@db.example:5432/parley"}, 2, "name the same database"},
		{[]string{"--from", filepath.Join(dir, "missing.db"), "--to", filepath.Join(dir, "new.db")}, 1, "no such file"},
		{[]string{"--from", notDump, "--to", filepath.Join(dir, "new.db")}, 1, "not a Parley dump file"},
	} {
		code, out, errOut := cli(t, "", append([]string{"copy"}, c.args...)...)
		if code != c.code || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "secret") {
			t.Errorf("copy %v: %d %q%q, want %d and %q", c.args, code, out, errOut, c.code, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("a missing source was created")
	}
	held, err := bolt.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	code, _, errOut := cli(t, "", "copy", "--from", src, "--to", filepath.Join(dir, "new.db"))
	if code != 1 || !strings.Contains(errOut, "in use by another process") {
		t.Errorf("copy from a file in use: %d %s", code, errOut)
	}
}

// TestCLICopyThroughPostgres copies bbolt to PostgreSQL and back: the
// exports and every record are the same at each step, and copying again
// changes nothing.
func TestCLICopyThroughPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	src := copyFixture(t)
	wantExports := exports(t, src)
	wantDump := fullDump(t, src)
	copyData(t, src, dsn)
	sameLines(t, "bbolt to PostgreSQL", fullDump(t, dsn), wantDump)
	sameExports(t, "bbolt to PostgreSQL", exports(t, dsn), wantExports)
	pgDump := fullDump(t, dsn)
	copyData(t, src, dsn)
	sameLines(t, "copied again to PostgreSQL", fullDump(t, dsn), pgDump)

	back := filepath.Join(t.TempDir(), "back.db")
	copyData(t, dsn, back)
	sameLines(t, "PostgreSQL to bbolt", fullDump(t, back), pgDump)
	sameExports(t, "PostgreSQL to bbolt", exports(t, back), wantExports)

	// PostgreSQL's backup is a dump file, and copy restores from one.
	copyFromBackup(t, dsn, "backup.jsonl")
}

// BenchmarkCLICopy times parley copy of 10,000 imported comments from a
// bbolt file into an empty PostgreSQL database, again (nothing changes),
// and back into a new file:
// go test ./cli -run '^$' -bench CLICopy -benchtime 1x
func BenchmarkCLICopy(b *testing.B) {
	dsn := pgtest.DSN(b)
	dir := b.TempDir()
	src, file := filepath.Join(dir, "source.db"), filepath.Join(dir, "comments.ndjson")
	var lines strings.Builder
	lines.WriteString(`{"format":"parley-comments","version":1,"exported":"2026-11-28T12:00:00Z"}` + "\n")
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10_000 {
		at := start.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
		status := [...]string{"approved", "approved", "approved", "approved", "approved", "approved", "approved", "approved", "pending", "spam"}[i%10]
		fmt.Fprintf(&lines, `{"id":"%s","post":"/posts/%d/","author":"Reader %d","email":"reader%d@example.com","body":"A comment of ordinary length, with a few words about the post and a question at the end?","status":"%s","created":"%s","updated":"%s","history":[{"status":"%s","at":"%s","by":"ada"}]}`+"\n",
			moderation.NewID(start.Add(time.Duration(i)*time.Minute)), i%1000, i, i%500, status, at, at, status, at)
	}
	if err := os.WriteFile(file, []byte(lines.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	run := func(args ...string) (int, string) {
		var out bytes.Buffer
		code := Run(context.Background(), args, strings.NewReader(""), &out, &out)
		return code, out.String()
	}
	if code, out := run("import", "--format", "ndjson", "--data", src, file); code != 0 || !strings.Contains(out, "10000 created") {
		b.Fatalf("import: %d %s", code, out)
	}
	step := func(name, from, to string) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if code, out := run("copy", "--from", from, "--to", to); code != 0 {
					b.Fatalf("copy: %d %s", code, out)
				}
			}
		})
	}
	step("bolt-to-postgres", src, dsn)
	step("bolt-to-postgres-again", src, dsn)
	step("postgres-to-bolt", dsn, filepath.Join(dir, "back.db"))
}
