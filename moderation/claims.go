package moderation

import (
	"context"
	"time"
)

// Claim is a key that a new comment holds for a while. The store records it in
// the same transaction that stores the comment, so two submissions can never
// both take it, not even at the same instant: that is how a form token is
// spent only once and a body is accepted only once per window, with no gap
// between the check and the write it guards.
type Claim struct {
	Key   string
	Until time.Time // the claim is held until then, and forgotten after
	// Taken is called inside the transaction when Key is still held at the
	// comment's creation time. It refuses the comment with an error, or files
	// it as spam (with fileAsSpam) and returns nil.
	Taken func(c *Comment) error
}

// ClaimStore is the part of Store that claims need.
type ClaimStore interface {
	// CreateCommentClaiming is Store.CreateComment that also takes claims in
	// the same transaction: for each claim still held it calls Taken (whose
	// error is returned as is, storing nothing), then records every claim.
	// Each attempt starts from c as it was given, so Taken may change it.
	CreateCommentClaiming(ctx context.Context, c *Comment, claims []Claim, attach func(parent *Comment) error) error
	// PurgeClaims forgets the claims held until before now and says how many.
	PurgeClaims(ctx context.Context, now time.Time) (int, error)
}

// claim adds a key that the comment must take when it is stored.
func (s *Submission) claim(c Claim) { s.claims = append(s.claims, c) }

// create stores a new comment, taking its claims in the same transaction.
func (s *Service) create(ctx context.Context, c *Comment, claims []Claim, attach func(parent *Comment) error) error {
	if len(claims) == 0 {
		return s.store.CreateComment(ctx, c, attach)
	}
	return s.store.CreateCommentClaiming(ctx, c, claims, attach)
}

// fileAsSpam files a comment that is being created as spam, with reason as
// the one decision in its history. A comment already filed keeps its first
// reason: the first check that decided is the one moderators see.
func fileAsSpam(c *Comment, reason string) {
	if c.Status == StatusSpam {
		return
	}
	c.Status = StatusSpam
	c.History = []Change{{Status: StatusSpam, At: c.Created, By: "system", Reason: reason}}
}
