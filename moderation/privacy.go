package moderation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// The server secrets, kept in the database.
const (
	SecretIPHash    = "ip-hash"    // keys HashIP
	SecretFormToken = "form-token" // signs form tokens and keys claim keys
)

// RotateSecret replaces a server secret with a fresh random one. It takes
// effect when the service next starts. Rotating SecretIPHash makes every
// stored IP hash unlinkable to new ones: comments from before no longer group
// with the same client's new comments. Rotating SecretFormToken voids every
// form token handed out (comments sent with them are filed as spam) and lets
// a duplicate of a recent body through once.
func (s *Service) RotateSecret(ctx context.Context, actor Actor, name string) error {
	if !actor.May(PermRotateSecret) {
		return ErrForbidden
	}
	if name != SecretIPHash && name != SecretFormToken {
		return invalid("name", "must be "+SecretIPHash+" or "+SecretFormToken)
	}
	return s.store.RotateSecret(ctx, name, 32)
}

// Forget erases a commenter on request: every comment sent with email (in
// any status, whatever its case) is deleted, and the audit log records each
// deletion as "forget" without the address. A comment with replies stays as
// an anonymous tombstone so the thread keeps its shape. site "" forgets the
// commenter on every site. Only owners may.
func (s *Service) Forget(ctx context.Context, actor Actor, site, email string) (int, error) {
	if site != "" {
		if err := mayModerate(actor, site); err != nil {
			return 0, err
		}
	}
	if !actor.May(PermForget) {
		return 0, ErrForbidden
	}
	email = strings.TrimSpace(email)
	if email == "" || len(email) > 254 || !strings.Contains(email, "@") {
		return 0, invalid("email", "must be the email address to forget")
	}
	sites, err := s.siteIDs(ctx, site)
	if err != nil {
		return 0, err
	}
	erased := 0
	for _, site := range sites {
		var ids []string
		for _, status := range Statuses {
			err := s.eachComment(ctx, site, status, func(c *Comment) bool {
				if strings.EqualFold(c.Email, email) {
					ids = append(ids, c.ID)
				}
				return true
			})
			if err != nil {
				return erased, err
			}
		}
		n, err := s.erase(ctx, site, ids, actor, "forget")
		if erased += n; err != nil {
			return erased, err
		}
	}
	return erased, nil
}

// PurgeResult counts what Purge removed.
type PurgeResult struct {
	Comments int // rejected and spam comments past retention
	Claims   int // expired claims (spent form tokens, recent bodies)
}

// Purge deletes the comments that have been rejected or spam for longer than
// retention (0 keeps them forever; a site's retention_days setting wins), on
// every site, and forgets expired claims. Serve runs it periodically; the
// audit log records each comment as purged by "system".
func (s *Service) Purge(ctx context.Context, retention time.Duration) (PurgeResult, error) {
	var res PurgeResult
	now := s.now()
	n, err := s.store.PurgeClaims(ctx, now)
	if err != nil {
		return res, err
	}
	res.Claims = n
	sites, err := s.store.Sites(ctx)
	if err != nil {
		return res, err
	}
	for _, site := range sites {
		keep := retention
		if d := site.Settings.RetentionDays; d != nil {
			keep = time.Duration(*d) * 24 * time.Hour
		}
		n, err := s.purgeSite(ctx, site.ID, now, keep)
		if res.Comments += n; err != nil {
			return res, err
		}
	}
	return res, nil
}

// purgeSite is Purge on one site.
func (s *Service) purgeSite(ctx context.Context, site string, now time.Time, retention time.Duration) (int, error) {
	if retention <= 0 {
		return 0, nil
	}
	cutoff := now.Add(-retention)
	var ids []string
	for _, status := range []Status{StatusRejected, StatusSpam} {
		err := s.eachComment(ctx, site, status, func(c *Comment) bool {
			if c.Created.After(cutoff) {
				return false // oldest first, and a comment changes status only after it is made
			}
			if c.Updated.Before(cutoff) {
				ids = append(ids, c.ID)
			}
			return true
		})
		if err != nil {
			return 0, err
		}
	}
	return s.erase(ctx, site, ids, Actor{Name: "system", Role: RoleOwner}, "purge")
}

// eachComment calls fn on every comment of a status, oldest first, until fn
// returns false.
func (s *Service) eachComment(ctx context.Context, site string, status Status, fn func(*Comment) bool) error {
	q := Query{Site: site, Status: status, Limit: MaxPage}
	for {
		page, next, err := s.store.Comments(ctx, q)
		if err != nil {
			return err
		}
		for _, c := range page {
			if !fn(c) {
				return nil
			}
		}
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
}

// erase deletes comments through the tombstone path, MaxBulk per
// transaction, recording action in the audit log and telling listeners.
func (s *Service) erase(ctx context.Context, site string, ids []string, actor Actor, action string) (int, error) {
	erased := 0
	for chunk := range slices.Chunk(ids, MaxBulk) {
		n, err := s.eraseAll(ctx, site, chunk, actor, action)
		if errors.Is(err, ErrNotFound) {
			// A moderator deleted one meanwhile: erase the rest one by one.
			n, err = 0, nil
			for _, id := range chunk {
				m, e := s.eraseAll(ctx, site, []string{id}, actor, action)
				if e != nil && !errors.Is(e, ErrNotFound) {
					err = e
					break
				}
				n += m
			}
		}
		erased += n
		if err != nil {
			return erased, err
		}
	}
	return erased, nil
}

// eraseAll deletes ids in one transaction, all or nothing.
func (s *Service) eraseAll(ctx context.Context, site string, ids []string, actor Actor, action string) (int, error) {
	now := s.now()
	var deleted []*Comment
	err := s.store.DeleteComments(ctx, site, ids, func(c *Comment) (*AuditEntry, error) {
		c.tombstone(actor.Name, now)
		deleted = append(deleted, c)
		return &AuditEntry{Site: site, At: now, Actor: actor.Name, Action: action, Comment: c.ID, Post: c.Post, From: actor.From}, nil
	})
	if err != nil {
		return 0, err
	}
	s.publish(ctx, Event{Kind: EventDeleted, Comments: deleted, Actor: actor.Name})
	return len(deleted), nil
}
