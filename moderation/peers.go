package moderation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// How the processes that share one database keep what each holds in memory
// current (PeerStore has the transport).
//
// Every change a process commits, it announces as notes: each comment that
// changed (its site, post, id and new status, and the kind of event), each
// site added, edited or removed, each classifier rebuilt, each part held by
// others (a blocklist) saved. Each other process replays them: comment
// notes go to its listeners as an Event with Remote set (read caches drop
// the post, the admin page's live queue shows the change, metrics ignore
// it), a site note drops its site index and what was built from the site,
// and a decision reloads the site's classifier from the database (at most
// about once a second per site: it is read whole). When a process (re)starts
// listening it may have missed notes, so it resyncs: drops the site index,
// every listener's cache (SubscribeResync) and reloads every model.
//
// Notes are announced after the change committed and never hold content
// (no author, body or email): readers fetch what they show.

// note is one change, as processes tell each other. Keys are short: many
// fit in one announcement.
type note struct {
	Kind   EventKind `json:"k,omitempty"`
	Site   string    `json:"s,omitempty"`
	Post   string    `json:"p,omitempty"`
	ID     string    `json:"i,omitempty"`
	Status Status    `json:"st,omitempty"`
	// Part names what changed when it is no comment: partSite, partModel,
	// partResync, or a part others keep (see AnnounceChange).
	Part string `json:"w,omitempty"`
}

// The parts the service itself keeps.
const (
	partSite   = "site"   // Site was added, edited or removed
	partModel  = "model"  // Site's classifier was rebuilt
	partResync = "resync" // the sender lost notes: drop everything
)

// Timing of FollowPeers.
const (
	// listenRetry is the first wait before listening or announcing again
	// after the database was lost; it doubles up to listenRetryMax.
	listenRetry    = 250 * time.Millisecond
	listenRetryMax = 15 * time.Second
	// modelReloadGap is the least time between two reloads of a site's
	// classifier for other processes' decisions: a reload reads the model
	// whole, while a moderator clearing a queue decides many times a second.
	modelReloadGap = time.Second
	// announceQueue is how many committed changes may wait for the
	// announcer; past it they are dropped and the peers told to resync.
	announceQueue = 4096
	// maxNotesPerRound bounds what one round of the announcer gathers.
	maxNotesPerRound = 2000
	// flushTimeout bounds the last announcements at shutdown.
	flushTimeout = 5 * time.Second
)

// peers is what FollowPeers runs: the announcer's queue and the sites
// whose classifiers wait for a reload.
type peers struct {
	queue chan []note
	lost  chan struct{} // holds a token when notes were dropped

	mu      sync.Mutex
	reloads map[string]bool // site → reload its model; "" → every model
	kick    chan struct{}
}

// FollowPeers keeps this process in step with the others on its database
// until ctx ends: it announces this process's committed changes (without
// making requests wait for that), and listens to theirs, listening again
// after the database was lost. report hears what went wrong (the caller
// logs it); nothing here is fatal. Run it once, in its own goroutine, from
// the command that serves; it returns once the last changes are announced.
// Without it (a one-off command) each change is announced as it commits.
func (s *Service) FollowPeers(ctx context.Context, report func(error)) {
	p := &peers{queue: make(chan []note, announceQueue), lost: make(chan struct{}, 1),
		reloads: map[string]bool{}, kick: make(chan struct{}, 1)}
	s.peers.Store(p)
	var wg sync.WaitGroup
	wg.Go(func() { s.announce(ctx, p, report) })
	wg.Go(func() { s.reloadModels(ctx, p, report) })
	wait := listenRetry
	for ctx.Err() == nil {
		started := time.Now()
		err := s.store.Listen(ctx, func(msg []byte) { s.receive(ctx, msg) }, s.resync)
		if ctx.Err() != nil {
			break
		}
		if err == nil {
			err = errors.New("the listener stopped")
		}
		if time.Since(started) > time.Minute {
			wait = listenRetry
		}
		report(fmt.Errorf("listening to other instances: %w; listening again in %s", err, wait))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, listenRetryMax)
	}
	wg.Wait()
}

// tell announces committed changes: through FollowPeers' announcer when it
// runs, else at once.
func (s *Service) tell(ctx context.Context, notes ...note) {
	if len(notes) == 0 {
		return
	}
	if p := s.peers.Load(); p != nil {
		select {
		case p.queue <- notes:
		default: // the announcer cannot keep up: the peers will resync
			select {
			case p.lost <- struct{}{}:
			default:
			}
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	// Best effort, as the contract says: the change has committed, and a
	// peer that misses this resyncs when it loses the database.
	_ = s.say(ctx, pack(notes))
}

// announce sends what tell queued, gathering what piles up meanwhile into
// as few announcements as fit, until ctx ends; then it sends what is left.
func (s *Service) announce(ctx context.Context, p *peers, report func(error)) {
	wait := listenRetry
	for {
		var notes []note
		done := false
		select {
		case notes = <-p.queue:
		case <-p.lost:
			notes = []note{{Part: partResync}}
		case <-ctx.Done():
			// Later changes are announced as they commit; these are the last.
			s.peers.CompareAndSwap(p, nil)
			done = true
		}
	gather:
		for done || len(notes) < maxNotesPerRound {
			select {
			case more := <-p.queue:
				notes = append(notes, more...)
			default:
				break gather
			}
		}
		select {
		case <-p.lost:
			notes = append([]note{{Part: partResync}}, notes...)
		default:
		}
		msgs := pack(notes)
		var err error
		if !done {
			err = s.say(ctx, msgs)
		}
		if ctx.Err() != nil {
			// The last round, or ctx ended during this one: say it (again:
			// a note heard twice does no harm) within flushTimeout.
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
			_ = s.say(last, msgs)
			cancel()
			if done {
				return
			}
			continue // to the last round, for what is queued still
		}
		if err == nil {
			wait = listenRetry
			continue
		}
		report(fmt.Errorf("telling other instances of changes: %w; trying again in %s", err, wait))
		select { // the next round tells them to resync
		case p.lost <- struct{}{}:
		default:
		}
		select { // the database is likely away: give it time
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, listenRetryMax)
	}
}

// say announces msgs in order, stopping at the first error.
func (s *Service) say(ctx context.Context, msgs [][]byte) error {
	for _, msg := range msgs {
		if err := s.store.Announce(ctx, msg); err != nil {
			return err
		}
	}
	return nil
}

// pack encodes notes as JSON arrays of at most MaxAnnounce bytes each.
func pack(notes []note) [][]byte {
	var out [][]byte
	buf := []byte{'['}
	for _, n := range notes {
		b, err := json.Marshal(n)
		if err != nil || len(b)+2 > MaxAnnounce { // cannot happen: keys are bounded
			b, _ = json.Marshal(note{Part: partResync})
		}
		if len(buf)+len(b)+1 > MaxAnnounce {
			out = append(out, append(buf[:len(buf)-1:len(buf)-1], ']'))
			buf = []byte{'['}
		}
		buf = append(append(buf, b...), ',')
	}
	if len(buf) > 1 {
		out = append(out, append(buf[:len(buf)-1], ']'))
	}
	return out
}

// notesOf is what peers hear of a local event: each comment, without its
// content.
func notesOf(e Event) []note {
	notes := make([]note, len(e.Comments))
	for i, c := range e.Comments {
		notes[i] = note{Kind: e.Kind, Site: c.Site, Post: c.Post, ID: c.ID, Status: c.Status}
	}
	return notes
}

// receive replays one announcement of another process.
func (s *Service) receive(ctx context.Context, msg []byte) {
	var notes []note
	if err := json.Unmarshal(msg, &notes); err != nil {
		s.resync() // not ours to read: assume the worst
		return
	}
	var e *Event
	flush := func() {
		if e != nil {
			s.publish(ctx, *e)
			e = nil
		}
	}
	for _, n := range notes {
		switch {
		case n.Part == partResync:
			flush()
			s.resync()
		case n.Part == partSite:
			flush()
			s.spam.forget(n.Site)
			s.dropSite(n.Site)
		case n.Part == partModel:
			s.reloadModel(n.Site)
		case n.Part != "":
			for _, fn := range s.remoteListeners[n.Part] {
				fn(n.Site)
			}
		case n.ID != "":
			if e == nil || e.Kind != n.Kind {
				flush()
				e = &Event{Kind: n.Kind, Remote: true}
			}
			e.Comments = append(e.Comments, &Comment{ID: n.ID, Site: n.Site, Post: n.Post, Status: n.Status})
			if n.Kind == EventModerated || n.Kind == EventImported { // what the classifier learns from
				s.reloadModel(n.Site)
			}
		}
	}
	flush()
}

// resync drops everything this process built from the database, for
// changes it may not have heard of.
func (s *Service) resync() {
	s.siteIx.Store(nil)
	for _, fn := range s.resyncListeners {
		fn()
	}
	for _, fns := range s.remoteListeners {
		for _, fn := range fns {
			fn("")
		}
	}
	s.reloadModel("")
}

// SubscribeResync registers fn to hear that this process may have missed
// other processes' changes: it must drop whatever it keeps that was built
// from the database. Register listeners before serving.
func (s *Service) SubscribeResync(fn func()) {
	s.resyncListeners = append(s.resyncListeners, fn)
}

// AnnounceChange tells the other processes that part of site changed, for
// what is kept outside the service (the spam filter's blocklists): each of
// them calls the functions subscribed to part with SubscribeRemote.
func (s *Service) AnnounceChange(ctx context.Context, part, site string) {
	s.tell(ctx, note{Part: part, Site: site})
}

// SubscribeRemote registers fn to hear the site whose part another process
// changed (see AnnounceChange), or "" when this process may have missed
// changes of every site. Register listeners before serving.
func (s *Service) SubscribeRemote(part string, fn func(site string)) {
	if s.remoteListeners == nil {
		s.remoteListeners = map[string][]func(string){}
	}
	s.remoteListeners[part] = append(s.remoteListeners[part], fn)
}

// Lease reports whether this process holds the named lease for the coming
// period (see PeerStore.Lease): work that must run once per period across
// the processes on a database runs where it is held.
func (s *Service) Lease(ctx context.Context, name string, period time.Duration) (bool, error) {
	return s.store.Lease(ctx, name, period)
}

// reloadModel asks FollowPeers to reload site's classifier ("": every
// one's) from the database.
func (s *Service) reloadModel(site string) {
	p := s.peers.Load()
	if p == nil {
		return
	}
	p.mu.Lock()
	p.reloads[site] = true
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// reloadModels reloads the classifiers reloadModel asked for, each at most
// once per modelReloadGap, until ctx ends.
func (s *Service) reloadModels(ctx context.Context, p *peers, report func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		}
		p.mu.Lock()
		sites := p.reloads
		p.reloads = map[string]bool{}
		p.mu.Unlock()
		if err := s.spam.reloadLoaded(ctx, s.store, sites); err != nil && ctx.Err() == nil {
			report(fmt.Errorf("reloading a classifier for another instance's decisions: %w", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(modelReloadGap):
		}
	}
}

// reloadLoaded reloads, of the models in memory, those of sites (all of
// them when sites holds ""); a model of a site that is gone is dropped.
// Models not in memory load when first needed.
func (ms *spamModels) reloadLoaded(ctx context.Context, store Store, sites map[string]bool) error {
	ms.mu.Lock()
	var loaded []*spamModel
	for site, m := range ms.bySite {
		if sites[""] || sites[site] {
			loaded = append(loaded, m)
		}
	}
	ms.mu.Unlock()
	var first error
	for _, m := range loaded {
		err := m.reload(ctx, store)
		if errors.Is(err, ErrNotFound) {
			ms.forget(m.site)
			continue
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}
