package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"parley/moderation"
	"parley/storage"
)

// copyCommand: parley copy --from SRC --to DST copies every record of one
// database into another, of either backend: a bbolt file or a postgres://
// URL. SRC may also be a dump file (PostgreSQL's backup). Records replace
// what DST holds under the same key and nothing else is touched, so copying
// again changes nothing. Neither database may be in use by parley serve
// when it is a bbolt file (the file is locked).
func copyCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the database to copy: a bbolt file, a postgres:// URL or a dump file written by parley backup on PostgreSQL")
	to := fs.String("to", "", "the database to copy into: a bbolt file (created if missing) or a postgres:// URL")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return usageError{errors.New("both --from and --to are required, e.g. parley copy --from ./parley.db --to postgres://parley@db/parley")}
	}
	if sameDatabase(*from, *to) {
		return usageError{fmt.Errorf("--from and --to name the same database (%s): name another destination", storage.Redacted(*to))}
	}
	dump, closeSrc, err := openSource(ctx, *from)
	if err != nil {
		return err
	}
	defer closeSrc()
	dst, err := storage.Open(ctx, *to)
	if err != nil {
		return fmt.Errorf("open --to: %w", err)
	}
	defer dst.Close()
	if held := holdings(ctx, dst); held != "" {
		fmt.Fprintf(stderr, "note: %s already holds %s: what %s holds replaces it key by key, and the rest stays\n", storage.Redacted(*to), held, storage.Redacted(*from))
	}
	p := newCopyProgress(stderr)
	n, err := moderation.Copy(ctx, dst, dump, p.update)
	p.finish()
	if err != nil {
		return fmt.Errorf("the copy stopped after %d records (copying again finishes it): %w", n.Records, err)
	}
	fmt.Fprintf(stdout, "copied %s to %s: %s\n", storage.Redacted(*from), storage.Redacted(*to), describeCount(n))
	return nil
}

// openSource opens what --from names and returns its records' walk.
func openSource(ctx context.Context, from string) (func(context.Context, func(*moderation.Record) error) error, func(), error) {
	if !storage.IsURL(from) {
		f, err := os.Open(from)
		if err != nil {
			// Never create the source: a typo must not copy an empty database.
			return nil, nil, fmt.Errorf("open --from: %w", err)
		}
		head, _ := bufio.NewReader(f).Peek(1)
		if len(head) == 1 && head[0] == '{' {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				_ = f.Close()
				return nil, nil, err
			}
			walk := func(ctx context.Context, fn func(*moderation.Record) error) error {
				return moderation.ReadDump(ctx, bufio.NewReaderSize(f, 1<<20), fn)
			}
			return walk, func() { _ = f.Close() }, nil
		}
		_ = f.Close()
	}
	src, err := storage.Open(ctx, from)
	if err != nil {
		return nil, nil, fmt.Errorf("open --from: %w", err)
	}
	return src.Dump, func() { _ = src.Close() }, nil
}

// holdings says what a destination holds already, "" when it is as new.
func holdings(ctx context.Context, db moderation.Store) string {
	var parts []string
	comments := 0
	sites, _ := db.Sites(ctx)
	for _, s := range sites {
		counts, _ := db.StatusCounts(ctx, s.ID)
		for _, n := range counts {
			comments += n
		}
	}
	if comments > 0 {
		parts = append(parts, fmt.Sprintf("%d comments", comments))
	}
	if mods, _ := db.Moderators(ctx); len(mods) > 0 {
		parts = append(parts, fmt.Sprintf("%d moderators", len(mods)))
	}
	return strings.Join(parts, " and ")
}

// describeCount says how many records of the main kinds a copy wrote.
func describeCount(n moderation.CopyCount) string {
	s := fmt.Sprintf("%d records", n.Records)
	var parts []string
	for _, k := range []moderation.RecordKind{moderation.KindSite, moderation.KindComment, moderation.KindAudit, moderation.KindModerator} {
		parts = append(parts, fmt.Sprintf("%d %s", n.Kinds[k], k))
	}
	return s + " (" + strings.Join(parts, ", ") + ")"
}

// sameDatabase reports whether two --data values name one database: the
// same file (however it is written), or the same host, port and database.
func sameDatabase(a, b string) bool {
	if storage.IsURL(a) != storage.IsURL(b) {
		return false
	}
	if !storage.IsURL(a) {
		if same, err := samePath(a, b); err == nil {
			return same
		}
		x, err1 := filepath.Abs(a)
		y, err2 := filepath.Abs(b)
		return err1 == nil && err2 == nil && x == y
	}
	return pgTarget(a) == pgTarget(b)
}

// pgTarget reduces a PostgreSQL URL to the server and database it reaches.
func pgTarget(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	host := u.Query().Get("host") // a Unix socket's directory
	if host == "" {
		host = u.Hostname()
	}
	port := u.Port()
	if port == "" {
		port = u.Query().Get("port")
	}
	if port == "" {
		port = "5432"
	}
	if host == "" {
		host = "localhost"
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		db = u.Query().Get("dbname")
	}
	if db == "" {
		db = u.User.Username()
	}
	return host + ":" + port + "/" + db
}

// copyProgress shows how a copy goes: a bar with the count and rate on a
// terminal (the total is not known before the end), a plain line every few
// seconds elsewhere.
type copyProgress struct {
	w       io.Writer
	bar     *progressbar.ProgressBar
	start   time.Time
	printed time.Time
	last    moderation.CopyCount
}

func newCopyProgress(stderr io.Writer) *copyProgress {
	p := &copyProgress{w: stderr, start: time.Now()}
	p.printed = p.start
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("records"),
			progressbar.OptionSetDescription("copying"),
			progressbar.OptionClearOnFinish())
	}
	return p
}

func (p *copyProgress) rate(n moderation.CopyCount) string {
	return fmt.Sprintf("%d records, %d comments (%.0f records/s)", n.Records, n.Kinds[moderation.KindComment],
		float64(n.Records)/max(time.Since(p.start).Seconds(), 0.001))
}

func (p *copyProgress) update(n moderation.CopyCount) {
	p.last = n
	if p.bar != nil {
		_ = p.bar.Set(n.Records)
		return
	}
	if now := time.Now(); now.Sub(p.printed) >= plainEvery {
		p.printed = now
		fmt.Fprintf(p.w, "copying: %s\n", p.rate(n))
	}
}

func (p *copyProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
	fmt.Fprintf(p.w, "copy took %s: %s\n", time.Since(p.start).Round(time.Millisecond), p.rate(p.last))
}
