package server

import (
	"container/list"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"parley/moderation"
)

// DefaultCacheSize is how many bytes of encoded responses the read cache
// keeps when Config.CacheSize is zero: about a thousand threads of 200
// comments with their gzip.
const DefaultCacheSize = 64 << 20

// entryOverhead approximates the bookkeeping of one entry (map slot, list
// element, indexes), so that many tiny entries still count against the cap.
const entryOverhead = 256

// guestShare is the part of the cache kept for answers that anyone can make
// up (see responseCache): one eighth.
const guestShare = 8

// cacheEntry is a cached response, or one being built.
type cacheEntry struct {
	key   string
	posts []string      // the posts whose changes invalidate it
	ready chan struct{} // closed once resp or err is set
	resp  *response
	err   error
	size  int64
	seg   *segment      // where it is stored; nil until then
	elem  *list.Element // its place in seg's LRU list, nil until stored
	waits int           // requests that joined the build
}

// segment is one byte-bounded LRU list of the cache.
type segment struct {
	max  int64
	size int64
	lru  list.List // most recently used first
}

// builder makes the body of an answer, and says whether the answer is about
// something that exists: a thread with comments. Answers that are not (a
// thread without comments, counts for any set of keys) go to the cache's
// small guest segment.
type builder func() (body []byte, known bool, err error)

// responseCache is a byte-bounded LRU of encoded responses, invalidated by
// post.
//
// The read path. A popular post sends thousands of readers to one thread,
// whose answer changes only when a moderator acts, so each public answer
// (a post's thread, a set of counts) is encoded once, with its gzip and ETag,
// and served as bytes until that post's approved set changes. The cache
// hears of changes through Service.Subscribe, after they commit.
//
// Correctness rests on one rule: an entry is registered under its posts
// before its data is read from storage, and invalidating a post removes every
// entry registered under it, finished or still being built. A build that
// lost its entry meanwhile may have read the old data, so its result goes to
// the requests already waiting for it and is never stored. Concurrent misses
// for one key share one build, so a just-approved comment on a popular post
// costs one storage read, not one per reader.
//
// Admission. Anyone can ask for counts of a new set of keys, or for the
// thread of a post that does not exist, and each such answer would be a new
// entry: a script could fill the cache and evict every popular thread. So
// the cache keeps two LRU segments in its one budget. Threads that have
// comments, which only moderators create, share seven eighths; counts and
// empty threads share the last eighth (the guest segment), and evict only
// each other. Strangers can churn the guest segment, never the threads.
type responseCache struct {
	max int64 // bytes; not caching at all when <= 0

	mu      sync.Mutex
	entries map[string]*cacheEntry
	byPost  map[string]map[*cacheEntry]struct{}
	known   segment // threads with comments
	guests  segment // counts and threads without comments

	builds atomic.Int64 // responses built, for tests and metrics
}

func newResponseCache(max int64) *responseCache {
	rc := &responseCache{max: max, entries: map[string]*cacheEntry{}, byPost: map[string]map[*cacheEntry]struct{}{}}
	rc.guests.max = max / guestShare
	rc.known.max = max - rc.guests.max
	return rc
}

// cached returns the response stored under key, or nil when there is none
// yet: the read path's fast way to a hit, which converts key to a string for
// the lookup only (no allocation). On nil, get builds it.
func (rc *responseCache) cached(key []byte) *response {
	if rc.max <= 0 {
		return nil
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if e := rc.entries[string(key)]; e != nil && e.elem != nil {
		e.seg.lru.MoveToFront(e.elem)
		return e.resp
	}
	return nil
}

// get returns the response stored under key, building it with build when it
// is missing. posts are the posts the response depends on. Errors are
// returned to every request waiting on the build and never stored.
func (rc *responseCache) get(ctx context.Context, key string, posts []string, build builder) (*response, error) {
	if rc.max <= 0 {
		rc.builds.Add(1)
		resp, _, err := buildResponse(build)
		return resp, err
	}
	rc.mu.Lock()
	if e := rc.entries[key]; e != nil {
		if e.elem != nil {
			e.seg.lru.MoveToFront(e.elem)
			rc.mu.Unlock()
			return e.resp, nil
		}
		e.waits++
		rc.mu.Unlock()
		select {
		case <-e.ready:
			return e.resp, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e := &cacheEntry{key: key, posts: posts, ready: make(chan struct{})}
	rc.entries[key] = e
	for _, p := range posts {
		if rc.byPost[p] == nil {
			rc.byPost[p] = map[*cacheEntry]struct{}{}
		}
		rc.byPost[p][e] = struct{}{}
	}
	rc.mu.Unlock()

	rc.builds.Add(1)
	finished := false
	defer func() {
		if !finished { // build panicked: fail the waiters, let the next request retry
			rc.finish(e, nil, errBuildFailed, nil)
		}
	}()
	resp, known, err := buildResponse(build)
	finished = true
	seg := &rc.guests
	if known {
		seg = &rc.known
	}
	rc.finish(e, resp, err, seg)
	return resp, err
}

// finish records what the build of e produced, wakes its waiters and keeps
// the response in seg if e is still current.
func (rc *responseCache) finish(e *cacheEntry, resp *response, err error, seg *segment) {
	rc.mu.Lock()
	defer close(e.ready)
	defer rc.mu.Unlock()
	e.resp, e.err = resp, err
	if rc.entries[e.key] != e { // invalidated while building: serve, don't keep
		return
	}
	e.size = int64(len(e.key)) + entryOverhead
	for _, p := range e.posts {
		e.size += int64(len(p)) + 16
	}
	if resp != nil {
		e.size += int64(len(resp.body) + len(resp.gzipped))
	}
	if err != nil || e.size > seg.max {
		rc.remove(e)
		return
	}
	e.seg, e.elem = seg, seg.lru.PushFront(e)
	seg.size += e.size
	for seg.size > seg.max {
		rc.remove(seg.lru.Back().Value.(*cacheEntry))
	}
}

// errBuildFailed is what waiters see when the build they waited on panicked.
var errBuildFailed = errors.New("building the response failed")

// invalidate drops every response that depends on post, including those
// being built.
func (rc *responseCache) invalidate(post string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for e := range rc.byPost[post] {
		rc.remove(e)
	}
}

// dropSite drops every response of a site: a change to the site's settings
// changes its threads' answers (their widget settings). Sites change rarely,
// so a walk over the cached posts is cheap enough.
func (rc *responseCache) dropSite(site string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for post, es := range rc.byPost {
		if strings.HasPrefix(post, cacheKey(site, "")) {
			for e := range es {
				rc.remove(e)
			}
		}
	}
}

// dropAll drops every response, including those being built: this process
// may have missed changes that other processes on its database made (their
// listener reconnected).
func (rc *responseCache) dropAll() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, e := range rc.entries {
		rc.remove(e)
	}
}

// remove forgets e; the caller holds mu.
func (rc *responseCache) remove(e *cacheEntry) {
	if rc.entries[e.key] == e {
		delete(rc.entries, e.key)
	}
	for _, p := range e.posts {
		delete(rc.byPost[p], e)
		if len(rc.byPost[p]) == 0 {
			delete(rc.byPost, p)
		}
	}
	if e.elem != nil {
		e.seg.lru.Remove(e.elem)
		e.seg.size -= e.size
		e.elem = nil
	}
}

// listen is the cache's Service.Subscribe listener. A post's public answers
// change when a comment on it is approved, leaves approved, is deleted or
// arrives already public (an import); a plain submission waits for
// moderation and changes nothing readers see, so the cache stays warm under
// a flood of new comments.
func (rc *responseCache) listen(_ context.Context, e moderation.Event) {
	for _, c := range e.Comments {
		if e.Kind == moderation.EventSubmitted && c.Status != moderation.StatusApproved && c.Status != moderation.StatusDeleted {
			continue
		}
		rc.invalidate(cacheKey(c.Site, c.Post))
	}
}

// stats reports how many bytes and entries the cache holds.
func (rc *responseCache) stats() (size int64, n int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.known.size + rc.guests.size, rc.known.lru.Len() + rc.guests.lru.Len()
}
