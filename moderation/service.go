package moderation

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Service is the one door to Parley's rules: the server, the command line and
// every later feature go through it, never to the Store directly.
type Service struct {
	store         Store
	validator     *Validator
	renderer      *Renderer
	now           func() time.Time
	ipKey         []byte
	checks        []Check
	listeners     []func(context.Context, Event)
	siteListeners []func(site string)
	spam          *spamModels // the classifier, one model per site (classify.go)

	defaults Settings // the instance's settings; see Options.Defaults
	siteIx   atomic.Pointer[siteIndex]

	// other processes on the database (peers.go)
	peers           atomic.Pointer[peers]
	resyncListeners []func()
	remoteListeners map[string][]func(site string)
}

// Options configures a Service. Zero values are sane defaults.
type Options struct {
	Clock  func() time.Time // defaults to time.Now
	Checks []Check          // the anti-spam pipeline, run in order

	// TrustAfter publishes at once what a commenter with a verified email
	// and at least this many approved comments sends; 0 turns trust off.
	// It is the instance default; a site may set its own.
	TrustAfter int

	// Defaults are the instance's settings that sites inherit (zero:
	// DefaultSettings, with TrustAfter above).
	Defaults *Settings

	// SpamThreshold is the classifier score above which a submission is
	// filed as spam; 0 means DefaultSpamThreshold, 1 or more files nothing.
	// It holds for every site's model.
	SpamThreshold float64
}

// NewService builds the service and everything it shares across requests.
func NewService(ctx context.Context, store Store, opts Options) (*Service, error) {
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	key, err := store.Secret(ctx, "ip-hash", 32)
	if err != nil {
		return nil, fmt.Errorf("load IP hash secret: %w", err)
	}
	defaults := DefaultSettings()
	if opts.Defaults != nil {
		defaults = *opts.Defaults
	}
	if opts.TrustAfter != 0 {
		defaults.TrustAfter = opts.TrustAfter
	}
	spam, err := loadModels(ctx, store, opts.SpamThreshold)
	if err != nil {
		return nil, err
	}
	return &Service{
		store:     store,
		validator: NewValidator(),
		renderer:  NewRenderer(),
		now:       func() time.Time { return clock().UTC() },
		ipKey:     key,
		checks:    opts.Checks,
		spam:      spam,

		defaults: defaults,
	}, nil
}

// Client is what the server knows of who sent a request.
type Client struct {
	IP        string
	UserAgent string
}

// maxUserAgent is how much of a user agent is kept: enough to tell a browser
// from a script, not enough to fingerprint.
const maxUserAgent = 200

// Check is one step of the anti-spam pipeline. It returns a non-empty reason
// to file the submission as spam, or an error to refuse it outright.
type Check func(ctx context.Context, sub *Submission, client Client) (spamReason string, err error)

// EventKind names what happened to comments.
type EventKind string

// The events listeners hear about, always after the change committed.
const (
	EventSubmitted EventKind = "submitted"
	EventModerated EventKind = "moderated"
	EventDeleted   EventKind = "deleted"
)

// Event tells listeners which comments changed, as they are now.
type Event struct {
	Kind     EventKind
	Comments []*Comment
	Actor    string
	// Remote marks a change another process made (see FollowPeers): its
	// comments hold only ID, Site, Post and Status, and listeners that
	// count the work done here (metrics) skip it.
	Remote bool
}

// Subscribe registers fn to hear every committed change. It is called on the
// request's goroutine, so it must hand slow work (email) to a queue.
// Register listeners before serving.
func (s *Service) Subscribe(fn func(context.Context, Event)) {
	s.listeners = append(s.listeners, fn)
}

func (s *Service) publish(ctx context.Context, e Event) {
	if len(e.Comments) == 0 {
		return
	}
	for _, fn := range s.listeners {
		fn(ctx, e)
	}
	if !e.Remote {
		s.tell(ctx, notesOf(e)...)
	}
}

// Now is the service's clock, in UTC.
func (s *Service) Now() time.Time { return s.now() }

// HashIP returns the keyed hash under which a client's IP is kept: enough to
// group a client's comments and to rate-limit, useless to recover the address.
func (s *Service) HashIP(ip string) string {
	if ip == "" {
		return ""
	}
	m := hmac.New(sha256.New, s.ipKey)
	m.Write([]byte(ip))
	return hex.EncodeToString(m.Sum(nil)[:12])
}

// Submit validates, renders and queues a comment for moderation on site,
// which the caller resolved from the request (never from the submission).
// It returns once the comment is committed to disk.
func (s *Service) Submit(ctx context.Context, site string, sub Submission, client Client) (*Comment, error) {
	if err := s.validator.Check(&sub); err != nil {
		return nil, err
	}
	ix, err := s.index(ctx)
	if err != nil {
		return nil, err
	}
	st, ok := ix.byID[site]
	if !ok {
		return nil, ErrNotFound
	}
	sub.site = st
	html, err := s.renderer.Render(sub.Body)
	if err != nil {
		return nil, fmt.Errorf("render body: %w", err)
	}
	status, reason := StatusPending, ""
	for _, check := range s.checks {
		r, err := check(ctx, &sub, client)
		if err != nil {
			return nil, err
		}
		if r != "" {
			status, reason = StatusSpam, r
			break
		}
	}
	if status == StatusPending {
		r, err := s.screen(ctx, site, &sub)
		if err != nil {
			return nil, err
		}
		if r != "" {
			status, reason = StatusSpam, r
		}
	}
	if status == StatusPending && s.trusted(ctx, st.Settings.In(s.defaults).TrustAfter, sub.Email) {
		status, reason = StatusApproved, "trusted commenter"
	}
	now := s.now()
	c := &Comment{
		ID: NewID(now), Site: site, Post: sub.Post, Parent: sub.Parent,
		Author: sub.Author, Email: sub.Email, Website: sub.Website,
		Body: sub.Body, HTML: html, Status: status,
		Created: now, Updated: now,
		IPHash: s.HashIP(client.IP), UserAgent: truncate(client.UserAgent, maxUserAgent),
		History:         []Change{{Status: status, At: now, By: "system", Reason: reason}},
		NotifyPublished: sub.NotifyPublished, NotifyReplies: sub.NotifyReplies,
	}
	if err := s.create(ctx, c, sub.claims, func(parent *Comment) error { return attach(c, parent) }); err != nil {
		return nil, err
	}
	s.publish(ctx, Event{Kind: EventSubmitted, Comments: []*Comment{c}})
	return c, nil
}

// attach is the rule for replies: the parent must be an approved comment on
// the same post, and a reply deeper than MaxDepth joins its parent's level.
func attach(c, parent *Comment) error {
	if parent == nil || parent.Post != c.Post || parent.Status != StatusApproved {
		return invalid("parent", "must be a published comment on the same post")
	}
	c.Depth = parent.Depth + 1
	if c.Depth > MaxDepth {
		c.Parent, c.Depth = parent.Parent, MaxDepth
	}
	return nil
}

// Thread returns what readers see of a post: approved comments oldest first,
// with tombstones where a deleted comment still has published replies.
func (s *Service) Thread(ctx context.Context, site, post string) ([]Public, error) {
	if err := checkPostKey(post); err != nil {
		return nil, err
	}
	cs, err := s.store.Thread(ctx, site, post)
	if err != nil {
		return nil, err
	}
	out := make([]Public, len(cs))
	for i, c := range cs {
		out[i] = c.Public()
	}
	return out, nil
}

// MaxCountPosts is how many posts one counts request may ask about.
const MaxCountPosts = 100

// Counts returns approved counts for listing pages.
func (s *Service) Counts(ctx context.Context, site string, posts []string) (map[string]int, error) {
	if len(posts) == 0 {
		return nil, invalid("post", "is required")
	}
	if len(posts) > MaxCountPosts {
		return nil, invalid("post", fmt.Sprintf("must name at most %d posts", MaxCountPosts))
	}
	for _, p := range posts {
		if err := checkPostKey(p); err != nil {
			return nil, err
		}
	}
	return s.store.ApprovedCounts(ctx, site, posts)
}

func checkPostKey(post string) error {
	switch {
	case post == "":
		return invalid("post", "is required")
	case len(post) > 512:
		return invalid("post", "must be at most 512 bytes")
	case !utf8.ValidString(post):
		return invalid("post", "must be valid UTF-8 text")
	}
	return nil
}

// Comment returns one comment of site with every field and its score, for
// moderators of that site; to anyone else it is ErrNotFound.
func (s *Service) Comment(ctx context.Context, actor Actor, site, id string) (*Comment, error) {
	if err := mayAct(actor, site, PermModerate); err != nil {
		return nil, err
	}
	c, err := s.store.Comment(ctx, site, id)
	if err != nil {
		return nil, err
	}
	return c, s.annotate(ctx, c)
}

// MaxPage is the largest page moderators can ask for.
const MaxPage = 200

// Comments lists comments of site q.Site for its moderators; see
// Store.Comments.
// q.Site AllSites lists the actor's every site at once, each comment
// carrying its site.
func (s *Service) Comments(ctx context.Context, actor Actor, q Query) ([]*Comment, string, error) {
	if q.Site != AllSites {
		if err := mayModerate(actor, q.Site); err != nil {
			return nil, "", err
		}
	}
	if !actor.May(PermModerate) {
		return nil, "", ErrForbidden
	}
	if q.Status == "" {
		q.Status = StatusPending
	}
	if !q.Status.Valid() {
		return nil, "", invalid("status", "must be pending, approved, rejected or spam")
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > MaxPage {
		return nil, "", invalid("limit", fmt.Sprintf("must be at most %d", MaxPage))
	}
	if q.Search = strings.TrimSpace(q.Search); len(q.Search) > MaxSearch {
		return nil, "", invalid("q", fmt.Sprintf("must be at most %d bytes", MaxSearch))
	}
	if q.Sort != "" || q.MinScore != 0 {
		return s.scoredComments(ctx, actor, q)
	}
	cs, next, err := s.page(ctx, actor, q)
	if err != nil {
		return nil, "", err
	}
	return cs, next, s.annotate(ctx, cs...)
}

// Action is a moderation decision.
type Action string

// The moderation actions.
const (
	ActionApprove Action = "approve"
	ActionReject  Action = "reject"
	ActionSpam    Action = "spam"
	ActionDelete  Action = "delete"
	ActionRestore Action = "restore" // back to the pending queue, e.g. to undo a decision
)

// target is the status each action moves a comment to.
var target = map[Action]Status{ActionApprove: StatusApproved, ActionReject: StatusRejected, ActionSpam: StatusSpam,
	ActionRestore: StatusPending}

// MaxBulk is the most comments one bulk action may name.
const MaxBulk = 500

// Result counts what an action did.
type Result struct {
	Action    Action   `json:"action"`
	Changed   int      `json:"changed"`
	Unchanged int      `json:"unchanged"`
	IDs       []string `json:"ids"` // the comments it changed, e.g. to undo it
}

// Moderate applies action to every id, all or nothing. Repeating an action is
// harmless: comments already there count as unchanged.
func (s *Service) Moderate(ctx context.Context, actor Actor, site string, ids []string, action Action) (Result, error) {
	return s.moderate(ctx, actor, site, ids, action, nil)
}

// moderate is Moderate; when only is set, comments it refuses (checked in
// the transaction) are left as they are.
func (s *Service) moderate(ctx context.Context, actor Actor, site string, ids []string, action Action, only func(*Comment) bool) (Result, error) {
	res := Result{Action: action, IDs: []string{}}
	if err := mayAct(actor, site, PermModerate); err != nil {
		return res, err
	}
	if len(ids) == 0 || len(ids) > MaxBulk {
		return res, invalid("ids", fmt.Sprintf("must name 1 to %d comments", MaxBulk))
	}
	if _, ok := target[action]; !ok && action != ActionDelete {
		return res, invalid("action", "must be approve, reject, spam, restore or delete")
	}
	now := s.now()
	var changed []*Comment
	var lessons []lesson
	spam, err := s.spamFor(ctx, site)
	if err != nil {
		return Result{Action: action}, err
	}
	defer spam.deciding()()
	change := func(c *Comment) (*AuditEntry, error) {
		if only != nil && !only(c) {
			res.Unchanged++
			return nil, nil
		}
		if c.Status == StatusDeleted {
			if action == ActionDelete {
				res.Unchanged++
				return nil, nil
			}
			return nil, Errorf(CodeConflict, "Comment "+c.ID+" was deleted and cannot be moderated.")
		}
		if action == ActionDelete {
			c.tombstone(actor.Name, now)
		} else if !c.move(target[action], actor.Name, "", now) {
			res.Unchanged++
			return nil, nil
		}
		if action != ActionDelete {
			lessons = append(lessons, retrain(c))
		}
		res.Changed++
		res.IDs = append(res.IDs, c.ID)
		changed = append(changed, c)
		return &AuditEntry{Site: site, At: now, Actor: actor.Name, Action: string(action), Comment: c.ID, Post: c.Post, From: actor.From}, nil
	}
	update, kind := s.store.UpdateComments, EventModerated
	if action == ActionDelete {
		update, kind = s.store.DeleteComments, EventDeleted
	}
	if err := update(ctx, site, uniq(ids), change); err != nil {
		return Result{Action: action}, err
	}
	spam.learn(lessons)
	s.publish(ctx, Event{Kind: kind, Comments: changed, Actor: actor.Name})
	return res, nil
}

// ModerateOne applies action to one comment and returns it as it is now.
func (s *Service) ModerateOne(ctx context.Context, actor Actor, site, id string, action Action) (*Comment, error) {
	if _, err := s.Moderate(ctx, actor, site, []string{id}, action); err != nil {
		return nil, err
	}
	c, err := s.store.Comment(ctx, site, id)
	if errors.Is(err, ErrNotFound) && action == ActionDelete {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return c, s.annotate(ctx, c)
}

// AuditLog returns the actions on a site, newest first, to its moderators;
// site "" is the instance's own log (sites and people), for owners.
func (s *Service) AuditLog(ctx context.Context, actor Actor, site string, limit int, before uint64) ([]AuditEntry, error) {
	if site == "" && !actor.Can(RoleOwner) {
		return nil, ErrForbidden
	}
	if site != "" {
		if err := mayAct(actor, site, PermAudit); err != nil {
			return nil, err
		}
	}
	if limit <= 0 || limit > MaxPage {
		limit = 50
	}
	return s.store.AuditLog(ctx, site, limit, before)
}

func uniq(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
