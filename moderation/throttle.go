package moderation

import (
	"sync"
	"time"
)

// throttleLimits shape a throttle: free failures cost nothing, the next wait
// base, then twice as long each time up to max; a key quiet for forget after
// its last failure starts over.
type throttleLimits struct {
	free      int
	base, max time.Duration
	forget    time.Duration
	maxKeys   int // memory bound; 0 means defaultMaxKeys
	_         struct{}
}

const defaultMaxKeys = 100_000

// throttle counts failures per key (an account name, a client's IP hash). It
// is safe for concurrent use and takes the time from its callers, so tests
// drive it with their own clock.
type throttle struct {
	limits throttleLimits
	mu     sync.Mutex
	keys   map[string]*strikes
}

type strikes struct {
	n    int
	last time.Time
}

func newThrottle(l throttleLimits) *throttle {
	if l.maxKeys == 0 {
		l.maxKeys = defaultMaxKeys
	}
	return &throttle{limits: l, keys: map[string]*strikes{}}
}

// wait returns how long key must wait before its next try at now.
func (t *throttle) wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.keys[key]
	if s == nil || s.n < t.limits.free {
		return 0
	}
	if d := s.last.Add(t.delay(s.n)).Sub(now); d > 0 {
		return d
	}
	return 0
}

// delay is the wait after n failures, n ≥ free.
func (t *throttle) delay(n int) time.Duration {
	d := t.limits.base
	for i := t.limits.free; i < n && d < t.limits.max; i++ {
		d *= 2
	}
	return min(d, t.limits.max)
}

// fail records a failure of key at now.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.keys[key]
	if s == nil || now.Sub(s.last) > t.limits.forget {
		if len(t.keys) >= t.limits.maxKeys && !t.prune(now) {
			return
		}
		s = &strikes{}
		t.keys[key] = s
	}
	s.n++
	s.last = now
}

// reset forgets key's failures.
func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, key)
}

// prune makes room by dropping forgotten keys and keys not yet throttled. It
// reports whether there is room: in a flood of fresh names the keys already
// throttled stay throttled, and the newcomers go uncounted here (the
// per-client throttle still counts them) rather than memory growing unbounded.
func (t *throttle) prune(now time.Time) bool {
	for k, s := range t.keys {
		if now.Sub(s.last) > t.limits.forget || s.n < t.limits.free {
			delete(t.keys, k)
		}
	}
	return len(t.keys) < t.limits.maxKeys
}

// Login throttling. Three counters slow a guesser, and none of them lets a
// stranger lock the real moderator out:
//
//   - per (account, client): a few failures, then a wait that doubles;
//   - per client: many failures over any names, then the same;
//   - per account across all clients, a ceiling for guessing spread over many
//     addresses. It applies only to clients unknown to the account.
//
// A client is known when it shows a device cookie (OWASP's "device cookie")
// that Parley signed at an earlier successful sign-in to that account. A known
// device is then its own client: counted under its device ID, never under its
// address or the account's ceiling, so nobody without the cookie can make its
// sign-in wait.
var (
	pairLimits    = throttleLimits{free: 5, base: 30 * time.Second, max: 15 * time.Minute, forget: time.Hour}
	clientLimits  = throttleLimits{free: 20, base: 30 * time.Second, max: 15 * time.Minute, forget: time.Hour}
	ceilingLimits = throttleLimits{free: 50, base: 30 * time.Second, max: 15 * time.Minute, forget: time.Hour}
)

// loginGuard keeps the login throttles. It is safe for concurrent use.
type loginGuard struct {
	pairs, clients, ceiling *throttle
}

func newLoginGuard() *loginGuard {
	return &loginGuard{pairs: newThrottle(pairLimits), clients: newThrottle(clientLimits), ceiling: newThrottle(ceilingLimits)}
}

// loginClient is who tries to sign in to account: a known device by its ID,
// or else a client by its IP hash.
type loginClient struct {
	account string // the folded name
	device  string // set for a known device
	ipHash  string
}

func (c loginClient) pair() string {
	if c.device != "" {
		return c.account + "\x00device:" + c.device
	}
	return c.account + "\x00ip:" + c.ipHash
}

// wait returns how long c must wait before its next try at now.
func (g *loginGuard) wait(c loginClient, now time.Time) time.Duration {
	w := g.pairs.wait(c.pair(), now)
	if c.device == "" {
		w = max(w, g.clients.wait(c.ipHash, now), g.ceiling.wait(c.account, now))
	}
	return w
}

// fail records a wrong password from c.
func (g *loginGuard) fail(c loginClient, now time.Time) {
	g.pairs.fail(c.pair(), now)
	if c.device == "" {
		g.clients.fail(c.ipHash, now)
		g.ceiling.fail(c.account, now)
	}
}

// succeed clears c's strikes on the account, not the client's or the
// ceiling's: one valid account must not let a client go on guessing others.
func (g *loginGuard) succeed(c loginClient) { g.pairs.reset(c.pair()) }
