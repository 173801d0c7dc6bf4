package moderation

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// TransferStore is the part of Store that export, import and backup need.
type TransferStore interface {
	// ExportComments calls fn for every comment matching q, all in one read
	// transaction, so the comments are a consistent snapshot while writers
	// carry on. Comments come in ID order, or grouped by post (in the order
	// of each post's first comment) when q.ByPost is set. An error from fn
	// stops the walk and is returned as is.
	ExportComments(ctx context.Context, q ExportQuery, fn func(*Comment) error) error

	// ExportJSON is ExportComments for formats that are the comments' JSON
	// (as json.Marshal writes a Comment): fn gets each one's JSON, valid
	// only until it returns. q.ByPost is ignored.
	ExportJSON(ctx context.Context, q ExportQuery, fn func(raw []byte) error) error

	// ImportComments stores a batch of comments on site in one transaction, setting
	// each item's Outcome. Items whose key or ID was imported or stored
	// before are duplicates, items whose parent is not stored are orphans;
	// neither is written. Only a storage failure is an error, and then
	// nothing of the batch is written.
	ImportComments(ctx context.Context, site string, items []*ImportItem) error

	// Backup writes a consistent copy of the whole database to w from one
	// read transaction, after telling started its size in bytes (-1 when it
	// is not known before the end). bbolt writes the database file itself;
	// PostgreSQL writes a dump file (DumpWriter) that parley copy restores.
	Backup(ctx context.Context, w io.Writer, started func(size int64)) (int64, error)

	// RecordAudit appends an entry to the audit log.
	RecordAudit(ctx context.Context, e *AuditEntry) error
}

// ExportQuery selects the comments to export. The zero value is every
// comment, tombstones included, so that a restore keeps threads whole.
type ExportQuery struct {
	Site   string    // the site: every query is for one
	Status Status    // one status, "" for all
	Post   string    // one post, "" for all
	Since  time.Time // only comments created or changed at or after this time
	ByPost bool      // group comments by post (WXR needs it), else ID order
}

// Matches reports whether q selects c: the one definition stores use.
func (q ExportQuery) Matches(c *Comment) bool {
	return (q.Status == "" || c.Status == q.Status) && (q.Post == "" || c.Post == q.Post) &&
		(q.Since.IsZero() || !c.Updated.Before(q.Since))
}

// EventImported tells listeners of comments that an import created. They are
// history, not news: caches should drop the posts concerned, notifiers
// should not write to anyone about them.
const EventImported EventKind = "imported"

// ExportWalk streams the comments of an export from one read transaction;
// see Service.Export. Use one of its methods, once.
type ExportWalk struct {
	ctx   context.Context
	store TransferStore
	q     ExportQuery
}

// Comments calls fn with each comment.
func (w *ExportWalk) Comments(fn func(*Comment) error) error {
	return w.store.ExportComments(w.ctx, w.q, fn)
}

// JSON calls fn with each comment as json.Marshal writes it; the bytes are
// valid only until fn returns. It is the fast way to write JSON formats.
func (w *ExportWalk) JSON(fn func(raw []byte) error) error { return w.store.ExportJSON(w.ctx, w.q, fn) }

// Export checks the query and the actor's right, records the export in the
// audit log (it carries personal data) and returns the walk that streams the
// matching comments from one read transaction. Checking first lets the
// caller answer a clear error before it starts writing.
func (s *Service) Export(ctx context.Context, actor Actor, q ExportQuery) (*ExportWalk, error) {
	if err := mayAdminister(actor, q.Site, PermExport); err != nil {
		return nil, err
	}
	if q.Status != "" && !q.Status.Valid() && q.Status != StatusDeleted {
		return nil, invalid("status", "must be pending, approved, rejected, spam or deleted")
	}
	if q.Post != "" {
		if err := checkPostKey(q.Post); err != nil {
			return nil, err
		}
	}
	store := s.store
	if err := store.RecordAudit(ctx, &AuditEntry{Site: q.Site, At: s.now(), Actor: actor.Name, Action: "export", Post: q.Post, From: actor.From}); err != nil {
		return nil, err
	}
	return &ExportWalk{ctx: ctx, store: store, q: q}, nil
}

// Backup writes a consistent copy of the database to w without stopping
// anything; only owners may take one, since it holds every secret.
func (s *Service) Backup(ctx context.Context, actor Actor, w io.Writer, started func(size int64)) (int64, error) {
	if !actor.May(PermBackup) {
		return 0, ErrForbidden
	}
	store := s.store
	if err := store.RecordAudit(ctx, &AuditEntry{At: s.now(), Actor: actor.Name, Action: "backup", From: actor.From}); err != nil {
		return 0, err
	}
	return store.Backup(ctx, w, started)
}

// ImportRecord is one comment read from an import file, or the reason it
// could not be read.
type ImportRecord struct {
	Number  int      // 1-based position among the file's comments
	Line    int      // where the record starts in the file, 0 when unknown
	Problem string   // set when the record could not be read; it is skipped
	Comment *Comment // from Parley's own formats: restored exactly
	Foreign *Foreign // from another system: converted
}

// RecordReader yields the records of an import file. Next returns io.EOF at
// the end; any other error means the file cannot be read further.
type RecordReader interface {
	Next() (*ImportRecord, error)
}

// ImportOutcome is what the store did with an ImportItem.
type ImportOutcome int

// The outcomes of importing one item.
const (
	ImportWaiting   ImportOutcome = iota // not stored yet
	ImportCreated                        // stored
	ImportDuplicate                      // imported or stored before: left alone
	ImportOrphan                         // its parent is not stored (yet)
	ImportRefused                        // Attach refused it with Refusal
)

// ImportItem is one comment for TransferStore.ImportComments.
type ImportItem struct {
	Comment *Comment
	// Key names the comment by where it came from, so that importing the
	// same file twice finds it; ParentKey names its parent the same way (nil
	// for a top-level comment, or when Comment.Parent names the parent).
	Key, ParentKey []byte
	// Attach checks the stored parent and sets the reply's place under it.
	Attach func(parent *Comment) error

	Outcome ImportOutcome
	Refusal error // why Attach refused

	record *ImportRecord
}

// ImportResult counts what an import did. Problems lists the first
// MaxImportProblems invalid records.
type ImportResult struct {
	Format   string          `json:"format"`
	Created  int             `json:"created"`
	Skipped  int             `json:"skipped"` // already there: imported or stored before
	Invalid  int             `json:"invalid"`
	Problems []RecordProblem `json:"problems"`
}

// RecordProblem says why one record was not imported.
type RecordProblem struct {
	Record int    `json:"record"`
	Line   int    `json:"line,omitempty"`
	ID     string `json:"id,omitempty"` // the record's id in the file, when it had one
	Reason string `json:"reason"`
}

// MaxImportProblems bounds the problems an import reports one by one, so
// that a file of garbage cannot make the answer huge; all are counted.
const MaxImportProblems = 100

// importBatch is how many comments one import transaction writes: large
// enough that fsyncs do not dominate, small enough to keep memory low and
// to let other writers in between.
const importBatch = 1000

func (r *ImportResult) reject(rec *ImportRecord, id, reason string) {
	r.Invalid++
	if len(r.Problems) < MaxImportProblems {
		r.Problems = append(r.Problems, RecordProblem{Record: rec.Number, Line: rec.Line, ID: id, Reason: reason})
	}
}

// Import reads every record of src and stores the valid ones in batches,
// each in one transaction. Records from Parley's formats are restored as
// they were (ID, thread, status, times, history); records from other systems
// become new comments whose body is made safe exactly as a submission's is.
// An invalid record is reported and skipped whole; a record imported before
// is skipped, so importing a file twice creates nothing the second time.
// Replies whose parent comes later in the file wait until the end.
//
// A file that cannot be read to its end returns the result so far with the
// error: what was stored before stays, and importing the repaired file
// again skips it. progress, when not nil, hears the counts after each batch.
func (s *Service) Import(ctx context.Context, actor Actor, site, format string, src RecordReader, progress func(ImportResult)) (ImportResult, error) {
	res := ImportResult{Format: format, Problems: []RecordProblem{}}
	if err := mayAct(actor, site, PermImport); err != nil {
		return res, err
	}
	if _, err := s.store.Site(ctx, site); err != nil {
		return res, err
	}
	store := s.store
	now := s.now()
	var batch, orphans []*ImportItem
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := store.ImportComments(ctx, site, batch); err != nil {
			return err
		}
		orphans = append(orphans, s.tally(ctx, &res, batch)...)
		batch = batch[:0]
		if progress != nil {
			progress(res)
		}
		return nil
	}
	var readErr error
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		rec, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		item, id, problem := s.importItem(rec, actor.Name, now)
		if problem != "" {
			res.reject(rec, id, problem)
			continue
		}
		item.Comment.Site = site                      // whatever site it was exported from
		item.Comment.Trained = training(item.Comment) // storage counts the decisions it brings in the site's model
		if batch = append(batch, item); len(batch) == importBatch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	if err := s.adoptOrphans(ctx, store, site, &res, orphans); err != nil {
		return res, err
	}
	spam, err := s.spamFor(ctx, site)
	if err != nil {
		return res, err
	}
	if err := spam.reload(ctx, s.store); err != nil {
		return res, err
	}
	slices.SortStableFunc(res.Problems, func(a, b RecordProblem) int { return a.Record - b.Record })
	if progress != nil {
		progress(res)
	}
	entry := &AuditEntry{Site: site, At: now, Actor: actor.Name, Action: "import", From: actor.From}
	if err := store.RecordAudit(ctx, entry); err != nil {
		return res, err
	}
	return res, readErr
}

// adoptOrphans retries the replies that came before their parents, as long
// as a pass stores any; what is left has no parent anywhere.
func (s *Service) adoptOrphans(ctx context.Context, store TransferStore, site string, res *ImportResult, orphans []*ImportItem) error {
	for len(orphans) > 0 {
		before := res.Created
		var left []*ImportItem
		for start := 0; start < len(orphans); start += importBatch {
			chunk := orphans[start:min(start+importBatch, len(orphans))]
			for _, it := range chunk {
				it.Outcome = ImportWaiting
			}
			if err := store.ImportComments(ctx, site, chunk); err != nil {
				return err
			}
			left = append(left, s.tally(ctx, res, chunk)...)
		}
		orphans = left
		if res.Created == before {
			break
		}
	}
	for _, it := range orphans {
		res.reject(it.record, recordID(it.record), "its parent is neither earlier in the file nor already stored")
	}
	return nil
}

// tally counts the outcomes of a stored batch, tells listeners of the new
// comments and returns the orphans (which it counts only when final).
func (s *Service) tally(ctx context.Context, res *ImportResult, items []*ImportItem) []*ImportItem {
	var created []*Comment
	var orphans []*ImportItem
	for _, it := range items {
		switch it.Outcome {
		case ImportCreated:
			res.Created++
			created = append(created, it.Comment)
		case ImportDuplicate:
			res.Skipped++
		case ImportRefused:
			res.reject(it.record, recordID(it.record), problemText(it.Refusal))
		default:
			orphans = append(orphans, it)
		}
	}
	s.publish(ctx, Event{Kind: EventImported, Comments: created})
	return orphans
}

func recordID(rec *ImportRecord) string {
	switch {
	case rec.Comment != nil:
		return rec.Comment.ID
	case rec.Foreign != nil:
		return rec.Foreign.ID
	}
	return ""
}

// importItem turns a record into what the store needs, or says why it cannot.
func (s *Service) importItem(rec *ImportRecord, by string, now time.Time) (*ImportItem, string, string) {
	id := recordID(rec)
	switch {
	case rec.Problem != "":
		return nil, id, rec.Problem
	case rec.Comment != nil:
		item, err := s.restored(rec.Comment)
		if err != nil {
			return nil, id, problemText(err)
		}
		item.record = rec
		return item, id, ""
	case rec.Foreign != nil:
		item, err := s.converted(rec.Foreign, by, now)
		if err != nil {
			return nil, id, problemText(err)
		}
		item.record = rec
		return item, id, ""
	}
	return nil, id, "is empty"
}

// idPattern is what an imported Parley ID may look like: it appears in URLs,
// CSV cells and HTML attributes, so only plain characters.
var idPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// hashPattern is what an IP hash looks like (empty when there was no IP).
var hashPattern = regexp.MustCompile(`^[0-9a-f]{0,64}$`)

// maxHistory bounds an imported comment's history: far more moves than any
// comment makes, few enough that a hostile file cannot bloat the database.
const maxHistory = 1000

// restored checks a comment from a Parley export and makes it safe while
// keeping it exact: a genuine export passes unchanged.
func (s *Service) restored(c *Comment) (*ImportItem, error) {
	if c.ID == "" && !c.Created.IsZero() {
		c.ID = contentID(c)
	}
	switch {
	case !idPattern.MatchString(c.ID):
		return nil, invalid("id", "must be 1 to 64 letters, digits, - or _")
	case c.Parent != "" && (!idPattern.MatchString(c.Parent) || c.Parent == c.ID):
		return nil, invalid("parent", "must be the id of another comment")
	case !c.Status.Valid() && c.Status != StatusDeleted:
		return nil, invalid("status", "must be pending, approved, rejected, spam or deleted")
	case c.Created.IsZero():
		return nil, invalid("created", "is required")
	case !hashPattern.MatchString(c.IPHash):
		return nil, invalid("ip_hash", "must be a hexadecimal hash")
	case len(c.History) > maxHistory:
		return nil, invalid("history", fmt.Sprintf("must have at most %d entries", maxHistory))
	}
	if err := checkPostKey(c.Post); err != nil {
		return nil, err
	}
	if c.Status == StatusDeleted {
		c.Author, c.Email, c.Website, c.Body, c.HTML, c.IPHash, c.UserAgent = "", "", "", "", "", "", ""
	} else {
		sub := Submission{Post: c.Post, Author: c.Author, Email: c.Email, Website: c.Website, Body: c.Body}
		if err := s.checkImported(&sub); err != nil {
			return nil, err
		}
		c.Post, c.Author, c.Email, c.Website, c.Body = sub.Post, sub.Author, sub.Email, sub.Website, sub.Body
		if c.HTML == "" {
			// A record a script wrote may carry only the text: render it as
			// a submission's would be.
			html, err := s.renderer.Render(c.Body)
			if err != nil {
				return nil, err
			}
			c.HTML = html
		}
		c.HTML = s.renderer.Sanitize(c.HTML)
		c.UserAgent = truncate(c.UserAgent, maxUserAgent)
	}
	if c.Updated.IsZero() {
		c.Updated = c.Created
	}
	c.Depth = 0
	return &ImportItem{
		Comment: c,
		Key:     importKey("parley", "", c.ID),
		Attach:  func(parent *Comment) error { return placeReply(c, parent, false) },
	}, nil
}

// contentID gives a record without an id, written by a script that had no
// Parley ids to give, an id made from its content: the same record gets the
// same id on every import, so importing the file twice creates nothing
// twice. Like NewID's, it sorts by creation time; the rest is a hash of what
// tells two comments apart.
func contentID(c *Comment) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{
		c.Post, c.Parent, c.Author, c.Email, c.Website, c.Body, c.HTML, c.Created.UTC().Format(time.RFC3339Nano),
	}, "\x00")))
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(c.Created.UnixMilli())<<16)
	copy(b[6:], sum[:10])
	return idEncoding.EncodeToString(b[:])
}

// MaxImportedBody is the longest body an import takes, in characters:
// WordPress's own limit for a comment (its 64 KiB column, less its margin).
// History another system published is taken whole; new submissions keep
// their own, lower limit.
const MaxImportedBody = 65525

// checkImported applies the submission rules to imported fields, except that
// an email may be missing (many systems do not export it) and the body may
// be as long as MaxImportedBody.
func (s *Service) checkImported(sub *Submission) error {
	body := strings.TrimSpace(strings.ReplaceAll(sub.Body, "\r\n", "\n"))
	sub.Body = "-" // checked below, against the limit for history
	err := s.validator.Check(sub)
	sub.Body = body
	fields := map[string]string{}
	var ve *ValidationError
	if errors.As(err, &ve) {
		fields = ve.Fields
	} else if err != nil {
		return err
	}
	if sub.Email == "" && fields["email"] == messages["required"] {
		delete(fields, "email")
	}
	if err := s.checkImportedBody(body); err != nil {
		fields["body"] = err.Error()
	}
	if len(fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: fields}
}

// checkImportedBody applies the rules of a comment's text at the limit for
// history, and says what is wrong in a few words.
func (s *Service) checkImportedBody(body string) error {
	if !utf8.ValidString(body) {
		return errors.New("must be valid UTF-8 text")
	}
	err := s.validator.v.Var(body, fmt.Sprintf("required,max=%d,textonly", MaxImportedBody))
	if errs, ok := err.(validator.ValidationErrors); ok && len(errs) > 0 {
		return errors.New(message(errs[0]))
	}
	return err
}

// placeReply hangs an imported reply under its stored parent. Threads keep
// the shape they had, whatever the parent's status; a reply deeper than
// MaxDepth joins its parent's level, as a new one would (repoint). A
// restored Parley reply was placed that way already and is never re-pointed.
func placeReply(c, parent *Comment, repoint bool) error {
	if parent.Post != c.Post {
		return invalid("parent", "is a comment on another post")
	}
	c.Depth = parent.Depth + 1
	if c.Depth > MaxDepth && repoint {
		c.Parent, c.Depth = parent.Parent, MaxDepth
	}
	if c.Depth > MaxDepth {
		return invalid("parent", fmt.Sprintf("nests replies deeper than %d levels", MaxDepth))
	}
	return nil
}

// ProblemText says why an imported record was refused, in one line.
func problemText(err error) string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Error()[len("validation failed: "):]
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
