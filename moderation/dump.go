package moderation

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// DumpStore is the part of Store that copies a whole database to another,
// of either backend (parley copy), and backs up PostgreSQL.
type DumpStore interface {
	// Dump calls fn with every record of the database, all read from one
	// consistent snapshot while writers carry on, in the order Restore
	// replays them (see RecordKind). fn owns each record. An error from fn
	// stops the dump and is returned as is.
	Dump(ctx context.Context, fn func(*Record) error) error

	// Restore writes recs in their order, all in one transaction. A record
	// already stored under its kind, site and key is replaced, so restoring a
	// dump twice leaves one copy; what no record names is left alone. Each
	// record is written as it is: restoring a comment stores its Training
	// without counting it in the model (the model's records carry the
	// counts), queues no notification and leaves commenters' counts to their
	// own records. Only indexes are derived: a site's origins, the status,
	// thread and reply indexes and the approved count of each post.
	// ErrNotFound for a site's record when the site is neither stored nor
	// earlier in recs; a *ValidationError for a record that does not decode
	// or whose key does not match its value.
	Restore(ctx context.Context, recs []*Record) error
}

// Record is one stored thing of a database, as Dump gives it: its kind, the
// site it belongs to ("" for the instance's), its key among that kind and
// site, and its value as JSON. The encoding of each kind is documented at
// RecordKind; values are what json.Marshal writes for the domain types, so
// that both backends dump a database to the same bytes.
type Record struct {
	Kind  RecordKind      `json:"kind"`
	Site  string          `json:"site,omitempty"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// RecordKind names what a Record holds. Dump gives them in this order:
// secrets, sites, then each site's blocklist, model, features, comments,
// import keys and audit entries, then the instance's audit entries,
// moderators, tokens, sessions, commenters, claims, used links, changes and
// deliveries. Comments of a site come in ID order (creation order), except
// that a reply whose ID sorts before its parent's comes right after it.
type RecordKind string

// The kinds of record, with each one's key and value.
const (
	KindSecret    RecordKind = "secret"    // key: name; value: the bytes (a base64 JSON string)
	KindSite      RecordKind = "site"      // key: site id; value: Site (its origins are indexed on restore)
	KindBlocklist RecordKind = "blocklist" // site; key: ""; value: Blocklist
	KindModel     RecordKind = "model"     // site; key: ""; value: ModelRecord. Restoring it empties the site's features
	KindFeature   RecordKind = "feature"   // site; key: the feature hash in decimal; value: FeatureRecord
	KindComment   RecordKind = "comment"   // site; key: comment ID; value: CommentRecord
	KindImported  RecordKind = "imported"  // site; key: the import key in hex; value: the Parley ID it became (a JSON string)
	KindAudit     RecordKind = "audit"     // site or "" (the instance's log); key: seq in decimal; value: AuditEntry
	KindModerator RecordKind = "moderator" // key: name; value: Moderator
	KindToken     RecordKind = "token"     // key: the secret's hash; value: Token
	KindSession   RecordKind = "session"   // key: session ID; value: Session
	KindCommenter RecordKind = "commenter" // key: EmailKey of the address; value: Commenter (with its approved count)
	KindClaim     RecordKind = "claim"     // key: claim key; value: TimeRecord, until when it is held
	KindLink      RecordKind = "link"      // key: nonce of a used link; value: TimeRecord, when it expires (to the second)
	KindChange    RecordKind = "change"    // key: seq in decimal; value: Transition not yet planned
	KindDelivery  RecordKind = "delivery"  // key: seq in decimal; value: Delivery owed
)

// RecordKinds lists every kind in dump order.
var RecordKinds = []RecordKind{KindSecret, KindSite, KindBlocklist, KindModel, KindFeature, KindComment, KindImported,
	KindAudit, KindModerator, KindToken, KindSession, KindCommenter, KindClaim, KindLink, KindChange, KindDelivery}

// CommentRecord is a comment with what it taught its site's classifier:
// the comment's JSON is exactly what an export writes.
type CommentRecord struct {
	Comment json.RawMessage `json:"comment"`
	Trained json.RawMessage `json:"trained,omitempty"` // a Training; absent when it taught nothing
}

// ModelRecord is a site's classifier model without its features: the
// classifier version it was built for (0 when never built) and how many ham
// and spam comments it learned. The counts are dumped, not recomputed from
// the comments: a deleted comment's lessons stay in them.
type ModelRecord struct {
	Version int `json:"version"`
	Ham     int `json:"ham"`
	Spam    int `json:"spam"`
}

// FeatureRecord is how often one feature bucket of a site's model was seen
// in ham and in spam.
type FeatureRecord struct {
	Ham  uint32 `json:"ham"`
	Spam uint32 `json:"spam"`
}

// TimeRecord is the value of a claim or a used link: the time it ends.
type TimeRecord struct {
	Until time.Time `json:"until"`
}

// NewRecord encodes v as the value of a record.
func NewRecord(kind RecordKind, site, key string, v any) (*Record, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("dump %s %s: %w", kind, key, err)
	}
	return &Record{Kind: kind, Site: site, Key: key, Value: raw}, nil
}

// NewCommentRecord makes the record of a comment from its JSON and its
// training's JSON (nil when it taught nothing), copying both.
func NewCommentRecord(site, id string, comment, trained []byte) (*Record, error) {
	v := CommentRecord{Comment: json.RawMessage(comment)}
	if trained != nil {
		v.Trained = json.RawMessage(trained)
	}
	return NewRecord(KindComment, site, id, v)
}

// LinkTime is the precision a dump keeps of a used link's expiry: the
// second, as every backend stores it, so that a database dumps the same
// whichever backend holds it.
func LinkTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// badRecord is the error of a record that cannot be restored.
func badRecord(r *Record, why string) error {
	return &ValidationError{Fields: map[string]string{"record": fmt.Sprintf("%s %q of site %q %s", r.Kind, r.Key, r.Site, why)}}
}

// decodeValue decodes a record's value into v.
func decodeValue(r *Record, v any) error {
	if err := json.Unmarshal(r.Value, v); err != nil {
		return badRecord(r, "does not decode: "+err.Error())
	}
	return nil
}

// DecodeRecord decodes the value of a record of a kind whose value is a
// domain type (site, blocklist, model, feature, audit, moderator, token,
// session, commenter, claim, link, change, delivery), checking that the key
// (and site) name what the value is.
func DecodeRecord[T any](r *Record) (*T, error) {
	v := new(T)
	if err := decodeValue(r, v); err != nil {
		return nil, err
	}
	if err := checkKey(r, v); err != nil {
		return nil, err
	}
	return v, nil
}

// checkKey refuses a record whose key or site disagree with its value, so
// that a hand-edited dump cannot store a thing under another's key.
func checkKey(r *Record, v any) error {
	want := r.Key
	site := r.Site
	switch x := v.(type) {
	case *Site:
		want, site = x.ID, ""
	case *AuditEntry:
		want, site = strconv.FormatUint(x.Seq, 10), x.Site
	case *Moderator:
		want = x.Name
	case *Token:
		want = x.Hash
	case *Session:
		want = x.ID
	case *Transition:
		want = strconv.FormatUint(x.Seq, 10)
	case *Delivery:
		want = strconv.FormatUint(x.Seq, 10)
	case *Commenter, *Blocklist, *ModelRecord, *FeatureRecord, *TimeRecord:
	default:
		return fmt.Errorf("DecodeRecord: %T is not a record's value", v)
	}
	if want != r.Key || site != r.Site {
		return badRecord(r, "names another key or site than its value")
	}
	return nil
}

// RecordSeq returns the sequence number a record's key holds (audit entries,
// changes, deliveries) or the feature hash of a feature's.
func RecordSeq(r *Record) (uint64, error) {
	n, err := strconv.ParseUint(r.Key, 10, 64)
	if err != nil || (r.Kind == KindFeature && n > 1<<32-1) {
		return 0, badRecord(r, "has a key that is not a number in range")
	}
	return n, nil
}

// RecordBytes returns the bytes a record's hex key holds (import keys).
func RecordBytes(r *Record) ([]byte, error) {
	b, err := hex.DecodeString(r.Key)
	if err != nil || len(b) == 0 {
		return nil, badRecord(r, "has a key that is not hexadecimal")
	}
	return b, nil
}

// DecodeImported decodes an import key's record: the key's bytes and the
// ID of the comment it became.
func DecodeImported(r *Record) ([]byte, string, error) {
	key, err := RecordBytes(r)
	if err != nil {
		return nil, "", err
	}
	var id string
	if err := json.Unmarshal(r.Value, &id); err != nil || id == "" {
		return nil, "", badRecord(r, "must name a comment ID")
	}
	return key, id, nil
}

// DecodeFeature decodes a model feature's record: the feature bucket and
// its counts.
func DecodeFeature(r *Record) (uint32, *FeatureRecord, error) {
	h, err := RecordSeq(r)
	if err != nil {
		return 0, nil, err
	}
	f, err := DecodeRecord[FeatureRecord](r)
	if err != nil {
		return 0, nil, err
	}
	return uint32(h), f, nil
}

// DecodeSecret decodes a secret's record: its bytes.
func DecodeSecret(r *Record) ([]byte, error) {
	var secret []byte
	if err := json.Unmarshal(r.Value, &secret); err != nil || r.Key == "" || r.Site != "" {
		return nil, badRecord(r, "must be a name and base64 bytes")
	}
	return secret, nil
}

// DecodeComment decodes a comment's record: the comment, with Trained set
// to what it taught (nil when nothing or when it is a tombstone).
func DecodeComment(r *Record) (*Comment, error) {
	var v CommentRecord
	if err := decodeValue(r, &v); err != nil {
		return nil, err
	}
	var c Comment
	if err := json.Unmarshal(v.Comment, &c); err != nil {
		return nil, badRecord(r, "does not decode: "+err.Error())
	}
	if c.ID != r.Key || c.Site != r.Site || c.ID == "" || c.Parent == c.ID {
		return nil, badRecord(r, "names another key or site than its value")
	}
	if len(v.Trained) > 0 && string(v.Trained) != "null" && c.Status != StatusDeleted {
		c.Trained = new(Training)
		if err := json.Unmarshal(v.Trained, c.Trained); err != nil {
			return nil, badRecord(r, "has a training that does not decode: "+err.Error())
		}
	}
	return &c, nil
}

// CopyCount is how far a copy went: records by kind, and in all.
type CopyCount struct {
	Records int
	Kinds   map[RecordKind]int
}

// copyBatch is how many records one restore transaction writes: large
// enough that commits do not dominate, small enough to keep memory low.
const copyBatch = 1000

// Copy restores into dst every record that dump gives (a DumpStore's Dump,
// or a DumpReader's), copyBatch records per transaction; progress, when not
// nil, hears the count after each. Restoring replaces by key, so copying
// again changes nothing.
func Copy(ctx context.Context, dst DumpStore, dump func(ctx context.Context, fn func(*Record) error) error, progress func(CopyCount)) (CopyCount, error) {
	n := CopyCount{Kinds: map[RecordKind]int{}}
	batch := make([]*Record, 0, copyBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := dst.Restore(ctx, batch); err != nil {
			return err
		}
		for _, r := range batch {
			n.Kinds[r.Kind]++
		}
		n.Records += len(batch)
		batch = batch[:0]
		if progress != nil {
			progress(n)
		}
		return nil
	}
	err := dump(ctx, func(r *Record) error {
		if batch = append(batch, r); len(batch) == copyBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return n, err
}

// DumpFormat is the first line of a dump file: what it is, so that a file
// of anything else is refused before a record is read.
const DumpFormat = `{"format":"parley-dump","version":1}`

// DumpWriter writes a dump file: DumpFormat on the first line, then one
// record of JSON per line (JSON lines).
type DumpWriter struct {
	w   *bufio.Writer
	n   int64
	err error
}

// NewDumpWriter starts a dump file on w.
func NewDumpWriter(w io.Writer) *DumpWriter {
	d := &DumpWriter{w: bufio.NewWriterSize(w, 64<<10)}
	d.write([]byte(DumpFormat))
	return d
}

func (d *DumpWriter) write(line []byte) {
	if d.err != nil {
		return
	}
	n, err := d.w.Write(line)
	d.n += int64(n)
	if err == nil {
		err = d.w.WriteByte('\n')
		d.n++
	}
	d.err = err
}

// Write writes one record; its signature fits Dump's fn.
func (d *DumpWriter) Write(r *Record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	d.write(line)
	return d.err
}

// Close flushes what is buffered and returns how many bytes were written.
func (d *DumpWriter) Close() (int64, error) {
	if d.err == nil {
		d.err = d.w.Flush()
	}
	return d.n, d.err
}

// maxDumpLine bounds one line of a dump file: the largest record is a
// comment with its history, far below this.
const maxDumpLine = 64 << 20

// ErrNotDump is returned by ReadDump for a file that is not a dump file.
var ErrNotDump = errors.New("not a Parley dump file (its first line is not " + DumpFormat + ")")

// ReadDump reads a dump file from r, calling fn with each record; its
// signature (with r bound) fits Copy's dump.
func ReadDump(ctx context.Context, r io.Reader, fn func(*Record) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxDumpLine)
	if !sc.Scan() {
		if sc.Err() != nil {
			return sc.Err()
		}
		return ErrNotDump
	}
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if json.Unmarshal(sc.Bytes(), &head) != nil || head.Format != "parley-dump" {
		return ErrNotDump
	}
	if head.Version != 1 {
		return fmt.Errorf("the dump file has version %d, newer than this Parley knows (1): upgrade Parley", head.Version)
	}
	for line := 2; sc.Scan(); line++ {
		if line%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rec := new(Record)
		if err := json.Unmarshal(sc.Bytes(), rec); err != nil || rec.Kind == "" {
			return fmt.Errorf("dump file line %d is not a record: %v", line, err)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return sc.Err()
}
