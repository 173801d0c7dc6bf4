package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"parley/migrate"
	"parley/moderation"
	"parley/storage"
)

// exportCommand: parley export [--format F] [--status S] [--post KEY]
// [--since T] [--site ID] [--site-url URL] [--output FILE], to standard
// output by default.
func exportCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("export", &cfg)
	fs.SetOutput(stderr)
	format := fs.String("format", "ndjson", "ndjson, json, csv or wxr")
	status := fs.String("status", "", "only comments of this status: pending, approved, rejected, spam or deleted")
	post := fs.String("post", "", "only comments of this post key")
	since := fs.String("since", "", "only comments created or changed since this date (2026-11-28) or time (RFC 3339)")
	site := fs.String("site", moderation.DefaultSite, "the site whose comments to export")
	siteURL := fs.String("site-url", "", "the blog's address, to make WXR links absolute (default: the site's first origin)")
	output := fs.String("output", "", "write to this file (atomically) instead of standard output")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	f, err := migrate.ParseExport(*format)
	if err != nil {
		return usageError{err}
	}
	if strings.Contains(*site, "://") { // --site named the address before sites existed
		*siteURL, *site = *site, moderation.DefaultSite
	}
	q := moderation.ExportQuery{Site: *site, Status: moderation.Status(*status), Post: *post, ByPost: f.GroupsByPost()}
	if *since != "" {
		if q.Since, err = migrate.ParseSince(*since); err != nil {
			return usageError{err}
		}
	}
	db, svc, err := openService(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	walk, err := svc.Export(ctx, cliActor(), q)
	if err != nil {
		return siteError(err, *site)
	}
	if origins, _ := svc.SiteOrigins(ctx, *site); *siteURL == "" && len(origins) > 0 {
		*siteURL = origins[0]
	}
	write := func(w io.Writer) error {
		return migrate.Export(w, f, migrate.EncodeOptions{Exported: svc.Now(), SiteURL: *siteURL}, walk)
	}
	if *output == "" || *output == "-" {
		return write(stdout)
	}
	return writeFileAtomically(*output, write)
}

// importCommand: parley import --format F [--post-key path|url|id] FILE,
// with FILE "-" for standard input. A progress bar shows on a terminal,
// plain progress lines elsewhere; the counts and every problem end on
// standard output.
func importCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("import", &cfg)
	fs.SetOutput(stderr)
	format := fs.String("format", "", "ndjson, json, wxr (WordPress) or disqus (required)")
	postKey := fs.String("post-key", "path", "what names a post for WXR and Disqus: path, url or id of the page")
	site := fs.String("site", moderation.DefaultSite, "the site to import the comments into")
	files, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	f, err := migrate.ParseImport(*format)
	if err != nil {
		return usageError{err}
	}
	mode, err := migrate.ParsePostKey(*postKey)
	if err != nil {
		return usageError{err}
	}
	in, size, err := openInput(files[0], stdin)
	if err != nil {
		return err
	}
	defer in.Close()
	db, svc, err := openService(ctx, &cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	counted := &countingReader{r: in}
	dec, err := migrate.NewDecoder(f, counted, migrate.DecodeOptions{PostKey: mode})
	if err != nil {
		return err
	}
	progress := newProgress(stderr, size, counted)
	res, err := svc.Import(ctx, cliActor(), *site, string(f), dec, progress.update)
	if errors.Is(err, moderation.ErrNotFound) {
		return siteError(err, *site)
	}
	progress.finish()
	fmt.Fprintf(stdout, "imported %s (%s): %d created, %d skipped (already there), %d invalid\n",
		files[0], f, res.Created, res.Skipped, res.Invalid)
	for _, p := range res.Problems {
		fmt.Fprintf(stdout, "  %s\n", describeProblem(p))
	}
	if n := res.Invalid - len(res.Problems); n > 0 {
		fmt.Fprintf(stdout, "  … and %d more invalid records\n", n)
	}
	var fe *migrate.FileError
	switch {
	case errors.As(err, &fe):
		return fmt.Errorf("the import stopped: %w. %d comments before that point were imported. %s", err, res.Created, fe.Advice())
	case err != nil && res.Created > 0:
		return fmt.Errorf("%w (the comments before that point were imported; importing the whole file again skips them)", err)
	}
	return err
}

func describeProblem(p moderation.RecordProblem) string {
	where := fmt.Sprintf("record %d", p.Record)
	if p.Line > 0 {
		where += fmt.Sprintf(" (line %d)", p.Line)
	}
	if p.ID != "" {
		where += fmt.Sprintf(", id %s", p.ID)
	}
	return where + ": " + p.Reason
}

// backupCommand: parley backup FILE writes a consistent copy of the
// database, atomically; FILE "-" writes to standard output. A running server
// holds the database: back it up with GET /api/admin/backup instead.
func backupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("backup", &cfg)
	fs.SetOutput(stderr)
	files, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	target := files[0]
	if same, _ := samePath(target, cfg.data); same {
		return usageError{fmt.Errorf("%s is the database itself: name another file", target)}
	}
	db, svc, err := openService(ctx, &cfg)
	if err != nil {
		return fmt.Errorf("%w\n(while parley serve runs, download a backup from GET /api/admin/backup with an owner's token)", err)
	}
	defer db.Close()
	var n int64
	backup := func(w io.Writer) error {
		n, err = svc.Backup(ctx, cliActor(), w, nil)
		return err
	}
	if target == "-" {
		return backup(stdout)
	}
	if err := writeFileAtomically(target, backup); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "backed up %s to %s (%d bytes)\n", storage.Redacted(cfg.data), target, n)
	return nil
}

// parseArgs parses flags placed before or after the positional arguments,
// and checks there are exactly want of them.
func parseArgs(fs *flag.FlagSet, args []string, want int) ([]string, error) {
	var positional []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, usageError{err}
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != want {
		return nil, usageError{fmt.Errorf("expected %d file argument(s), got %d; see parley %s -h", want, len(positional), fs.Name())}
	}
	return positional, nil
}

// openInput opens FILE, or standard input for "-", and its size (-1 unknown).
func openInput(name string, stdin io.Reader) (io.ReadCloser, int64, error) {
	if name == "-" {
		return io.NopCloser(stdin), -1, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	size := int64(-1)
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		size = info.Size()
	}
	return f, size, nil
}

// writeFileAtomically writes through fn to a temporary file beside path and
// renames it into place once synced, so path is never a half-written file.
func writeFileAtomically(path string, fn func(w io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = fn(tmp); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		_ = dir.Sync()
		_ = dir.Close()
	}
	return nil
}

func samePath(a, b string) (bool, error) {
	ia, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(ia, ib), nil
}

// countingReader counts the bytes read, for progress.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progress shows how an import goes: a bar with counts and rate on a
// terminal, a plain line every few seconds elsewhere (logs, pipes).
type progress struct {
	w       io.Writer
	bar     *progressbar.ProgressBar
	read    *countingReader
	start   time.Time
	printed time.Time
	last    moderation.ImportResult
}

// plainEvery is how often plain progress lines are written.
const plainEvery = 2 * time.Second

func newProgress(stderr io.Writer, size int64, read *countingReader) *progress {
	p := &progress{w: stderr, read: read, start: time.Now()}
	p.printed = p.start
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionClearOnFinish())
	}
	return p
}

func (p *progress) counts(res moderation.ImportResult) string {
	records := res.Created + res.Skipped + res.Invalid
	rate := float64(records) / max(time.Since(p.start).Seconds(), 0.001)
	return fmt.Sprintf("%d created, %d skipped, %d invalid (%.0f records/s)", res.Created, res.Skipped, res.Invalid, rate)
}

func (p *progress) update(res moderation.ImportResult) {
	p.last = res
	if p.bar != nil {
		p.bar.Describe(p.counts(res))
		_ = p.bar.Set64(p.read.n.Load())
		return
	}
	if now := time.Now(); now.Sub(p.printed) >= plainEvery {
		p.printed = now
		fmt.Fprintf(p.w, "importing: %d MiB read, %s\n", p.read.n.Load()>>20, p.counts(res))
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
	fmt.Fprintf(p.w, "import took %s: %s\n", time.Since(p.start).Round(time.Millisecond), p.counts(p.last))
}

// transferCommand runs export, import or backup.
func transferCommand(ctx context.Context, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch cmd {
	case "export":
		return exportCommand(ctx, args, stdout, stderr)
	case "import":
		return importCommand(ctx, args, stdin, stdout, stderr)
	}
	return backupCommand(ctx, args, stdout, stderr)
}
