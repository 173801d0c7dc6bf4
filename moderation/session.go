package moderation

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Session is a moderator signed in to the admin page. Its ID is the SHA-256
// of the secret in the browser's cookie, so a copy of the database holds no
// live session. The moderator's role is looked up on every request, so a
// change of role or a removal takes effect at once.
type Session struct {
	ID        string    `json:"id"`
	Moderator string    `json:"moderator"`
	CSRF      string    `json:"csrf"` // sent back by the page with every state-changing request
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	From      string    `json:"from,omitempty"` // IP hash at sign-in
}

// A session ends after SessionIdle without use, and SessionLifetime after
// sign-in whatever happens: a forgotten browser does not stay signed in.
const (
	SessionIdle     = 2 * time.Hour
	SessionLifetime = 24 * time.Hour

	// sessionTouchEvery limits last-use writes to one per session per interval.
	sessionTouchEvery = time.Minute
)

// Expired reports whether s can no longer be used at now.
func (s *Session) Expired(now time.Time) bool {
	return now.Sub(s.LastSeen) > SessionIdle || now.Sub(s.Created) > SessionLifetime
}

// CheckCSRF reports whether token is the session's CSRF token, in constant time.
func (s *Session) CheckCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// Login throttling: after a few failures under one account name, or many
// from one client, every further try must wait, doubling up to a limit. A
// throttled try is refused before the password is even checked.
var (
	accountLimits = throttleLimits{free: 5, base: 30 * time.Second, max: 15 * time.Minute, forget: time.Hour}
	clientLimits  = throttleLimits{free: 20, base: 30 * time.Second, max: 15 * time.Minute, forget: time.Hour}
)

// Sessions signs moderators in to the admin page and out again. It keeps the
// login throttles in memory; build one per process and share it.
type Sessions struct {
	svc      *Service
	store    AdminStore
	accounts *throttle
	clients  *throttle
}

// NewSessions builds the session keeper on svc's store and clock.
func NewSessions(svc *Service) (*Sessions, error) {
	store, err := svc.admin()
	if err != nil {
		return nil, err
	}
	return &Sessions{svc: svc, store: store, accounts: newThrottle(accountLimits), clients: newThrottle(clientLimits)}, nil
}

// ThrottledError says a login was refused unread because of earlier failures.
// It unwraps to an *Error with CodeRateLimited.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string { return e.Unwrap().Error() }

// Unwrap gives the coded error the server maps to 429.
func (e *ThrottledError) Unwrap() error {
	return Errorf(CodeRateLimited, fmt.Sprintf("Too many failed sign-ins. Please wait %s and try again.", humanWait(e.RetryAfter)))
}

func humanWait(d time.Duration) string {
	if d <= time.Minute {
		return fmt.Sprintf("%d seconds", int(math.Ceil(d.Seconds())))
	}
	return fmt.Sprintf("%d minutes", int(math.Ceil(d.Minutes())))
}

// Login checks a moderator's name and password and opens a session. It
// returns the cookie's secret, shown to nobody else. Failures are
// ErrUnauthorized (whatever was wrong) or a *ThrottledError.
func (ss *Sessions) Login(ctx context.Context, name, password string, client Client) (string, *Session, error) {
	now := ss.svc.now()
	from := ss.svc.HashIP(client.IP)
	account := accountKey(name)
	if wait := max(ss.accounts.wait(account, now), ss.clients.wait(from, now)); wait > 0 {
		return "", nil, &ThrottledError{RetryAfter: wait}
	}
	m, err := ss.svc.Login(ctx, name, password)
	if errors.Is(err, ErrUnauthorized) {
		ss.accounts.fail(account, now)
		ss.clients.fail(from, now)
		return "", nil, err
	}
	if err != nil {
		return "", nil, err
	}
	// A success clears the account's strikes, not the client's: one valid
	// account must not let a client go on guessing others.
	ss.accounts.reset(account)
	if err := ss.store.DeleteSessions(ctx, func(s *Session) bool { return s.Expired(now) }); err != nil {
		return "", nil, err
	}
	secret := randomString(32)
	s := &Session{ID: hashToken(secret), Moderator: m.Name, CSRF: randomString(32), Created: now, LastSeen: now, From: from}
	if err := ss.store.CreateSession(ctx, s); err != nil {
		return "", nil, err
	}
	if err := ss.store.RecordAudit(ctx, &AuditEntry{At: now, Actor: m.Name, Action: "login", From: from}); err != nil {
		return "", nil, err
	}
	return secret, s, nil
}

func accountKey(name string) string { return truncate(strings.ToLower(strings.TrimSpace(name)), 128) }

// Authenticate returns the moderator behind a session cookie's secret and the
// session, or ErrUnauthorized when it is unknown, expired or its moderator was
// removed. With touch it counts as use for the idle expiry; background
// polling passes false so an open but unattended page still times out.
func (ss *Sessions) Authenticate(ctx context.Context, secret string, touch bool) (Actor, *Session, error) {
	if secret == "" {
		return Actor{}, nil, ErrUnauthorized
	}
	s, err := ss.store.Session(ctx, hashToken(secret))
	if errors.Is(err, ErrNotFound) {
		return Actor{}, nil, ErrUnauthorized
	}
	if err != nil {
		return Actor{}, nil, err
	}
	now := ss.svc.now()
	if s.Expired(now) {
		return Actor{}, nil, ss.end(ctx, s.ID)
	}
	m, err := ss.svc.store.Moderator(ctx, s.Moderator)
	if errors.Is(err, ErrNotFound) {
		return Actor{}, nil, ss.end(ctx, s.ID)
	}
	if err != nil {
		return Actor{}, nil, err
	}
	if touch && now.Sub(s.LastSeen) > sessionTouchEvery {
		if err := ss.store.TouchSession(ctx, s.ID, now); err != nil && !errors.Is(err, ErrNotFound) {
			return Actor{}, nil, err
		}
		s.LastSeen = now
	}
	return actorOf(m, ""), s, nil
}

// end deletes a dead session and answers ErrUnauthorized.
func (ss *Sessions) end(ctx context.Context, id string) error {
	if err := ss.store.DeleteSessions(ctx, func(s *Session) bool { return s.ID == id }); err != nil {
		return err
	}
	return ErrUnauthorized
}

// Logout ends the session and records it.
func (ss *Sessions) Logout(ctx context.Context, actor Actor, s *Session) error {
	if err := ss.store.DeleteSessions(ctx, func(x *Session) bool { return x.ID == s.ID }); err != nil {
		return err
	}
	return ss.store.RecordAudit(ctx, &AuditEntry{At: ss.svc.now(), Actor: actor.Name, Action: "logout", From: actor.From})
}
