package moderation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Role is what an identity may do.
type Role string

// Owners manage moderators and API tokens as well as moderating.
const (
	RoleOwner     Role = "owner"
	RoleModerator Role = "moderator"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleModerator }

// Moderator is a person who signs in to the admin page.
type Moderator struct {
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	PasswordHash []byte    `json:"password_hash"`
	Created      time.Time `json:"created"`

	// Sites are the sites a moderator who is not an owner works on, each
	// with their role there.
	Sites map[string]SiteRole `json:"sites,omitempty"`

	// Notify is how they hear about pending comments.
	Notify NotifyPrefs `json:"notify,omitzero"`
}

// Token is an API token for scripts. Only the SHA-256 of its secret is kept:
// the secret is 256 random bits, so a fast hash is as safe as a slow one.
type Token struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Role     Role      `json:"role"`
	Site     string    `json:"site,omitempty"` // "" for an owner's token: the whole instance
	Hash     string    `json:"hash"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used,omitzero"`
}

// Actor is who does a moderation action, for permissions and the audit log.
type Actor struct {
	Name  string
	Role  Role
	Sites map[string]SiteRole // what a non-owner may do where; see Moderates
	From  string              // IP hash of the request
}

// Can reports whether the actor may do what needs role.
func (a Actor) Can(role Role) bool { return a.Role == RoleOwner || a.Role == role }

const tokenPrefix = "parley_"

// tokenTouchEvery limits last-use writes to one per token per interval.
const tokenTouchEvery = time.Minute

// MinPasswordLength is the shortest password a moderator may have.
const MinPasswordLength = 10

// FoldName is the form in which moderator names are compared wherever one
// is looked up: case folded, white space trimmed and each inner run made one
// space. "Admin", " admin" and "ADMIN" are the same moderator, so they share
// one login throttle and cannot be registered as three people.
func FoldName(name string) string { return strings.ToLower(cleanName(name)) }

// cleanName is a name as it is kept: trimmed, inner white space made one space.
func cleanName(name string) string { return strings.Join(strings.Fields(name), " ") }

// AddModerator creates a moderator with a bcrypt hash of password. A name
// equal to another's under FoldName is ErrConflict. An owner acts on every
// site; a moderator on the sites given, each with its role there.
func (s *Service) AddModerator(ctx context.Context, name, password string, role Role, sites map[string]SiteRole) error {
	name = cleanName(name)
	switch {
	case name == "" || len(name) > 64 || strings.ContainsFunc(name, isInvisible):
		return invalid("name", "must be 1 to 64 visible characters")
	case !role.Valid():
		return invalid("role", "must be owner or moderator")
	}
	switch {
	case role == RoleOwner:
		sites = nil
	case len(sites) == 0: // as before sites existed: the one blog there was
		sites = map[string]SiteRole{DefaultSite: SiteModerator}
	}
	for id, r := range sites {
		if !r.Valid() {
			return invalid("sites", "each role must be admin or moderator")
		}
		if _, err := s.store.Site(ctx, id); errors.Is(err, ErrNotFound) {
			return invalid("sites", "there is no site "+id)
		} else if err != nil {
			return err
		}
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	return s.store.CreateModerator(ctx, &Moderator{Name: name, Role: role, Sites: sites, PasswordHash: hash, Created: s.now()})
}

// EnsureOwner creates moderator "admin" as owner when there is no moderator at
// all. With an empty password it makes a random one. It returns the password
// it set, or "" when moderators already existed.
func (s *Service) EnsureOwner(ctx context.Context, password string) (string, error) {
	mods, err := s.store.Moderators(ctx)
	if err != nil || len(mods) > 0 {
		return "", err
	}
	if password == "" {
		password = randomString(18)
	}
	if err := s.AddModerator(ctx, "admin", password, RoleOwner, nil); err != nil {
		return "", err
	}
	return password, nil
}

// Login checks a moderator's password. Every failure is the same
// ErrUnauthorized, so a caller learns nothing about which names exist.
func (s *Service) Login(ctx context.Context, name, password string) (*Moderator, error) {
	m, err := s.store.Moderator(ctx, name)
	if errors.Is(err, ErrNotFound) {
		// Spend the same time as a real check so timing does not tell either.
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, err
	}
	if bcrypt.CompareHashAndPassword(m.PasswordHash, []byte(password)) != nil {
		return nil, ErrUnauthorized
	}
	return m, nil
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("parley-dummy-password"), bcrypt.DefaultCost)

// CreateToken makes an API token and returns its secret, shown only this
// once. An owner's token acts on the whole instance; an admin's or a
// moderator's on one site, which must exist.
func (s *Service) CreateToken(ctx context.Context, name string, role Role, site string) (string, *Token, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 || strings.ContainsFunc(name, isInvisible) {
		return "", nil, invalid("name", "must be 1 to 64 visible characters")
	}
	switch {
	case role != RoleOwner && role != RoleAdmin && role != RoleModerator:
		return "", nil, invalid("role", "must be owner, admin or moderator")
	case role == RoleOwner && site != "":
		return "", nil, invalid("site", "an owner's token acts on every site: leave the site out")
	case role != RoleOwner && site == "": // as before sites existed: the one blog there was
		site = DefaultSite
	}
	if site != "" {
		if _, err := s.sites().Site(ctx, site); err != nil {
			if errors.Is(err, ErrNotFound) {
				return "", nil, invalid("site", "there is no such site")
			}
			return "", nil, err
		}
	}
	secret := tokenPrefix + randomString(32)
	t := &Token{ID: NewID(s.now()), Name: name, Role: role, Site: site, Hash: hashToken(secret), Created: s.now()}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// Authenticate returns the actor behind an API token secret, or ErrUnauthorized.
func (s *Service) Authenticate(ctx context.Context, secret string) (Actor, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return Actor{}, ErrUnauthorized
	}
	hash := hashToken(secret)
	t, err := s.store.TokenByHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return Actor{}, ErrUnauthorized
	}
	if err != nil {
		return Actor{}, err
	}
	if now := s.now(); now.Sub(t.LastUsed) > tokenTouchEvery {
		if err := s.store.TouchToken(ctx, hash, now); err != nil {
			return Actor{}, err
		}
	}
	if t.Role == RoleOwner {
		return Actor{Name: "token:" + t.Name, Role: RoleOwner}, nil
	}
	return Actor{Name: "token:" + t.Name, Role: RoleModerator, Sites: map[string]SiteRole{t.Site: siteRole(t.Role)}}, nil
}

// Tokens lists API tokens for owners.
func (s *Service) Tokens(ctx context.Context, actor Actor) ([]*Token, error) {
	if !actor.May(PermTokens) {
		return nil, ErrForbidden
	}
	return s.store.Tokens(ctx)
}

// RevokeToken deletes an API token; only owners may.
func (s *Service) RevokeToken(ctx context.Context, actor Actor, id string) error {
	if !actor.May(PermTokens) {
		return ErrForbidden
	}
	return s.store.DeleteToken(ctx, id)
}

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
