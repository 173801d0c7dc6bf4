package moderation

import (
	"context"
	"errors"
	"net/mail"
	"strings"
)

// EmailMode is how a moderator wants to hear about pending comments.
type EmailMode string

// The email modes. Moderators without an address hear nothing.
const (
	EmailOff       EmailMode = "off"
	EmailImmediate EmailMode = "immediate" // one email per pending comment, as it arrives
	EmailDigest    EmailMode = "digest"    // one email listing what arrived in the last few minutes
)

// NotifyPrefs is how a moderator is told about new comments.
type NotifyPrefs struct {
	Email     string    `json:"email"`
	EmailMode EmailMode `json:"email_mode"`
}

// Wants reports whether the prefs ask for email in mode.
func (p NotifyPrefs) Wants(mode EmailMode) bool { return p.Email != "" && p.EmailMode == mode }

// errNotAModerator answers an API token asking for its own preferences.
var errNotAModerator = Errorf(CodeForbidden, "Only a signed-in moderator has notification settings; an API token has none. Use \"parley moderator notify NAME\" to set them from the command line.")

// NotifyPrefs returns the acting moderator's notification preferences.
func (s *Service) NotifyPrefs(ctx context.Context, actor Actor) (NotifyPrefs, error) {
	m, err := s.store.Moderator(ctx, actor.Name)
	if errors.Is(err, ErrNotFound) {
		return NotifyPrefs{}, errNotAModerator
	}
	if err != nil {
		return NotifyPrefs{}, err
	}
	return m.Notify.withDefaults(), nil
}

// SetNotifyPrefs changes moderator name's preferences. Moderators change
// their own; owners anyone's. An address is required unless the mode is off.
func (s *Service) SetNotifyPrefs(ctx context.Context, actor Actor, name string, p NotifyPrefs) (NotifyPrefs, error) {
	if !(actor.May(PermOwnAccount) && FoldName(actor.Name) == FoldName(name)) && !actor.May(PermTeam) {
		return NotifyPrefs{}, ErrForbidden
	}
	p, err := p.Check()
	if err != nil {
		return NotifyPrefs{}, err
	}
	err = s.store.UpdateModerator(ctx, name, func(m *Moderator) error {
		m.Notify = p
		return nil
	})
	if errors.Is(err, ErrNotFound) && actor.Name == name {
		return NotifyPrefs{}, errNotAModerator
	}
	return p, err
}

// Check trims and checks p, filling the mode when it is empty.
func (p NotifyPrefs) Check() (NotifyPrefs, error) {
	p.Email = strings.TrimSpace(p.Email)
	fields := map[string]string{}
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email || len(p.Email) > 254 ||
			strings.ContainsFunc(p.Email, isControlOrInvisible) {
			fields["email"] = "must be a valid email address"
		}
	}
	switch p.EmailMode {
	case "":
		p = p.withDefaults()
	case EmailOff, EmailImmediate, EmailDigest:
	default:
		fields["email_mode"] = "must be off, immediate or digest"
	}
	if p.Email == "" && p.EmailMode != EmailOff && fields["email_mode"] == "" {
		fields["email"] = "is required to get email notifications"
	}
	if len(fields) > 0 {
		return NotifyPrefs{}, &ValidationError{Fields: fields}
	}
	return p, nil
}

// withDefaults fills the mode: an address alone means immediate email.
func (p NotifyPrefs) withDefaults() NotifyPrefs {
	if p.EmailMode == "" {
		p.EmailMode = EmailOff
		if p.Email != "" {
			p.EmailMode = EmailImmediate
		}
	}
	return p
}

// Ready reports whether the service can reach its database.
func (s *Service) Ready(ctx context.Context) error {
	if p, ok := s.store.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	return nil
}
