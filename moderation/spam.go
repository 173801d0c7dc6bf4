package moderation

import (
	"context"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// SpamOptions configures the anti-spam pipeline. Start from
// DefaultSpamOptions: a zero field turns its check off.
type SpamOptions struct {
	MinFill         time.Duration    // least time from form token to submission; 0: no timing check
	TokenLifetime   time.Duration    // how long a form token is good for
	MaxLinks        int              // more links than this files a comment as spam; negative: no link check
	DuplicateWindow time.Duration    // the same body again within this is refused; 0: no duplicate check
	PoWMaxNumber    int              // > 0 turns proof of work on, with puzzles up to this number
	Clock           func() time.Time // defaults to time.Now
}

// DefaultSpamOptions is the pipeline as shipped.
func DefaultSpamOptions() SpamOptions {
	return SpamOptions{MinFill: 3 * time.Second, TokenLifetime: 24 * time.Hour, MaxLinks: 2, DuplicateWindow: 24 * time.Hour}
}

// DefaultPoWMaxNumber makes a puzzle that a desktop browser solves in about
// half a second at the median (BENCHMARKS.md), a phone in a second or two,
// while a bot pays the same for every comment it sends.
const DefaultPoWMaxNumber = 100_000

// SpamStore is the part of Store the anti-spam pipeline reads.
type SpamStore interface {
	// Site is SiteStore.Site: a site's settings override the options.
	Site(ctx context.Context, id string) (*Site, error)
	// Secret is Store.Secret.
	Secret(ctx context.Context, name string, size int) ([]byte, error)
	BlocklistStore
}

// SpamFilter is Parley's anti-spam pipeline: it issues form tokens, keeps the
// blocklists and provides the ordered Checks for Options.Checks. It is safe
// for concurrent use; build one at start.
type SpamFilter struct {
	store  SpamStore
	opts   SpamOptions
	now    func() time.Time
	key    []byte   // HMAC key of form tokens and claim keys
	blocks sync.Map // site id → *blockMatcher: its blocklist as last loaded or saved
	peers  *Service // tells other processes of blocklist edits; see ShareWith
}

// optsFor returns the options in effect on a site: its settings over the
// instance's options.
func (f *SpamFilter) optsFor(site *Site) SpamOptions {
	o := f.opts
	if site == nil {
		return o
	}
	x := site.Settings
	if x.MinFillSeconds != nil {
		o.MinFill = time.Duration(*x.MinFillSeconds) * time.Second
	}
	if x.MaxLinks != nil {
		o.MaxLinks = *x.MaxLinks
	}
	if x.DuplicateMinutes != nil {
		o.DuplicateWindow = time.Duration(*x.DuplicateMinutes) * time.Minute
	}
	switch {
	case x.PoW == nil:
	case !*x.PoW:
		o.PoWMaxNumber = 0
	case o.PoWMaxNumber <= 0:
		o.PoWMaxNumber = DefaultPoWMaxNumber
	}
	return o
}

// Defaults returns the instance's settings that the pipeline's options
// make, over d.
func (o SpamOptions) Defaults(d Settings) Settings {
	d.MinFillSeconds = int(o.MinFill / time.Second)
	d.MaxLinks = o.MaxLinks
	d.DuplicateMinutes = int(o.DuplicateWindow / time.Minute)
	d.PoW = o.PoWMaxNumber > 0
	return d
}

// NewSpamFilter loads the pipeline's secret and builds the filter.
func NewSpamFilter(ctx context.Context, store SpamStore, opts SpamOptions) (*SpamFilter, error) {
	key, err := store.Secret(ctx, SecretFormToken, 32)
	if err != nil {
		return nil, fmt.Errorf("load form token secret: %w", err)
	}
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = DefaultSpamOptions().TokenLifetime
	}
	return &SpamFilter{store: store, opts: opts, now: func() time.Time { return clock().UTC() }, key: key}, nil
}

// Checks returns the pipeline, in order. The first check to give a reason
// decides, and its reason is what moderators see in the comment's history:
//
//  1. duplicate: the same body on the same post within the window, checked
//     at write time. From the same client under the same email (or, for
//     bodies of 40 characters or more, under any email) it is refused with
//     409, so the commenter knows; from the same email on another client it
//     is filed as spam and answered like any new comment, so that nobody
//     learns of a comment that is not public;
//  2. honeypot: the hidden "nickname" field was filled;
//  3. form token: missing, forged, for another post, expired, too fast,
//     already used, or a wrong proof of work;
//  4. blocklist: a blocked word or phrase, email address or domain, or
//     client network;
//  5. links: more than MaxLinks links in the body.
func (f *SpamFilter) Checks() []Check {
	return []Check{
		f.checkDuplicate,
		pure(checkHoneypot),
		pure(f.checkFormToken),
		f.checkBlocklist,
		pure(f.checkLinks),
	}
}

// pure adapts a check that needs only the submission.
func pure(check func(*Submission) string) Check {
	return func(_ context.Context, sub *Submission, _ Client) (string, error) { return check(sub), nil }
}

func checkHoneypot(sub *Submission) string {
	if sub.Honeypot != "" {
		return "honeypot: the hidden nickname field was filled"
	}
	return ""
}

// linkPattern finds what a reader would see as a link: an http(s) or ftp URL
// or a www. address (goldmark's Linkify), Markdown or not. Each match runs to
// the next space, so "https://www.example.com" counts once.
var linkPattern = regexp.MustCompile(`(?i)\b(?:https?://|ftp://|www\.)\S*`)

func (f *SpamFilter) checkLinks(sub *Submission) string {
	max := f.optsFor(sub.site).MaxLinks
	if max < 0 {
		return ""
	}
	if n := len(linkPattern.FindAllStringIndex(sub.Body, -1)); n > max {
		return fmt.Sprintf("links: %d links in the body, more than %d", n, max)
	}
	return ""
}

// ErrDuplicate refuses a comment that the same client already sent: the
// person pressed Send twice, and a clear answer helps them.
var ErrDuplicate = Errorf(CodeConflict, "You already posted this comment.")

// minDuplicateByClient is the body length from which the same text from the
// same client counts as a duplicate even under another email: short replies
// ("Thanks!") from two people behind one address are not.
const minDuplicateByClient = 40

// reasonDuplicate is what moderators see on a duplicate filed as spam.
const reasonDuplicate = "duplicate: the same text on this post from the same email within the window"

// checkDuplicate takes claims on the submission's text. Only the client
// that sent it before hears "409 already posted": anyone else, who could
// be guessing a post, text and email to learn of a comment not yet public,
// gets the same 202 as a new comment, and the copy is filed as spam for
// moderators to see.
func (f *SpamFilter) checkDuplicate(_ context.Context, sub *Submission, client Client) (string, error) {
	window := f.optsFor(sub.site).DuplicateWindow
	if window <= 0 {
		return "", nil
	}
	text, until := duplicateText(sub.Body), f.now().Add(window)
	refuse := func(*Comment) error { return ErrDuplicate }
	file := func(c *Comment) error { fileAsSpam(c, reasonDuplicate); return nil }
	key := func(who string) string {
		return "body:" + hexMAC(f.mac(sitePost(sub.site, sub.Post), []byte{0}, []byte(text), []byte{0}, []byte(who)))
	}
	email := "email:" + strings.ToLower(sub.Email)
	if client.IP != "" {
		sub.claim(Claim{Key: key("ip:" + client.IP + "\x00" + email), Until: until, Taken: refuse})
		if utf8.RuneCountInString(text) >= minDuplicateByClient {
			sub.claim(Claim{Key: key("ip:" + client.IP), Until: until, Taken: refuse})
		}
	}
	sub.claim(Claim{Key: key(email), Until: until, Taken: file})
	return "", nil
}

// duplicateText is the form in which bodies are compared: normalizeText, so
// that case, spacing and punctuation do not hide a copy. A body with no
// letter or digit would normalise to nothing and collide with every other
// such body ("****" with ">>>>"), so it is compared as it is.
func duplicateText(body string) string {
	if t := normalizeText(body); strings.TrimSpace(t) != "" {
		return t
	}
	return "\x00as sent:" + body
}

func hexMAC(mac []byte) string { return hex.EncodeToString(mac[:16]) }

// normalizeText lowercases s and turns every run of anything but letters and
// digits into one space, padded at both ends, so that " phrase " matches
// whole words whatever the punctuation, case and spacing.
func normalizeText(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	space := true
	b.WriteByte(' ')
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	if !space {
		b.WriteByte(' ')
	}
	return b.String()
}
