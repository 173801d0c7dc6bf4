package moderation

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
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

// Sessions signs moderators in to the admin page and out again. It keeps the
// login throttles in memory; build one per process and share it. Sessions
// live in the database, so every instance knows them, but each instance
// throttles the failures it sees itself (docs/operations.md).
type Sessions struct {
	svc     *Service
	store   AdminStore
	guard   *loginGuard
	devices devices
}

// NewSessions builds the session keeper on svc's store and clock.
func NewSessions(ctx context.Context, svc *Service) (*Sessions, error) {
	store := svc.store
	key, err := svc.store.Secret(ctx, "device-cookie", 32)
	if err != nil {
		return nil, fmt.Errorf("load device cookie secret: %w", err)
	}
	return &Sessions{svc: svc, store: store, guard: newLoginGuard(), devices: devices{key: key}}, nil
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

// LoginAttempt is one try at the sign-in form.
type LoginAttempt struct {
	Name, Password string
	Client         Client
	Device         string // the browser's device cookie, if it sent one
}

// SignedIn is a successful sign-in: the session cookie's secret, shown to
// nobody else, and a fresh device cookie for the browser to keep.
type SignedIn struct {
	Secret  string
	Session *Session
	Device  string
}

// Login checks a moderator's name and password and opens a session.
// Failures are ErrUnauthorized (whatever was wrong) or a *ThrottledError;
// a throttled try is refused before the password is even checked.
func (ss *Sessions) Login(ctx context.Context, a LoginAttempt) (*SignedIn, error) {
	now := ss.svc.now()
	from := ss.svc.HashIP(a.Client.IP)
	account := accountKey(a.Name)
	who := loginClient{account: account, ipHash: from, device: ss.devices.check(a.Device, account, now)}
	if wait := ss.guard.wait(who, now); wait > 0 {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	m, err := ss.svc.Login(ctx, a.Name, a.Password)
	if errors.Is(err, ErrUnauthorized) {
		ss.guard.fail(who, now)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	ss.guard.succeed(who)
	if err := ss.store.DeleteSessions(ctx, func(s *Session) bool { return s.Expired(now) }); err != nil {
		return nil, err
	}
	secret := randomString(32)
	s := &Session{ID: hashToken(secret), Moderator: m.Name, CSRF: randomString(32), Created: now, LastSeen: now, From: from}
	if err := ss.store.CreateSession(ctx, s); err != nil {
		return nil, err
	}
	if err := ss.store.RecordAudit(ctx, &AuditEntry{At: now, Actor: m.Name, Action: "login", From: from}); err != nil {
		return nil, err
	}
	return &SignedIn{Secret: secret, Session: s, Device: ss.devices.issue(accountKey(m.Name), now)}, nil
}

func accountKey(name string) string { return truncate(FoldName(name), 128) }

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
