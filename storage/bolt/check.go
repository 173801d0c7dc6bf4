package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	bbolt "go.etcd.io/bbolt"

	"parley/moderation"
)

// maxProblems is how many inconsistencies Check reports before it stops
// listing them: enough to see a pattern, not a flood.
const maxProblems = 50

// CheckError lists what Check found wrong.
type CheckError struct {
	Problems []string
	More     int // problems found beyond the listed ones
}

func (e *CheckError) Error() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "the database is inconsistent (%d problems)", len(e.Problems)+e.More)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p)
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  … and %d more", e.More)
	}
	return b.String()
}

// Check verifies, in one read transaction, that every site's indexes agree
// with its comments bucket, and that the origins index names each site's
// origins and nothing else: each comment decodes under its own ID and sits in exactly
// the status bucket of its status; each approved comment is in its post's
// thread and nothing else is; each post's count is the size of its thread;
// every reply's parent exists and the replies index holds exactly the
// parent+child pairs. bbolt's own page checks run first. It returns a
// *CheckError listing what is wrong, or nil.
func (db *DB) Check(_ context.Context) error {
	var found CheckError
	problem := func(format string, args ...any) {
		if len(found.Problems) < maxProblems {
			found.Problems = append(found.Problems, fmt.Sprintf(format, args...))
		} else {
			found.More++
		}
	}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			problem("bbolt: %v", err)
		}
		sites := tx.Bucket(bucketSites)
		if sites == nil {
			return errors.New("the sites bucket is missing")
		}
		checkOrigins(tx, problem)
		return sites.ForEachBucket(func(id []byte) error {
			site := sites.Bucket(id)
			problem := func(format string, args ...any) { problem("site %s: "+format, append([]any{id}, args...)...) }
			comments, err := checkComments(site, problem)
			if err != nil {
				return fmt.Errorf("site %s: %w", id, err)
			}
			checkStatusIndex(site, comments, problem)
			checkThreads(site, comments, problem)
			checkReplies(site, comments, problem)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if len(found.Problems) > 0 {
		return &found
	}
	return nil
}

// checkSize refuses a truncated file (a copy cut short, a disk that filled
// during a backup): bbolt maps the file and would crash on the first read
// of a page past its end.
func (db *DB) checkSize() error {
	info, err := os.Stat(db.bolt.Path())
	if err != nil {
		return err
	}
	return db.bolt.View(func(tx *bbolt.Tx) error {
		if need := tx.Size(); info.Size() < need {
			return fmt.Errorf("it is %d bytes long but its pages reach %d bytes: it was cut short", info.Size(), need)
		}
		return nil
	})
}

// checked is what the index checks need to know of one comment.
type checked struct {
	post, parent string
	status       moderation.Status
}

func checkComments(site *bbolt.Bucket, problem func(string, ...any)) (map[string]checked, error) {
	b := site.Bucket(bucketComments)
	if b == nil {
		return nil, errors.New("the comments bucket is missing")
	}
	comments := map[string]checked{}
	err := b.ForEach(func(k, v []byte) error {
		var c moderation.Comment
		if err := json.Unmarshal(v, &c); err != nil {
			problem("comment %q does not decode: %v", k, err)
			return nil
		}
		if c.ID != string(k) {
			problem("comment stored under %q has ID %q", k, c.ID)
		}
		if !c.Status.Valid() && c.Status != moderation.StatusDeleted {
			problem("comment %s has unknown status %q", k, c.Status)
		}
		comments[string(k)] = checked{post: c.Post, parent: c.Parent, status: c.Status}
		return nil
	})
	return comments, err
}

// checkStatusIndex: every listed comment is in the bucket of its status,
// under its post, and in no other.
func checkStatusIndex(site *bbolt.Bucket, comments map[string]checked, problem func(string, ...any)) {
	status := site.Bucket(bucketStatus)
	listed := make(map[string]moderation.Status, len(comments))
	for _, s := range moderation.Statuses {
		b := status.Bucket([]byte(s))
		if b == nil {
			problem("status bucket %q is missing", s)
			continue
		}
		_ = b.ForEach(func(k, v []byte) error {
			id := string(k)
			c, ok := comments[id]
			switch {
			case !ok:
				problem("status %s lists %s, which does not exist", s, id)
			case c.status != s:
				problem("status %s lists %s, whose status is %s", s, id, c.status)
			case c.post != string(v):
				problem("status %s lists %s under post %q, not its post %q", s, id, v, c.post)
			}
			if other, dup := listed[id]; dup {
				problem("%s is listed under both %s and %s", id, other, s)
			}
			listed[id] = s
			return nil
		})
	}
	for id, c := range comments {
		if _, ok := listed[id]; !ok && c.status != moderation.StatusDeleted {
			problem("%s (%s) is missing from the status index", id, c.status)
		}
	}
}

// checkThreads: each post's thread holds exactly its approved comments, and
// its count is their number (no count is kept for an empty thread).
func checkThreads(site *bbolt.Bucket, comments map[string]checked, problem func(string, ...any)) {
	approved := map[string]int{}
	for _, c := range comments {
		if c.status == moderation.StatusApproved {
			approved[c.post]++
		}
	}
	inThreads := map[string]int{}
	_ = site.Bucket(bucketThread).ForEachBucket(func(post []byte) error {
		p := string(post)
		return site.Bucket(bucketThread).Bucket(post).ForEach(func(k, _ []byte) error {
			c, ok := comments[string(k)]
			switch {
			case !ok:
				problem("thread %q lists %s, which does not exist", p, k)
			case c.status != moderation.StatusApproved:
				problem("thread %q lists %s, which is %s", p, k, c.status)
			case c.post != p:
				problem("thread %q lists %s, which belongs to post %q", p, k, c.post)
			default:
				inThreads[p]++
			}
			return nil
		})
	})
	for post, n := range approved {
		if inThreads[post] != n {
			problem("post %q has %d approved comments but its thread lists %d of them", post, n, inThreads[post])
		}
	}
	counted := map[string]bool{}
	_ = site.Bucket(bucketCounts).ForEach(func(k, v []byte) error {
		post := string(k)
		counted[post] = true
		if len(v) != 8 {
			problem("count of post %q is %d bytes, not 8", post, len(v))
		} else if n := binary.BigEndian.Uint64(v); n != uint64(approved[post]) {
			problem("count of post %q is %d, but it has %d approved comments", post, n, approved[post])
		}
		return nil
	})
	for post := range approved {
		if !counted[post] {
			problem("post %q has %d approved comments and no count", post, approved[post])
		}
	}
}

// checkReplies: the replies index holds exactly parent+child for every
// comment with a parent, and every parent exists (a deleted parent stays as
// a tombstone while it has replies).
func checkReplies(site *bbolt.Bucket, comments map[string]checked, problem func(string, ...any)) {
	want := map[string]bool{}
	for id, c := range comments {
		if c.parent == "" {
			continue
		}
		if _, ok := comments[c.parent]; !ok {
			problem("%s replies to %s, which does not exist", id, c.parent)
		}
		want[string(replyKey(c.parent, id))] = true
	}
	_ = site.Bucket(bucketReplies).ForEach(func(k, _ []byte) error {
		if !want[string(k)] {
			problem("the replies index has %q, which matches no reply", k)
		}
		delete(want, string(k))
		return nil
	})
	for k := range want {
		problem("the replies index lacks %q", k)
	}
}

// checkOrigins: the origins index holds exactly every site's origins, each
// for its own site.
func checkOrigins(tx *bbolt.Tx, problem func(string, ...any)) {
	want := map[string]string{}
	_ = tx.Bucket(bucketSiteInfo).ForEach(func(k, v []byte) error {
		var s moderation.Site
		if err := json.Unmarshal(v, &s); err != nil {
			problem("site %q does not decode: %v", k, err)
			return nil
		}
		if tx.Bucket(bucketSites).Bucket(k) == nil {
			problem("site %s has no buckets", k)
		}
		for _, o := range s.Origins {
			if other, dup := want[o]; dup {
				problem("origin %s belongs to both %s and %s", o, other, k)
			}
			want[o] = string(k)
		}
		return nil
	})
	_ = tx.Bucket(bucketOrigins).ForEach(func(k, v []byte) error {
		if want[string(k)] != string(v) {
			problem("the origins index gives %s to %q, the sites say %q", k, v, want[string(k)])
		}
		delete(want, string(k))
		return nil
	})
	for o, id := range want {
		problem("the origins index lacks %s of site %s", o, id)
	}
}
