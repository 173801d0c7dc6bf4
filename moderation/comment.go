package moderation

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"sync"
	"time"

	"parley/classifier"
)

// Status is where a comment stands in moderation.
type Status string

// The statuses a comment moves between. Only approved comments are ever public.
const (
	StatusPending  Status = "pending"
	StatusApproved Status = "approved"
	StatusRejected Status = "rejected"
	StatusSpam     Status = "spam"
	// StatusDeleted marks a tombstone: a removed comment kept only so that its
	// replies still hang from something. Its personal fields are wiped.
	StatusDeleted Status = "deleted"
)

// Statuses lists the statuses a moderator can list and export, in queue order.
var Statuses = []Status{StatusPending, StatusApproved, StatusRejected, StatusSpam}

// Valid reports whether s is a status a comment can be listed by.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// MaxDepth is how deep replies nest. A reply to a comment at MaxDepth attaches
// to that comment's parent instead, so it appears beside it at the deepest
// level: commenters are never refused for replying, and threads stay readable.
const MaxDepth = 8

// Comment is one submission with everything moderators need. Email, IPHash,
// UserAgent, Body and History are private and never leave a public endpoint.
type Comment struct {
	ID        string    `json:"id"`
	Site      string    `json:"site"` // the site's id: with Post, which thread
	Post      string    `json:"post"`
	Parent    string    `json:"parent,omitempty"`
	Depth     int       `json:"depth"`
	Author    string    `json:"author"`
	Email     string    `json:"email"`
	Website   string    `json:"website,omitempty"`
	Body      string    `json:"body"`
	HTML      string    `json:"html"`
	Status    Status    `json:"status"`
	BySite    bool      `json:"by_site,omitempty"` // posted by a moderator as the site
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	IPHash    string    `json:"ip_hash,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	History   []Change  `json:"history"`

	// The commenter's opt-ins: email when this comment is published, and
	// when someone replies to it.
	NotifyPublished bool `json:"notify_published,omitempty"`
	NotifyReplies   bool `json:"notify_replies,omitempty"`

	// Trained is what the comment taught the spam classifier (classify.go),
	// kept by storage beside the comment, not in it: exports stay as they
	// were. Score is the classifier's current view, filled in for
	// moderators and never stored.
	Trained *Training         `json:"-"`
	Score   *classifier.Score `json:"score,omitempty"`
}

// UnmarshalJSON reads a comment, including one written before sites
// existed, whose "site" was true for a reply posted as the site: stored
// comments are rewritten by the upgrade, but old exports stay importable.
func (c *Comment) UnmarshalJSON(data []byte) error {
	type plain Comment
	v := struct {
		*plain
		Site json.RawMessage `json:"site"`
	}{plain: (*plain)(c)}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch s := string(v.Site); s {
	case "", "null", "false":
	case "true":
		c.BySite = true
	default:
		return json.Unmarshal(v.Site, &c.Site)
	}
	return nil
}

// Change is one step in a comment's status history.
type Change struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`               // moderator or token name; "system" for automatic decisions
	Reason string    `json:"reason,omitempty"` // e.g. the check that filed it as spam
}

// Public is the part of a comment that readers see.
type Public struct {
	ID      string    `json:"id"`
	Parent  *string   `json:"parent"`
	Author  string    `json:"author,omitempty"`
	Website string    `json:"website,omitempty"`
	HTML    string    `json:"html,omitempty"`
	Site    bool      `json:"site,omitempty"`
	Deleted bool      `json:"deleted,omitempty"`
	Created time.Time `json:"created"`
}

// Public returns what readers may see of c. A tombstone shows only its place.
func (c *Comment) Public() Public {
	p := Public{ID: c.ID, Created: c.Created}
	if c.Parent != "" {
		parent := c.Parent
		p.Parent = &parent
	}
	if c.Status == StatusDeleted {
		p.Deleted = true
		return p
	}
	p.Author, p.Website, p.HTML, p.Site = c.Author, c.Website, c.HTML, c.BySite
	return p
}

// move sets c's status, recording who did it. It reports whether anything
// changed, so that repeating an action is a no-op (idempotent API).
func (c *Comment) move(to Status, by, reason string, now time.Time) bool {
	if c.Status == to {
		return false
	}
	c.Status = to
	c.Updated = now
	c.History = append(c.History, Change{Status: to, At: now, By: by, Reason: reason})
	return true
}

// tombstone wipes everything personal from c, keeping its place in the thread.
func (c *Comment) tombstone(by string, now time.Time) {
	c.move(StatusDeleted, by, "", now)
	c.Author, c.Email, c.Website, c.Body, c.HTML = "", "", "", "", ""
	c.IPHash, c.UserAgent = "", ""
	c.Trained = nil // what it taught stays in the model: deleting is not a change of mind
}

// idEncoding is Crockford's base32 alphabet, whose characters sort in the same
// order as the bytes they encode, so IDs sort by creation time as strings.
var idEncoding = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// NewID returns a 26-character ID: 48 bits of milliseconds then 80 random bits.
// IDs sort by creation time and never collide in practice; storage still
// refuses a duplicate with ErrConflict. Within one millisecond a process's
// IDs count up from its first one instead of being random, so comments sent
// in the same millisecond still list in the order they came.
func NewID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	lastID.Lock()
	if [6]byte(b[:6]) == [6]byte(lastID.b[:6]) {
		b = lastID.b
		for i := 15; i >= 6; i-- { // one more than the last
			if b[i]++; b[i] != 0 {
				break
			}
		}
	} else {
		_, _ = rand.Read(b[6:])
	}
	lastID.b = b
	lastID.Unlock()
	return idEncoding.EncodeToString(b[:])
}

// lastID is the ID NewID gave last.
var lastID struct {
	sync.Mutex
	b [16]byte
}
