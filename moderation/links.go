package moderation

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Links in emails carry sealed tokens: AES-GCM under a key derived from the
// server secret, so a token can be neither forged nor read. Nothing in a
// link's URL (an address, a comment id) shows up in a proxy's access log.

// LinkTTL is how long the approve and reject links of a notification work.
const LinkTTL = 7 * 24 * time.Hour

// VerifyTTL is how long an email-verification link works.
const VerifyTTL = 48 * time.Hour

// The ways a link can fail, each with a message for the person who clicked.
var (
	ErrLinkInvalid = Errorf(CodeNotFound, "This link is not valid. Please copy the whole address from the email.")
	ErrLinkExpired = Errorf(CodeNotFound, "This link has expired.")
	ErrLinkUsed    = Errorf(CodeConflict, "This link was already used; each one works only once.")
)

// The purposes a token is sealed for; a token of one purpose opens no other.
const (
	purposeModerate    = "m"
	purposeVerify      = "v"
	purposeUnsubscribe = "u"
)

type linkClaims struct {
	Purpose   string `json:"p"`
	Site      string `json:"s,omitempty"`
	Comment   string `json:"c,omitempty"`
	Action    Action `json:"a,omitempty"`
	Moderator string `json:"m,omitempty"`
	Email     string `json:"e,omitempty"`
	Expires   int64  `json:"x,omitempty"` // Unix seconds; 0 never expires

	nonce string // the sealing nonce: random, so it names a single-use link
}

// linkCipher derives the sealing key from the server secret, so no new
// secret needs storing and the IP-hash key itself never seals anything.
func (s *Service) linkCipher() cipher.AEAD {
	m := hmac.New(sha256.New, s.ipKey)
	m.Write([]byte("parley link tokens v1"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

func (s *Service) seal(c linkClaims) string {
	plain, _ := json.Marshal(c)
	aead := s.linkCipher()
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, nil))
}

func (s *Service) unseal(purpose, token string) (linkClaims, error) {
	var c linkClaims
	raw, err := base64.RawURLEncoding.DecodeString(token)
	aead := s.linkCipher()
	if err != nil || len(raw) < aead.NonceSize() {
		return c, ErrLinkInvalid
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
	if err != nil || json.Unmarshal(plain, &c) != nil || c.Purpose != purpose {
		return c, ErrLinkInvalid
	}
	c.nonce = base64.RawURLEncoding.EncodeToString(raw[:aead.NonceSize()])
	if c.Expires != 0 && s.now().Unix() >= c.Expires {
		return c, ErrLinkExpired
	}
	return c, nil
}

// ModerationLink returns the token of a link with which moderator may take
// action on comment of site once, until LinkTTL has passed.
func (s *Service) ModerationLink(moderator, site, comment string, action Action) string {
	return s.seal(linkClaims{Purpose: purposeModerate, Site: site, Comment: comment, Action: action, Moderator: moderator,
		Expires: s.now().Add(LinkTTL).Unix()})
}

// LinkRequest is what a moderation link asks for, shown on its confirmation
// page before anything is done.
type LinkRequest struct {
	Action    Action
	Moderator string
	Comment   *Comment
	Expires   time.Time
	nonce     string
}

// OpenModerationLink checks a link without using it. A link is refused when
// it is forged, expired or used, and when its comment has left the queue
// (another moderator got there first): its job is done.
func (s *Service) OpenModerationLink(ctx context.Context, token string) (*LinkRequest, error) {
	c, err := s.unseal(purposeModerate, token)
	if err != nil {
		return nil, err
	}
	if _, ok := target[c.Action]; !ok {
		return nil, ErrLinkInvalid
	}
	ls := s.store
	used, err := ls.LinkUsed(ctx, c.nonce)
	if err != nil {
		return nil, err
	}
	if used {
		return nil, ErrLinkUsed
	}
	site := c.Site
	if site == "" { // a link mailed before sites existed
		site = DefaultSite
	}
	// The link works only while its moderator still moderates the site.
	m, err := s.store.Moderator(ctx, c.Moderator)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrLinkInvalid
	}
	if err != nil {
		return nil, err
	}
	if !actorOf(m, "").Moderates(site) {
		return nil, ErrNotFound
	}
	comment, err := s.store.Comment(ctx, site, c.Comment)
	if errors.Is(err, ErrNotFound) || (err == nil && comment.Status == StatusDeleted) {
		return nil, Errorf(CodeNotFound, "This comment was deleted.")
	}
	if err != nil {
		return nil, err
	}
	if comment.Status != StatusPending {
		return nil, Errorf(CodeConflict, fmt.Sprintf("This comment is no longer waiting: it was marked %s. Open the admin page to change that.", comment.Status))
	}
	return &LinkRequest{Action: c.Action, Moderator: c.Moderator, Comment: comment,
		Expires: time.Unix(c.Expires, 0).UTC(), nonce: c.nonce}, nil
}

// UseModerationLink does what a link asks, once, as the moderator it was
// mailed to (with the role they have now: a removed moderator's links die).
// from is the request's IP hash, for the audit log.
func (s *Service) UseModerationLink(ctx context.Context, token, from string) (*LinkRequest, error) {
	req, err := s.OpenModerationLink(ctx, token)
	if err != nil {
		return nil, err
	}
	m, err := s.store.Moderator(ctx, req.Moderator)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrLinkInvalid
	}
	if err != nil {
		return nil, err
	}
	ls := s.store
	if err := ls.UseLink(ctx, req.nonce, req.Expires); errors.Is(err, ErrConflict) {
		return nil, ErrLinkUsed
	} else if err != nil {
		return nil, err
	}
	req.Comment, err = s.ModerateOne(ctx, actorOf(m, from), req.Comment.Site, req.Comment.ID, req.Action)
	return req, err
}
