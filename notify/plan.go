package notify

import (
	"context"
	"errors"
	"slices"

	"parley/moderation"
)

// plan decides who hears of a transition:
//   - a new pending comment: each moderator by email as they prefer
//     (immediately or in their digest), and every webhook;
//   - a comment published for the first time: its author, if they opted in,
//     and the author of the comment it answers, if they opted in to replies.
//
// What is planned is checked again when sent: a comment moderated in the
// meantime or an address unsubscribed since sends nothing.
func (n *Notifier) plan(ctx context.Context, t moderation.Transition) ([]*moderation.Delivery, error) {
	site := siteOf(t.Site)
	c, err := n.store.Comment(ctx, site, t.Comment)
	if errors.Is(err, moderation.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := n.now()
	owed := func(kind moderation.DeliveryKind, to, group string) *moderation.Delivery {
		return &moderation.Delivery{Kind: kind, To: to, Site: site, Comment: c.ID, Group: group, Created: now, Due: now}
	}
	var ds []*moderation.Delivery
	switch t.To {
	case moderation.StatusPending:
		if n.mailer != nil {
			mods, err := n.store.Moderators(ctx)
			if err != nil {
				return nil, err
			}
			tell := n.settings(ctx, site).NotifyPeople
			for _, m := range mods {
				// Only the site's own moderators hear of it, and of them
				// only those the site names, when it names any.
				if !(moderation.Actor{Role: m.Role, Sites: m.Sites}).Moderates(site) || (tell != nil && !slices.Contains(tell, m.Name)) {
					continue
				}
				switch {
				case m.Notify.Wants(moderation.EmailImmediate):
					ds = append(ds, owed(moderation.DeliverModerator, m.Name, ""))
				case m.Notify.Wants(moderation.EmailDigest):
					d := owed(moderation.DeliverDigest, m.Name, "digest:"+m.Name+":"+site)
					d.Due = now.Add(n.cfg.DigestEvery) // an open digest keeps its own due time
					ds = append(ds, d)
				}
			}
		}
		if n.hooks != nil {
			for _, url := range n.cfg.Webhooks {
				ds = append(ds, owed(moderation.DeliverWebhook, url, ""))
			}
		}
	case moderation.StatusApproved:
		if n.mailer == nil || !firstApproval(c) || now.Sub(t.At) > staleAfter {
			return nil, nil // never tell anyone twice, nor of old news (an import, a long outage)
		}
		if c.NotifyPublished && len(c.History) > 1 { // published at once (trusted) needs no email
			ds = append(ds, owed(moderation.DeliverPublished, "", ""))
		}
		if c.Parent != "" {
			ds = append(ds, owed(moderation.DeliverReply, "", ""))
		}
	}
	return ds, nil
}

// firstApproval reports whether c was approved once only: a comment that a
// moderator unpublishes and publishes again is news to nobody.
func firstApproval(c *moderation.Comment) bool {
	n := 0
	for _, h := range c.History {
		if h.Status == moderation.StatusApproved {
			n++
		}
	}
	return n == 1
}
