package moderation

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// ModeratorInfo is what owners see of a moderator: never the password hash.
type ModeratorInfo struct {
	Name    string              `json:"name"`
	Role    Role                `json:"role"`
	Sites   map[string]SiteRole `json:"sites,omitempty"`
	Created time.Time           `json:"created"`
}

// TokenInfo is what owners see of an API token: never its hash.
type TokenInfo struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Role     Role      `json:"role"`
	Site     string    `json:"site,omitempty"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used,omitzero"`
}

// Team lists the moderators by name; only owners may.
func (s *Service) Team(ctx context.Context, actor Actor) ([]ModeratorInfo, error) {
	if !actor.May(PermTeam) {
		return nil, ErrForbidden
	}
	mods, err := s.store.Moderators(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ModeratorInfo, len(mods))
	for i, m := range mods {
		out[i] = ModeratorInfo{Name: m.Name, Role: m.Role, Sites: m.Sites, Created: m.Created}
	}
	return out, nil
}

// AddModeratorAs lets an owner add a moderator, and records it.
func (s *Service) AddModeratorAs(ctx context.Context, actor Actor, name, password string, role Role, sites map[string]SiteRole) error {
	if !actor.May(PermTeam) {
		return ErrForbidden
	}
	if err := s.AddModerator(ctx, name, password, role, sites); err != nil {
		if errors.Is(err, ErrConflict) {
			return &ValidationError{Fields: map[string]string{"name": "is already taken by another moderator"}}
		}
		return err
	}
	return s.audit(ctx, actor, "moderator.add", cleanName(name)+" as "+string(role))
}

// SetRole changes a moderator's role; only owners may, and one owner always
// remains so that someone can still manage the team.
func (s *Service) SetRole(ctx context.Context, actor Actor, name string, role Role) error {
	if !actor.May(PermTeam) {
		return ErrForbidden
	}
	if !role.Valid() {
		return invalid("role", "must be owner or moderator")
	}
	return s.editModerator(ctx, name, func(m *Moderator, all []*Moderator) (bool, *AuditEntry, error) {
		if m.Role == RoleOwner && role != RoleOwner && owners(all) == 1 {
			return false, nil, errLastOwner
		}
		m.Role = role
		return false, s.entry(actor, "moderator.role", m.Name+" to "+string(role)), nil
	})
}

// RemoveModerator deletes a moderator and ends their sessions. Owners may
// remove anyone but themselves, and never the last owner.
func (s *Service) RemoveModerator(ctx context.Context, actor Actor, name string) error {
	if !actor.May(PermTeam) {
		return ErrForbidden
	}
	if FoldName(name) == FoldName(actor.Name) {
		return Errorf(CodeConflict, "You cannot remove yourself; ask another owner.")
	}
	return s.editModerator(ctx, name, func(m *Moderator, all []*Moderator) (bool, *AuditEntry, error) {
		if m.Role == RoleOwner && owners(all) == 1 {
			return false, nil, errLastOwner
		}
		return true, s.entry(actor, "moderator.remove", m.Name), nil
	})
}

// ChangePassword sets a moderator's own password after checking the current
// one, and ends their other sessions (keep is the session in use).
func (s *Service) ChangePassword(ctx context.Context, actor Actor, keep, current, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	if _, err := s.Login(ctx, actor.Name, current); errors.Is(err, ErrUnauthorized) {
		return invalid("current", "is not your current password")
	} else if err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	err = s.editModerator(ctx, actor.Name, func(m *Moderator, _ []*Moderator) (bool, *AuditEntry, error) {
		m.PasswordHash = hash
		return false, s.entry(actor, "password.change", m.Name), nil
	})
	if err != nil {
		return err
	}
	store := s.store
	return store.DeleteSessions(ctx, func(x *Session) bool { return x.Moderator == actor.Name && x.ID != keep })
}

// TokenList lists API tokens for owners, by name.
func (s *Service) TokenList(ctx context.Context, actor Actor) ([]TokenInfo, error) {
	tokens, err := s.Tokens(ctx, actor)
	if err != nil {
		return nil, err
	}
	out := make([]TokenInfo, len(tokens))
	for i, t := range tokens {
		out[i] = TokenInfo{ID: t.ID, Name: t.Name, Role: t.Role, Site: t.Site, Created: t.Created, LastUsed: t.LastUsed}
	}
	slices.SortFunc(out, func(a, b TokenInfo) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// CreateTokenAs lets an owner create an API token; the secret is returned
// only this once.
func (s *Service) CreateTokenAs(ctx context.Context, actor Actor, name string, role Role, site string) (string, TokenInfo, error) {
	if !actor.May(PermTokens) {
		return "", TokenInfo{}, ErrForbidden
	}
	secret, t, err := s.CreateToken(ctx, name, role, site)
	if err != nil {
		return "", TokenInfo{}, err
	}
	if err := s.audit(ctx, actor, "token.create", t.Name+" as "+string(t.Role)); err != nil {
		return "", TokenInfo{}, err
	}
	return secret, TokenInfo{ID: t.ID, Name: t.Name, Role: t.Role, Site: t.Site, Created: t.Created}, nil
}

// RevokeTokenAs revokes an API token and records it.
func (s *Service) RevokeTokenAs(ctx context.Context, actor Actor, id string) error {
	if err := s.RevokeToken(ctx, actor, id); err != nil {
		return err
	}
	return s.audit(ctx, actor, "token.revoke", id)
}

var errLastOwner = Errorf(CodeConflict, "Parley needs at least one owner: make someone else an owner first.")

func owners(all []*Moderator) int {
	n := 0
	for _, m := range all {
		if m.Role == RoleOwner {
			n++
		}
	}
	return n
}

func checkPassword(password string) error {
	switch {
	case len(password) < MinPasswordLength:
		return invalid("password", "must be at least 10 characters")
	case len(password) > 72:
		return invalid("password", "must be at most 72 bytes")
	}
	return nil
}

func (s *Service) editModerator(ctx context.Context, name string, edit func(m *Moderator, all []*Moderator) (bool, *AuditEntry, error)) error {
	store := s.store
	return store.EditModerator(ctx, name, edit)
}

func (s *Service) entry(actor Actor, action, detail string) *AuditEntry {
	return &AuditEntry{At: s.now(), Actor: actor.Name, Action: action, Detail: detail, From: actor.From}
}

// audit records an action that moved no comment.
func (s *Service) audit(ctx context.Context, actor Actor, action, detail string) error {
	store := s.store
	return store.RecordAudit(ctx, s.entry(actor, action, detail))
}

// StatusCounts returns how many comments each status holds on site, for
// its moderators.
func (s *Service) StatusCounts(ctx context.Context, actor Actor, site string) (map[Status]int, error) {
	if site == AllSites {
		total, _, err := s.CountsEverywhere(ctx, actor)
		return total, err
	}
	if err := mayAct(actor, site, PermModerate); err != nil {
		return nil, err
	}
	store := s.store
	return store.StatusCounts(ctx, site)
}
