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
