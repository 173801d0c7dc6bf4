package server

import (
	"container/list"
	"context"
	"errors"
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

// cacheEntry is a cached response, or one being built.
type cacheEntry struct {
	key   string
	posts []string      // the posts whose changes invalidate it
	ready chan struct{} // closed once resp or err is set
	resp  *response
	err   error
	size  int64
	elem  *list.Element // its place in the LRU list, nil until stored
	waits int           // requests that joined the build
}

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
type responseCache struct {
	max int64 // bytes; not caching at all when <= 0

	mu      sync.Mutex
	size    int64
	entries map[string]*cacheEntry
	byPost  map[string]map[*cacheEntry]struct{}
	lru     list.List // most recently used first

	builds atomic.Int64 // responses built, for tests and metrics
}

func newResponseCache(max int64) *responseCache {
	return &responseCache{max: max, entries: map[string]*cacheEntry{}, byPost: map[string]map[*cacheEntry]struct{}{}}
}

// get returns the response stored under key, building it with build when it
// is missing. posts are the posts the response depends on. Errors are
// returned to every request waiting on the build and never stored.
func (rc *responseCache) get(ctx context.Context, key string, posts []string, build func() ([]byte, error)) (*response, error) {
	if rc.max <= 0 {
		rc.builds.Add(1)
		return buildResponse(build)
	}
	rc.mu.Lock()
	if e := rc.entries[key]; e != nil {
		if e.elem != nil {
			rc.lru.MoveToFront(e.elem)
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
			rc.finish(e, nil, errBuildFailed)
		}
	}()
	resp, err := buildResponse(build)
	finished = true
	rc.finish(e, resp, err)
	return resp, err
}

// finish records what the build of e produced, wakes its waiters and keeps
// the response if e is still current.
func (rc *responseCache) finish(e *cacheEntry, resp *response, err error) {
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
	if err != nil || e.size > rc.max {
		rc.remove(e)
		return
	}
	e.elem = rc.lru.PushFront(e)
	rc.size += e.size
	for rc.size > rc.max {
		rc.remove(rc.lru.Back().Value.(*cacheEntry))
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
		rc.lru.Remove(e.elem)
		rc.size -= e.size
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
	return rc.size, rc.lru.Len()
}
