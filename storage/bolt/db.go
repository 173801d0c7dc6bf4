// Package storage keeps Parley's data in one bbolt file. It implements
// moderation.Store and is the only package that knows about bbolt; it imports
// the domain package and nothing else of ours.
package bolt

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"parley/moderation"
)

// DB is Parley's bbolt database. The buckets, created once at open:
//
//	meta        "schema" → uint64 schema version; "secret:NAME" → random bytes
//	siteinfo    site id → JSON moderation.Site (schema 7)
//	origins     origin → the id of the site it belongs to: one site per
//	            origin, by construction, written with the site
//	sites       one nested bucket per site id, holding that site's
//	            comments, status, thread, counts, replies, audit, blocklist,
//	            imported and model buckets below: a site id is part of every
//	            key (schema 7; before, these were top-level)
//	  comments    comment ID → JSON moderation.Comment (tombstones included)
//	  status      one nested bucket per status (pending, approved, rejected,
//	              spam): comment ID → post key. IDs sort by creation time, so a
//	              cursor walks the queue oldest first and filters by post
//	              without decoding comments.
//	  thread      one nested bucket per post key: ID → nil for each approved
//	              comment of the post
//	  counts      post key → uint64 approved count
//	  replies     parent ID + child ID → nil, to find a comment's replies
//	  audit       uint64 sequence (NextSequence) → JSON moderation.AuditEntry
//	  blocklist   "list" → JSON moderation.Blocklist
//	  imported    16-byte key of an imported comment (SHA-256 of its source
//	              system, site and id there) → its Parley ID, so that importing
//	              a file again skips what it created, even if deleted since
//	  model       the site's spam classifier (schema 6, top-level until 7):
//	              "version" → uint64 classifier version it was built for
//	              (absent until first built), "docs" → uint32 ham + uint32
//	              spam comments learned, and two nested buckets. "counts":
//	              uint32 feature hash → uint32 ham + uint32 spam count, at
//	              most classifier.Buckets (262,144) keys of 4+8 bytes however
//	              much is learned. "trained": comment ID → JSON
//	              moderation.Training, what that comment taught, so that a
//	              change of mind takes exactly that back. Both change in each
//	              comment's own write (teach, from putComment): a site's
//	              decisions teach that site's model only.
//	audit       the instance's own audit log (sites, people, tokens), as above
//	moderators  name → JSON moderation.Moderator
//	tokens      SHA-256 of the secret (hex) → JSON moderation.Token
//	tokenids    token ID → secret hash, to revoke by ID
//	claims      claim key → uint64 Unix nanoseconds it is held until: spent
//	            form tokens and recent comment bodies (moderation.Claim),
//	            keyed by HMACs, never raw data; expired ones are purged
//	changes     uint64 sequence → JSON moderation.Transition: every move of a
//	            comment into a status, written in the move's own transaction,
//	            until the notify worker plans its deliveries
//	outbox      uint64 sequence → JSON moderation.Delivery: notifications
//	            owed, until sent or given up
//	held        delivery sequence → uint64 Unix nanoseconds: deliveries a
//	            notify worker is sending, hidden from DueDeliveries until
//	            then (made on first use)
//	commenters  lower-cased email → JSON moderation.Commenter (approved count,
//	            verified, unsubscribed)
//	links       nonce → uint64 Unix expiry, for each used single-use link
//	sessions    session ID (SHA-256 of the cookie's secret, hex) → JSON
//	            moderation.Session (schema 4)
//
// Comment IDs are unique by construction (time plus 80 random bits, and a
// create refuses an existing ID), so no index key can collide.
type DB struct {
	bolt *bbolt.DB
}

var (
	bucketMeta       = []byte("meta")
	bucketComments   = []byte("comments")
	bucketStatus     = []byte("status")
	bucketThread     = []byte("thread")
	bucketCounts     = []byte("counts")
	bucketReplies    = []byte("replies")
	bucketAudit      = []byte("audit")
	bucketModerators = []byte("moderators")
	bucketTokens     = []byte("tokens")
	bucketTokenIDs   = []byte("tokenids")
	bucketClaims     = []byte("claims")
	bucketBlocklist  = []byte("blocklist")
	bucketSessions   = []byte("sessions")
	bucketImported   = []byte("imported")
	bucketSites      = []byte("sites")
	bucketSiteInfo   = []byte("siteinfo")
	bucketOrigins    = []byte("origins")
	keySchema        = []byte("schema")
)

// migrations bring a database from version i to i+1. Append, never edit: a
// database records how many have run.
var migrations = []func(tx *bbolt.Tx) error{
	func(tx *bbolt.Tx) error { // 1: the initial layout
		for _, name := range [][]byte{bucketMeta, bucketComments, bucketStatus, bucketThread, bucketCounts,
			bucketReplies, bucketAudit, bucketModerators, bucketTokens, bucketTokenIDs} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		status := tx.Bucket(bucketStatus)
		for _, s := range moderation.Statuses {
			if _, err := status.CreateBucketIfNotExists([]byte(s)); err != nil {
				return err
			}
		}
		return nil
	},
	func(tx *bbolt.Tx) error { // 2: the anti-spam pipeline's claims and blocklist
		for _, name := range [][]byte{bucketClaims, bucketBlocklist} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	migrateOutbox, // 3: notifications (storage/outbox.go)
	func(tx *bbolt.Tx) error { // 4: admin page sessions
		_, err := tx.CreateBucketIfNotExists(bucketSessions)
		return err
	},
	func(tx *bbolt.Tx) error { // 5: import keys
		_, err := tx.CreateBucketIfNotExists(bucketImported)
		return err
	},
	migrateModel, // 6: the spam classifier's model (storage/model.go)
	migrateSites, // 7: sites, everything of one blog in the default site (storage/sites.go)
}

// OpenTimeout is how long Open waits for another process to let go of the file.
const OpenTimeout = 3 * time.Second

// initialMmapSize is the address space mapped up front. bbolt must remap
// to grow the file and cannot while a read transaction is open, so a long
// export or backup would stall every writer whenever the file outgrew its
// map; mapped generously, it rarely has to. Address space, not memory: the
// file grows only as data does (less on 32-bit systems, where space is short).
var initialMmapSize = map[int]int{32: 128 << 20, 64: 1 << 30}[strconv.IntSize]

// Open opens or creates the database at path and brings its schema up to date.
// A file held by another process, a corrupt file or a file from a newer
// Parley is a clear error; Open never overwrites an existing file.
func Open(path string) (db *DB, err error) {
	var b *bbolt.DB
	// bbolt can panic on a corrupt file instead of returning an error, and
	// fault on reading past the end of a truncated one: make both errors.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if b != nil {
				_ = b.Close()
			}
			db, err = nil, fmt.Errorf("open %s: the file is corrupt or not a Parley database (%v)", path, r)
		}
	}()
	info, statErr := os.Stat(path)
	b, err = bbolt.Open(path, 0o600, &bbolt.Options{Timeout: OpenTimeout, InitialMmapSize: initialMmapSize})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("open %s: the database is in use by another process (is parley serve running?)", path)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrVersionMismatch):
		return nil, fmt.Errorf("open %s: the file is corrupt or not a Parley database: %w", path, err)
	case (errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS)) && errors.Is(statErr, os.ErrNotExist):
		return nil, fmt.Errorf("open %s: cannot create the database there, the directory is read-only or not writable (%w); choose another place with --data", path, err)
	case errors.Is(err, os.ErrPermission), errors.Is(err, syscall.EROFS):
		return nil, fmt.Errorf("open %s: no permission to read and write it: %w", path, err)
	case err != nil && statErr == nil && info.Size() > 0:
		return nil, fmt.Errorf("open %s: the file cannot be read as a Parley database (corrupt, cut short or something else): %w", path, err)
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db = &DB{bolt: b}
	db.SetBatchLimits(maxBatchSize, maxBatchDelay)
	if err := db.checkSize(); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("open %s: the file is corrupt or not a Parley database: %w", path, err)
	}
	if err := db.migrate(); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

func (db *DB) migrate() error {
	return db.bolt.Update(func(tx *bbolt.Tx) error {
		var version uint64
		if meta := tx.Bucket(bucketMeta); meta != nil {
			if v := meta.Get(keySchema); len(v) == 8 {
				version = binary.BigEndian.Uint64(v)
			}
		}
		if version > uint64(len(migrations)) {
			return fmt.Errorf("the database has schema version %d, newer than this Parley knows (%d): upgrade Parley", version, len(migrations))
		}
		for i := version; i < uint64(len(migrations)); i++ {
			if err := migrations[i](tx); err != nil {
				return fmt.Errorf("migrate to schema %d: %w", i+1, err)
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, u64(uint64(len(migrations))))
	})
}

// Close closes the file.
func (db *DB) Close() error { return db.bolt.Close() }

// Path is the database file's path.
func (db *DB) Path() string { return db.bolt.Path() }

// update runs fn in a write transaction, mapping a full disk to the domain's
// ErrStorageFull so the client gets a clear, retryable answer.
func (db *DB) update(fn func(tx *bbolt.Tx) error) error { return diskError(db.bolt.Update(fn)) }

// batch is update for concurrent single-comment writes: bbolt groups them so
// that one fsync commits many. fn may run more than once and must be
// idempotent.
func (db *DB) batch(fn func(tx *bbolt.Tx) error) error { return diskError(db.bolt.Batch(fn)) }

func diskError(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %v", moderation.ErrStorageFull, err)
	}
	return err
}

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func save(b *bbolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// load decodes a value; bbolt's bytes are only valid inside the transaction,
// and decoding copies them.
func load(b *bbolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return moderation.ErrNotFound
	}
	return json.Unmarshal(data, v)
}
