package moderation

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Form is what the widget gets when it shows the comment form: a signed,
// single-use token to send back as "token", and, when proof of work is on,
// the puzzle to solve before submitting.
type Form struct {
	Token   string     `json:"token"`
	Expires time.Time  `json:"expires"`
	PoW     *Challenge `json:"pow"`
}

// formToken is what a token says. It is not secret, only signed: the
// commenter may read it but cannot change it or make one.
//
// Layout (61 bytes, then base64url): version 1 | issued ms | expires ms |
// PoW max number (uint32, 0 = none) | 16-byte nonce | first 8 bytes of
// SHA-256(post) | first 16 bytes of HMAC-SHA-256(key, all before).
type formToken struct {
	issued, expires time.Time
	maxNumber       uint32
	nonce           [16]byte
	post            [8]byte
}

const (
	formTokenVersion = 1
	formTokenBody    = 1 + 8 + 8 + 4 + 16 + 8
	formTokenMAC     = 16
)

// Form issues a form token for post on site, good for that site only.
func (f *SpamFilter) Form(ctx context.Context, site, post string) (Form, error) {
	post = strings.TrimSpace(post)
	if err := checkPostKey(post); err != nil {
		return Form{}, err
	}
	st, err := f.store.Site(ctx, site)
	if err != nil {
		return Form{}, err
	}
	opts := f.optsFor(st)
	now := f.now()
	t := formToken{issued: now, expires: now.Add(opts.TokenLifetime), maxNumber: uint32(opts.PoWMaxNumber), post: postHash(sitePost(st, post))}
	_, _ = rand.Read(t.nonce[:])
	form := Form{Token: f.sign(t), Expires: t.expires.Truncate(time.Millisecond)}
	if t.maxNumber > 0 {
		c := f.challenge(t)
		form.PoW = &c
	}
	return form, nil
}

// sitePost names a post of a site for form tokens and duplicate claims: the
// post key alone on the default site, as before sites (so tokens handed
// out before the upgrade still work), else the site's id and the key.
func sitePost(site *Site, post string) []byte {
	if site == nil || site.ID == DefaultSite {
		return []byte(post)
	}
	return []byte(site.ID + "\x00" + post)
}

func postHash(post []byte) (h [8]byte) {
	sum := sha256.Sum256(post)
	copy(h[:], sum[:])
	return h
}

func (f *SpamFilter) sign(t formToken) string {
	b := make([]byte, 0, formTokenBody+formTokenMAC)
	b = append(b, formTokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(t.issued.UnixMilli()))
	b = binary.BigEndian.AppendUint64(b, uint64(t.expires.UnixMilli()))
	b = binary.BigEndian.AppendUint32(b, t.maxNumber)
	b = append(b, t.nonce[:]...)
	b = append(b, t.post[:]...)
	b = append(b, f.mac(b)[:formTokenMAC]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// parse returns the token if it is well formed and carries our signature.
func (f *SpamFilter) parse(token string) (formToken, bool) {
	var t formToken
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != formTokenBody+formTokenMAC || b[0] != formTokenVersion {
		return t, false
	}
	if !hmac.Equal(b[formTokenBody:], f.mac(b[:formTokenBody])[:formTokenMAC]) {
		return t, false
	}
	t.issued = time.UnixMilli(int64(binary.BigEndian.Uint64(b[1:9]))).UTC()
	t.expires = time.UnixMilli(int64(binary.BigEndian.Uint64(b[9:17]))).UTC()
	t.maxNumber = binary.BigEndian.Uint32(b[17:21])
	copy(t.nonce[:], b[21:37])
	copy(t.post[:], b[37:45])
	return t, true
}

func (f *SpamFilter) mac(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, f.key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// checkFormToken files as spam a submission whose token is missing, forged,
// for another post, expired, sent faster than a person fills a form, or
// (when the token carries a puzzle) without the puzzle's answer. A good token
// is claimed, so that a second use of it is filed as spam too.
func (f *SpamFilter) checkFormToken(sub *Submission) string {
	if sub.Token == "" {
		return "form token: missing (posted without loading the form)"
	}
	t, ok := f.parse(sub.Token)
	fill := f.optsFor(sub.site).MinFill
	switch now := f.now(); {
	case !ok:
		return "form token: forged or damaged"
	case t.post != postHash(sitePost(sub.site, sub.Post)):
		return "form token: issued for another post"
	case !now.Before(t.expires):
		return "form token: expired " + now.Sub(t.expires).Round(time.Second).String() + " ago"
	case fill > 0 && now.Sub(t.issued) < fill:
		return fmt.Sprintf("form token: sent %.1fs after the form was shown (at least %s expected)",
			now.Sub(t.issued).Seconds(), fill)
	}
	if t.maxNumber > 0 {
		if reason := f.checkPoW(t, sub.Nonce); reason != "" {
			return reason
		}
	}
	sub.claim(Claim{Key: "form:" + hex.EncodeToString(t.nonce[:]), Until: t.expires, Taken: func(c *Comment) error {
		fileAsSpam(c, "form token: already used")
		return nil
	}})
	return ""
}
