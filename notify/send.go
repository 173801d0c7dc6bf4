package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"parley/moderation"
)

// deliver sends one batch (a single delivery, or a digest's group) and
// names the channel it used. It re-reads everything it names, so it sends
// what is true now; errSkip when nothing is left worth sending.
func (n *Notifier) deliver(ctx context.Context, batch []*moderation.Delivery) (string, error) {
	d := batch[0]
	if d.Kind == moderation.DeliverWebhook {
		if n.hooks == nil {
			return "webhook", errSkip
		}
		c, err := n.comment(ctx, d.Site, d.Comment, moderation.StatusPending)
		if err != nil {
			return "webhook", err
		}
		return "webhook", n.hooks.post(ctx, d.To, d.Seq, n.payload(ctx, c))
	}
	if n.mailer == nil {
		return "email", errSkip
	}
	msg, err := n.compose(ctx, batch)
	if err != nil {
		return "email", err
	}
	if d.Comment != "" {
		msg.SenderName = n.senderName(ctx, d.Site)
	}
	return "email", n.mailer.send(ctx, msg)
}

// compose writes the email a batch calls for.
func (n *Notifier) compose(ctx context.Context, batch []*moderation.Delivery) (*message, error) {
	d := batch[0]
	switch d.Kind {
	case moderation.DeliverModerator, moderation.DeliverDigest:
		return n.composeModerator(ctx, batch)
	case moderation.DeliverPublished:
		c, err := n.comment(ctx, d.Site, d.Comment, moderation.StatusApproved)
		if err != nil {
			return nil, err
		}
		if !c.NotifyPublished {
			return nil, errSkip
		}
		return n.toCommenter(ctx, c.Email, "published", n.subject(ctx, c.Site, "Your comment on "+n.postText(ctx, c.Site, c.Post)+" is published"),
			map[string]any{"C": c, "Post": n.postText(ctx, c.Site, c.Post), "PostURL": n.postURL(ctx, c.Site, c.Post)})
	case moderation.DeliverReply:
		c, err := n.comment(ctx, d.Site, d.Comment, moderation.StatusApproved)
		if err != nil {
			return nil, err
		}
		parent, err := n.comment(ctx, d.Site, c.Parent, moderation.StatusApproved)
		if err != nil {
			return nil, err
		}
		if !parent.NotifyReplies || moderation.EmailKey(parent.Email) == moderation.EmailKey(c.Email) {
			return nil, errSkip // no opt-in, or one answering oneself
		}
		return n.toCommenter(ctx, parent.Email, "reply", n.subject(ctx, c.Site, isolated(c.Author)+" replied to your comment on "+n.postText(ctx, c.Site, c.Post)),
			map[string]any{"C": c, "Parent": parent, "Post": n.postText(ctx, c.Site, c.Post), "PostURL": n.postURL(ctx, c.Site, c.Post)})
	case moderation.DeliverVerify:
		body, err := n.render("verify", map[string]any{"Site": n.site(),
			"Link": n.cfg.PublicURL + "/verify/" + n.svc.VerificationLink(d.To)})
		if err != nil {
			return nil, err
		}
		return &message{To: d.To, Subject: "Confirm your email address for comments at " + n.site(), Body: body, Date: n.now()}, nil
	}
	return nil, permanent{fmt.Errorf("unknown delivery kind %q", d.Kind)}
}

// composeModerator writes one moderator's email about the comments of the
// batch that still wait; the links in it act as that moderator.
func (n *Notifier) composeModerator(ctx context.Context, batch []*moderation.Delivery) (*message, error) {
	m, err := n.store.Moderator(ctx, batch[0].To)
	if errors.Is(err, moderation.ErrNotFound) {
		return nil, errSkip
	}
	if err != nil {
		return nil, err
	}
	if m.Notify.Email == "" || m.Notify.EmailMode == moderation.EmailOff {
		return nil, errSkip
	}
	site := siteOf(batch[0].Site)
	if !(moderation.Actor{Role: m.Role, Sites: m.Sites}).Moderates(site) {
		return nil, errSkip // taken off the site since
	}
	var items []map[string]any
	for _, d := range batch {
		c, err := n.comment(ctx, site, d.Comment, moderation.StatusPending)
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return nil, err
		}
		items = append(items, map[string]any{"C": c, "Post": n.postText(ctx, site, c.Post), "PostURL": n.postURL(ctx, site, c.Post),
			"Approve": n.cfg.PublicURL + "/moderate/" + n.svc.ModerationLink(m.Name, site, c.ID, moderation.ActionApprove),
			"Reject":  n.cfg.PublicURL + "/moderate/" + n.svc.ModerationLink(m.Name, site, c.ID, moderation.ActionReject)})
	}
	if len(items) == 0 {
		return nil, errSkip
	}
	data := map[string]any{"Items": items, "Site": n.site(), "Admin": n.cfg.PublicURL + "/admin",
		"Moderator": m.Name, "Expires": n.svc.Now().Add(moderation.LinkTTL)}
	name, subject := "digest", fmt.Sprintf("%d comments waiting for moderation", len(items))
	if batch[0].Kind == moderation.DeliverModerator {
		c := items[0]["C"].(*moderation.Comment)
		data["Item"] = items[0]
		name, subject = "moderator", "New comment by "+isolated(c.Author)+" on "+n.postText(ctx, site, c.Post)
	} else if len(items) == 1 {
		subject = "1 comment waiting for moderation"
	}
	subject = n.subject(ctx, site, subject)
	body, err := n.render(name, data)
	if err != nil {
		return nil, err
	}
	return &message{To: m.Notify.Email, Subject: subject, Body: body, Date: n.now()}, nil
}

// toCommenter writes an email to a commenter, unless they unsubscribed.
func (n *Notifier) toCommenter(ctx context.Context, email, name, subject string, data map[string]any) (*message, error) {
	who, err := n.store.Commenter(ctx, email)
	if err != nil {
		return nil, err
	}
	if !who.Unsubscribed.IsZero() {
		return nil, errSkip
	}
	unsubscribe := n.cfg.PublicURL + "/unsubscribe/" + n.svc.UnsubscribeLink(email)
	data["Site"], data["Unsubscribe"] = n.site(), unsubscribe
	body, err := n.render(name, data)
	if err != nil {
		return nil, err
	}
	return &message{To: email, Subject: subject, Body: body, Unsubscribe: unsubscribe, Date: n.now()}, nil
}

// comment loads a comment of a site that must be in status, or skips the
// delivery.
func (n *Notifier) comment(ctx context.Context, site, id string, status moderation.Status) (*moderation.Comment, error) {
	c, err := n.store.Comment(ctx, siteOf(site), id)
	if errors.Is(err, moderation.ErrNotFound) {
		return nil, errSkip
	}
	if err != nil {
		return nil, err
	}
	if c.Status != status {
		return nil, errSkip
	}
	return c, nil
}

func (n *Notifier) render(name string, data any) (string, error) {
	var b bytes.Buffer
	if err := texts.ExecuteTemplate(&b, name, data); err != nil {
		return "", permanent{err}
	}
	return b.String(), nil
}

// site names Parley's host in messages.
func (n *Notifier) site() string {
	if u, err := url.Parse(n.cfg.PublicURL); err == nil && u.Host != "" {
		return u.Host
	}
	return n.cfg.PublicURL
}

// siteOf names the site of an outbox entry: one written before sites
// existed is the default site's.
func siteOf(id string) string {
	if id == "" {
		return moderation.DefaultSite
	}
	return id
}

// siteName is what messages call a site: its name, or its id.
func (n *Notifier) siteName(ctx context.Context, id string) string {
	if s, err := n.store.Site(ctx, siteOf(id)); err == nil && s.Name != "" {
		return s.Name
	}
	return siteOf(id)
}

// subject names the site an email is about, so that someone who moderates
// several blogs can tell them apart at a glance. An instance of one blog
// has nothing to tell apart and keeps its subjects as they were.
func (n *Notifier) subject(ctx context.Context, site, text string) string {
	if sites, err := n.store.Sites(ctx); err == nil && len(sites) < 2 {
		return text
	}
	return "[" + oneLine(n.siteName(ctx, site)) + "] " + text
}

// senderName is the name a site's emails are sent as, when it chose one.
func (n *Notifier) senderName(ctx context.Context, site string) string {
	if s, err := n.store.Site(ctx, siteOf(site)); err == nil && s.Settings.SenderName != nil {
		return *s.Settings.SenderName
	}
	return ""
}

// settings are a site's settings in effect.
func (n *Notifier) settings(ctx context.Context, site string) moderation.Settings {
	return n.svc.Settings(ctx, siteOf(site))
}

// postURL links a post only when its key resolves to one of its site's
// origins (--origins for a site without any); any other key is shown as
// text (moderation.PostLink).
func (n *Notifier) postURL(ctx context.Context, site, post string) string {
	origins := n.cfg.SiteOrigins
	if s, err := n.store.Site(ctx, siteOf(site)); err == nil && len(s.Origins) > 0 {
		origins = s.Origins
	}
	return moderation.PostLink(post, origins)
}

// postText is a post key as an email shows it: as typed when it links to
// the blog, else with its dots and colons bracketed ("evil[.]example"), so
// that no mail program turns a key that is not the blog's into a link.
func (n *Notifier) postText(ctx context.Context, site, post string) string {
	s := oneLine(post)
	if n.postURL(ctx, site, post) != "" {
		return s
	}
	return keyDefang.Replace(s)
}

var keyDefang = strings.NewReplacer(".", "[.]", ":", "[:]")
