package moderation

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// Reply approves a comment, if it is not approved yet, and publishes body as
// a reply to it from the site, in one transaction: what site owners do most
// after approving. The reply is marked Site and signed with the moderator's
// name; it needs no moderation. Listeners hear one EventModerated with the
// parent (when it moved) and the reply, both as they are now.
func (s *Service) Reply(ctx context.Context, actor Actor, site, parentID, body string) (parent, reply *Comment, err error) {
	if err := mayAct(actor, site, PermModerate); err != nil {
		return nil, nil, err
	}
	body = strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
	if err := s.checkBody(body); err != nil {
		return nil, nil, err
	}
	html, err := s.renderer.Render(body)
	if err != nil {
		return nil, nil, fmt.Errorf("render reply: %w", err)
	}
	store := s.store
	now := s.now()
	reply = &Comment{
		ID: NewID(now), Site: site, Parent: parentID, Author: strings.TrimPrefix(actor.Name, "token:"),
		Body: body, HTML: html, Status: StatusApproved, BySite: true, Created: now, Updated: now,
		History: []Change{{Status: StatusApproved, At: now, By: actor.Name, Reason: "reply as the site"}},
	}
	entry := &AuditEntry{Site: site, At: now, Actor: actor.Name, Action: "reply", Comment: reply.ID, From: actor.From}
	var moved bool
	var taught lesson
	spam, err := s.spamFor(ctx, site)
	if err != nil {
		return nil, nil, err
	}
	defer spam.deciding()()
	approve := func(p *Comment) (*AuditEntry, error) {
		parent = p
		if p.Status == StatusDeleted {
			return nil, Errorf(CodeConflict, "Comment "+p.ID+" was deleted; there is nothing to reply to.")
		}
		reply.Post, entry.Post = p.Post, p.Post
		reply.Parent = parentID // a retried transaction starts over
		moved = p.move(StatusApproved, actor.Name, "", now)
		if moved {
			taught = retrain(p)
		}
		if err := attach(reply, p); err != nil {
			return nil, err
		}
		if !moved {
			return nil, nil
		}
		return &AuditEntry{Site: site, At: now, Actor: actor.Name, Action: string(ActionApprove), Comment: p.ID, Post: p.Post, From: actor.From}, nil
	}
	if err := store.PublishReply(ctx, reply, approve, entry); err != nil {
		return nil, nil, err
	}
	spam.learn([]lesson{taught})
	changed := []*Comment{reply}
	if moved {
		changed = []*Comment{parent, reply}
	}
	s.publish(ctx, Event{Kind: EventModerated, Comments: changed, Actor: actor.Name})
	return parent, reply, nil
}

// checkBody applies the submission rules for a comment's text to a reply.
func (s *Service) checkBody(body string) error {
	if !utf8.ValidString(body) {
		return invalid("body", "must be valid UTF-8 text")
	}
	err := s.validator.v.Var(body, "required,max=10000,textonly")
	if errs, ok := err.(validator.ValidationErrors); ok && len(errs) > 0 {
		return invalid("body", message(errs[0]))
	}
	return err
}
