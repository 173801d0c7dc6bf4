package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"parley/moderation"
)

// Change is one committed change as the admin page's event stream tells it:
// which comments, now in which status. It carries no content (no author, no
// body): the page fetches what it shows through the queue endpoints. Other
// instances' changes arrive the same way, as remote service events (see
// eventHub).
type Change struct {
	Kind     moderation.EventKind `json:"kind"`
	Site     string               `json:"site"` // streams carry a change only to moderators of its site
	Comments []ChangedComment     `json:"comments"`
}

// ChangedComment is one comment of a Change.
type ChangedComment struct {
	ID     string            `json:"id"`
	Status moderation.Status `json:"status"`
}

// changesOf is the stream's view of a service event: one Change per site
// its comments belong to.
func changesOf(e moderation.Event) []Change {
	var out []Change
	at := map[string]int{}
	for _, cm := range e.Comments {
		i, ok := at[cm.Site]
		if !ok {
			i = len(out)
			at[cm.Site] = i
			out = append(out, Change{Kind: e.Kind, Site: cm.Site})
		}
		out[i].Comments = append(out[i].Comments, ChangedComment{ID: cm.ID, Status: cm.Status})
	}
	return out
}

// Limits of the event streams.
const (
	// maxEventStreams bounds the open streams, each a connection and a
	// goroutine; a moderator with many tabs open is a handful of them.
	maxEventStreams = 256
	// streamBuffer is how many changes wait for one slow stream before it
	// is told to resync instead.
	streamBuffer = 16
	// keepAliveEvery is the longest silence on a stream: proxies close idle
	// connections after a minute or so, and the write deadline must move on.
	keepAliveEvery = 25 * time.Second
	// reconnectMillis is how soon a browser reconnects a broken stream.
	reconnectMillis = 1000
	// streamLifetime is how long one stream lasts before the browser must
	// reconnect, and so sign in again: a moderator removed, or a session
	// that ended, hears no more than this much longer.
	streamLifetime = 5 * time.Minute
	// eventsRoute is the stream's route; opening it is background work, not
	// use that keeps a session alive (EventSource sends no custom headers).
	eventsRoute = "/api/admin/events"
)

// resyncEvent tells the page to fetch the queue and counts afresh.
var resyncEvent = []byte("event: resync\ndata: {}\n\n")

var errTooManyStreams = moderation.Errorf(moderation.CodeUnavailable,
	"Too many live queues are open; this page checks for new comments every few seconds instead.")

// eventHub fans committed changes out to the open event streams. Publish
// never blocks, because the service calls its listeners on the request's
// goroutine: a stream that falls behind loses the changes it cannot hold and
// is told to resync (fetch the queue and counts afresh) instead.
//
// The service feeds it through listen, with this process's changes and, on
// PostgreSQL, other processes' too (moderation.Service.FollowPeers replays
// them as remote events). When this process may have missed some of those,
// resync tells every stream to fetch the queue afresh.
type eventHub struct {
	mu       sync.Mutex
	streams  map[*eventStream]struct{}
	max      int
	lifetime time.Duration
	closed   bool
}

// eventStream is one subscriber: encoded changes, and whether some were lost.
type eventStream struct {
	sees   func(site string) bool // whether its moderator may hear of a site
	ch     chan []byte
	lagged bool          // guarded by the hub's mu
	done   chan struct{} // closed when the hub shuts down
	wake   chan struct{} // holds a token when lagged was set without a change to send
}

func newEventHub(max int) *eventHub {
	return &eventHub{streams: map[*eventStream]struct{}{}, max: max, lifetime: streamLifetime}
}

// listen is the service listener that feeds the hub this instance's changes.
func (h *eventHub) listen(_ context.Context, e moderation.Event) {
	for _, c := range changesOf(e) {
		h.Publish(c)
	}
}

// Publish sends a change to every open stream without waiting for any.
func (h *eventHub) Publish(c Change) {
	data, err := json.Marshal(c)
	if err != nil { // a Change is strings only: cannot happen
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for st := range h.streams {
		if !st.sees(c.Site) {
			continue
		}
		select {
		case st.ch <- data:
		default:
			st.lagged = true
		}
	}
}

// resync tells every stream to resync: changes may have been missed.
func (h *eventHub) resync() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for st := range h.streams {
		st.lagged = true
		select {
		case st.wake <- struct{}{}:
		default:
		}
	}
}

// subscribe opens a stream that hears of the sites sees reports true for,
// or refuses one past the bound or after close.
func (h *eventHub) subscribe(sees func(site string) bool) (*eventStream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.streams) >= h.max {
		return nil, errTooManyStreams
	}
	st := &eventStream{sees: sees, ch: make(chan []byte, streamBuffer), done: make(chan struct{}), wake: make(chan struct{}, 1)}
	h.streams[st] = struct{}{}
	return st, nil
}

func (h *eventHub) unsubscribe(st *eventStream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.streams, st)
}

// tookLag reports whether st lost changes since it last asked, and clears it.
func (h *eventHub) tookLag(st *eventStream) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	lagged := st.lagged
	st.lagged = false
	return lagged
}

// close ends every stream, so that a graceful shutdown need not wait for
// connections that never go idle by themselves.
func (h *eventHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for st := range h.streams {
		close(st.done)
	}
}

// handleEvents streams committed changes to the admin page as Server-Sent
// Events: "data: {Change}" per change, "event: resync" after lost changes,
// and a comment line as keep-alive. The browser's EventSource reconnects by
// itself after reconnectMillis (also after streamLifetime, when the server
// ends the stream); the page then resyncs, as nothing is replayed.
func (s *Server) handleEvents(c echo.Context) error {
	// Every site the moderator works on, or the one site the page names.
	actor := actorOf(c)
	sees := actor.Moderates
	if id := c.QueryParam("site"); id != "" && id != moderation.AllSites {
		if !moderation.ValidSiteID(id) || !actor.Moderates(id) {
			return moderation.ErrNotFound
		}
		sees = func(site string) bool { return site == id }
	}
	st, err := s.events.subscribe(sees)
	if err != nil {
		return err
	}
	defer s.events.unsubscribe(st)

	w := c.Response()
	rc := http.NewResponseController(w)
	// The read timeout needs nothing: net/http clears the read deadline once
	// the request is read. The write timeout is moved on at every write.
	writeTimeout := s.cfg.Timeouts.orDefaults().Write
	keepAlive := min(keepAliveEvery, writeTimeout/2)
	h := w.Header()
	h.Set(echo.HeaderContentType, "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	w.WriteHeader(http.StatusOK)

	// Every write gets the server's write timeout afresh: the stream may
	// live for hours, yet a client that stops reading is still dropped.
	send := func(parts ...[]byte) bool {
		if err := rc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		for _, p := range parts {
			if _, err := w.Write(p); err != nil {
				return false
			}
		}
		return rc.Flush() == nil
	}
	if !send([]byte("retry: "), []byte(strconv.Itoa(reconnectMillis)), []byte("\n: connected\n\n")) {
		return nil
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	end := time.NewTimer(s.events.lifetime)
	defer end.Stop()
	ctx := c.Request().Context()
	for {
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case <-st.done:
			return nil
		case <-end.C:
			return nil
		case <-tick.C:
			ok = send([]byte(": keep-alive\n\n"))
		case data := <-st.ch:
			ok = send([]byte("data: "), data, []byte("\n\n"))
			if ok && len(st.ch) == 0 && s.events.tookLag(st) {
				ok = send(resyncEvent)
			}
		case <-st.wake:
			ok = true
			if len(st.ch) == 0 && s.events.tookLag(st) { // else the changes waiting send it
				ok = send(resyncEvent)
			}
		}
		if !ok {
			return nil // the client went away or stopped reading
		}
	}
}
