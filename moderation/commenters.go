package moderation

import (
	"context"
	"net/mail"
	"strings"
	"time"
)

// Commenter is what Parley knows of one email address across its comments.
type Commenter struct {
	Approved        int       `json:"approved"` // approved comments from this address, counted by storage
	Verified        time.Time `json:"verified,omitzero"`
	Unsubscribed    time.Time `json:"unsubscribed,omitzero"`
	VerifyRequested time.Time `json:"verify_requested,omitzero"`
}

// EmailKey is the form under which an address is known across comments:
// trimmed and lower-cased, so Ada@Example.com and ada@example.com are one.
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CommenterStore keeps what is known of commenters' addresses, the
// single-use links mailed to them and moderators' own preferences.
type CommenterStore interface {
	// Commenter returns what is known of an address; an unknown one is a
	// zero Commenter, not an error.
	Commenter(ctx context.Context, email string) (*Commenter, error)
	// UpdateCommenter changes an address's record in one transaction, and
	// queues the deliveries fn returns in that same transaction.
	UpdateCommenter(ctx context.Context, email string, fn func(c *Commenter) ([]*Delivery, error)) error

	// UseLink records that the link with nonce was used, or returns
	// ErrConflict if it already was. The record may be forgotten after expires.
	UseLink(ctx context.Context, nonce string, expires time.Time) error
	// LinkUsed reports whether UseLink has recorded nonce.
	LinkUsed(ctx context.Context, nonce string) (bool, error)

	// UpdateModerator loads a moderator, lets fn change it and saves it in
	// one transaction; ErrNotFound if there is no such moderator.
	UpdateModerator(ctx context.Context, name string, fn func(m *Moderator) error) error
}

// VerifyEvery is the least time between two verification emails to one
// address, so that nobody can use Parley to flood a mailbox.
const VerifyEvery = 10 * time.Minute

// RequestVerification queues an email with a link that verifies address.
// Asking again within VerifyEvery sends nothing and is not an error: the
// answer never tells whether an address is known.
func (s *Service) RequestVerification(ctx context.Context, email string) error {
	email = strings.TrimSpace(email)
	if email == "" {
		return invalid("email", "is required")
	}
	if len(email) > 254 || strings.ContainsFunc(email, isControlOrInvisible) {
		return invalid("email", "must be a valid email address")
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" {
		return invalid("email", "must be a valid email address")
	}
	cs := s.store
	now := s.now()
	return cs.UpdateCommenter(ctx, email, func(c *Commenter) ([]*Delivery, error) {
		if now.Sub(c.VerifyRequested) < VerifyEvery {
			return nil, nil
		}
		c.VerifyRequested = now
		return []*Delivery{{Kind: DeliverVerify, To: email, Created: now, Due: now}}, nil
	})
}

// VerificationLink returns the token of a link that verifies email.
func (s *Service) VerificationLink(email string) string {
	return s.seal(linkClaims{Purpose: purposeVerify, Email: email, Expires: s.now().Add(VerifyTTL).Unix()})
}

// OpenVerification returns the address a verification link is for.
func (s *Service) OpenVerification(token string) (string, error) {
	c, err := s.unseal(purposeVerify, token)
	return c.Email, err
}

// ConfirmVerification marks the link's address as verified, and lifts an
// unsubscription of it: its owner has just shown they want Parley's mail.
func (s *Service) ConfirmVerification(ctx context.Context, token string) (string, error) {
	return s.updateByLink(ctx, purposeVerify, token, func(c *Commenter, now time.Time) {
		if c.Verified.IsZero() {
			c.Verified = now
		}
		c.Unsubscribed = time.Time{}
	})
}

// UnsubscribeLink returns the token of a link that stops every email to
// address. It does not expire: an old email's link must still work.
func (s *Service) UnsubscribeLink(email string) string {
	return s.seal(linkClaims{Purpose: purposeUnsubscribe, Email: email})
}

// OpenUnsubscribe returns the address an unsubscribe link is for.
func (s *Service) OpenUnsubscribe(token string) (string, error) {
	c, err := s.unseal(purposeUnsubscribe, token)
	return c.Email, err
}

// Unsubscribe stops every email to the link's address, whatever boxes it
// ticks later, until it verifies itself again.
func (s *Service) Unsubscribe(ctx context.Context, token string) (string, error) {
	return s.updateByLink(ctx, purposeUnsubscribe, token, func(c *Commenter, now time.Time) {
		if c.Unsubscribed.IsZero() {
			c.Unsubscribed = now
		}
	})
}

// updateByLink opens a commenter's link of the given purpose and changes the
// record of its address, returning the address.
func (s *Service) updateByLink(ctx context.Context, purpose, token string, change func(*Commenter, time.Time)) (string, error) {
	claims, err := s.unseal(purpose, token)
	if err != nil {
		return "", err
	}
	cs := s.store
	now := s.now()
	return claims.Email, cs.UpdateCommenter(ctx, claims.Email, func(c *Commenter) ([]*Delivery, error) {
		change(c, now)
		return nil, nil
	})
}

// trusted reports whether a submission from email may skip the queue: trust
// is on, the address was verified, and it already has enough approved
// comments. Any doubt (an error) means no.
func (s *Service) trusted(ctx context.Context, after int, email string) bool {
	if after <= 0 {
		return false
	}
	cs := s.store
	c, err := cs.Commenter(ctx, email)
	return err == nil && !c.Verified.IsZero() && c.Approved >= after
}
