package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/moderation"
	"parley/server"
	"parley/storage/bolt"
)

// ledger is what the clients were told: every comment the server
// acknowledged with its last acknowledged status, and every operation that
// got no answer, which may or may not have committed.
type ledger struct {
	mu       sync.Mutex
	comments map[string]*tracked // by ID
	unsure   map[string]string   // body → post of submissions without an answer
	next     int                 // numbers submission bodies, so each is unique
}

type tracked struct {
	id, post, body string
	status         moderation.Status // last acknowledged
	unsure         moderation.Status // a change sent without an answer, or ""
	busy           bool              // a moderator is acting on it
}

func newLedger() *ledger {
	return &ledger{comments: map[string]*tracked{}, unsure: map[string]string{}}
}

// crashPosts are the posts the load spreads over.
var crashPosts = []string{"/2026/one", "/2026/two", "/2026/three", "/2026/four"}

// submitter posts comments until ctx ends, replying now and then to an
// approved one, and records what the server answered.
func (l *ledger) submitter(ctx context.Context, t *testing.T, base string, rng *rand.Rand) {
	for ctx.Err() == nil {
		l.mu.Lock()
		l.next++
		body := fmt.Sprintf("comment %d, sent at %s", l.next, time.Now().Format(time.RFC3339Nano))
		post, parent := crashPosts[rng.IntN(len(crashPosts))], ""
		if rng.IntN(3) == 0 {
			for _, c := range l.comments {
				if c.status == moderation.StatusApproved && c.unsure == "" {
					post, parent = c.post, c.id
					break
				}
			}
		}
		l.mu.Unlock()

		// Like the widget, ask for a form token first: without one the spam
		// pipeline would file the comment as spam (still answering "pending").
		form, err := callParley(ctx, http.MethodGet, base+"/api/form?"+url.Values{"post": {post}}.Encode(), "", nil)
		token, _ := form.body["token"].(string)
		if err != nil || token == "" {
			time.Sleep(10 * time.Millisecond)
			continue // the server is down between rounds; nothing was sent
		}
		l.mu.Lock()
		l.unsure[body] = post
		l.mu.Unlock()
		res, err := callParley(ctx, http.MethodPost, base+"/api/comments", "", map[string]string{
			"post": post, "parent": parent, "author": "Reader", "email": "reader@example.com", "body": body, "token": token})
		l.mu.Lock()
		switch {
		case err == nil && res.status == http.StatusAccepted:
			id, _ := res.body["id"].(string)
			l.comments[id] = &tracked{id: id, post: post, body: body, status: moderation.StatusPending}
			delete(l.unsure, body)
		case err == nil && res.status == http.StatusBadRequest:
			delete(l.unsure, body) // refused (the parent left approved meanwhile): nothing stored
		case err == nil:
			t.Errorf("submission answered %d: %v", res.status, res.body)
		}
		l.mu.Unlock()
	}
}

// moderator approves, rejects, files as spam or deletes comments until ctx
// ends, one comment at a time, so each comment's last acknowledged status
// is well defined.
func (l *ledger) moderator(ctx context.Context, t *testing.T, base, token string, rng *rand.Rand) {
	actions := []struct {
		action moderation.Action
		to     moderation.Status
	}{
		{moderation.ActionApprove, moderation.StatusApproved},
		{moderation.ActionApprove, moderation.StatusApproved},
		{moderation.ActionReject, moderation.StatusRejected},
		{moderation.ActionSpam, moderation.StatusSpam},
		{moderation.ActionDelete, moderation.StatusDeleted},
	}
	for ctx.Err() == nil {
		l.mu.Lock()
		var c *tracked
		for _, cand := range l.comments { // map order is random enough
			if !cand.busy && cand.unsure == "" && cand.status != moderation.StatusDeleted {
				c = cand
				break
			}
		}
		if c == nil {
			l.mu.Unlock()
			time.Sleep(time.Millisecond)
			continue
		}
		a := actions[rng.IntN(len(actions))]
		c.busy, c.unsure = true, a.to
		l.mu.Unlock()

		method, path := http.MethodPost, "/api/admin/comments/"+c.id+"/"+string(a.action)
		if a.action == moderation.ActionDelete {
			method, path = http.MethodDelete, "/api/admin/comments/"+c.id
		}
		res, err := callParley(ctx, method, base+path, token, nil)
		l.mu.Lock()
		c.busy = false
		switch {
		case err == nil && (res.status == http.StatusOK || res.status == http.StatusNoContent):
			c.status, c.unsure = a.to, ""
		case err == nil:
			t.Errorf("%s %s answered %d: %v", method, path, res.status, res.body)
			c.unsure = ""
		}
		l.mu.Unlock()
	}
}

// verify opens the file the killed server left and checks it against the
// ledger: indexes consistent, every acknowledged comment present with its
// last acknowledged status (or the status of a change that got no answer),
// nothing present that no client sent. It then settles the ledger to what
// the file holds, for the next round.
func (l *ledger) verify(t *testing.T, data string) {
	t.Helper()
	ctx := context.Background()
	db, err := bolt.Open(data)
	if err != nil {
		t.Fatalf("reopen after the kill: %v", err)
	}
	defer db.Close()
	if err := db.Check(ctx); err != nil {
		t.Fatalf("after the kill: %v", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, c := range l.comments {
		got, err := db.Comment(ctx, moderation.DefaultSite, id)
		status := moderation.StatusDeleted // a removed comment leaves nothing, or a tombstone
		switch {
		case errors.Is(err, moderation.ErrNotFound):
		case err != nil:
			t.Fatal(err)
		case got.Status != moderation.StatusDeleted && (got.Post != c.post || got.Body != c.body):
			t.Fatalf("comment %s came back as %q on %q, was sent as %q on %q", id, got.Body, got.Post, c.body, c.post)
		default:
			status = got.Status
		}
		if status != c.status && status != c.unsure {
			t.Fatalf("comment %s is %s after the kill; its last acknowledged status was %s (unanswered: %q)",
				id, status, c.status, c.unsure)
		}
		c.status, c.unsure = status, ""
	}
	for _, s := range moderation.Statuses {
		for cursor := ""; ; {
			page, next, err := db.Comments(ctx, moderation.Query{Site: moderation.DefaultSite, Status: s, Limit: moderation.MaxPage, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range page {
				if _, ok := l.comments[got.ID]; ok {
					continue
				}
				post, sent := l.unsure[got.Body]
				if !sent || post != got.Post || got.Status != moderation.StatusPending {
					t.Fatalf("after the kill the file holds %s (%s, %q), which no client sent", got.ID, got.Status, got.Body)
				}
				// Committed, though its answer was lost: it is the client's now.
				l.comments[got.ID] = &tracked{id: got.ID, post: got.Post, body: got.Body, status: got.Status}
			}
			if cursor = next; next == "" {
				break
			}
		}
	}
	clear(l.unsure)
}

// checkPublic reads every post's public thread from a fresh server and
// compares it with the approved comments of the ledger.
func (l *ledger) checkPublic(t *testing.T, base string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, post := range crashPosts {
		var want []string
		for _, c := range l.comments {
			if c.post == post && c.status == moderation.StatusApproved {
				want = append(want, c.id)
			}
		}
		res, err := callParley(context.Background(), http.MethodGet, base+"/api/comments?"+url.Values{"post": {post}}.Encode(), "", nil)
		if err != nil || res.status != http.StatusOK {
			t.Fatalf("read %s: %v %v", post, res.status, err)
		}
		var got []string
		list, _ := res.body["comments"].([]any)
		for _, item := range list {
			m, _ := item.(map[string]any)
			if deleted, _ := m["deleted"].(bool); !deleted {
				got = append(got, m["id"].(string))
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%s shows %d approved comments after restart, the ledger %d:\n got %q\nwant %q", post, len(got), len(want), got, want)
		}
	}
}

// TestKillLosesNothing is the crash-safety proof: many rounds of concurrent
// submissions and moderation against the real binary, each ended by SIGKILL
// at a random moment, each followed by a check of the file against
// everything the clients were told.
func TestKillLosesNothing(t *testing.T) {
	bin := buildParley(t)
	data := filepath.Join(t.TempDir(), "parley.db")
	token := parleyToken(t, bin, data)
	l := newLedger()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 6))
	t.Logf("random seed %d", seed)
	const rounds, submitters, moderators = 12, 16, 4
	var acked int
	for round := range rounds {
		p := startParley(t, bin, data)
		l.checkPublic(t, p.URL)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i := range submitters + moderators {
			r := rand.New(rand.NewPCG(rng.Uint64(), uint64(i)))
			if i < submitters {
				wg.Go(func() { l.submitter(ctx, t, p.URL, r) })
			} else {
				wg.Go(func() { l.moderator(ctx, t, p.URL, token, r) })
			}
		}
		time.Sleep(time.Duration(150+rng.IntN(850)) * time.Millisecond)
		p.signal(t, syscall.SIGKILL, 10*time.Second)
		stop()
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		l.mu.Lock()
		unanswered := len(l.unsure)
		for _, c := range l.comments {
			if c.unsure != "" {
				unanswered++
			}
		}
		t.Logf("round %d: %d comments acknowledged so far, %d operations without an answer", round+1, len(l.comments), unanswered)
		l.mu.Unlock()
		l.verify(t, data)
		acked = len(l.comments)
	}
	if acked < rounds*20 {
		t.Errorf("only %d comments were acknowledged over %d rounds: the load was too light to prove much", acked, rounds)
	}
	p := startParley(t, bin, data)
	l.checkPublic(t, p.URL)
}

// TestTerminateUnderLoadLosesNothing sends SIGTERM while clients submit and
// moderate: the server must stop taking requests, finish those in flight,
// exit 0 within its shutdown timeout, and keep every acknowledged change.
// (Requests that reach it after it closed its listener get no answer, and
// may or may not be stored, like after a kill.)
func TestTerminateUnderLoadLosesNothing(t *testing.T) {
	bin := buildParley(t)
	data := filepath.Join(t.TempDir(), "parley.db")
	token := parleyToken(t, bin, data)
	l := newLedger()
	p := startParley(t, bin, data)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 20 {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		if i < 16 {
			wg.Go(func() { l.submitter(ctx, t, p.URL, r) })
		} else {
			wg.Go(func() { l.moderator(ctx, t, p.URL, token, r) })
		}
	}
	time.Sleep(time.Second)
	took := p.signal(t, syscall.SIGTERM, server.ShutdownTimeout)
	stop()
	wg.Wait()
	if p.err != nil {
		t.Fatalf("parley exited with %v after SIGTERM:\n%s", p.err, p.log)
	}
	t.Logf("stopped %v after SIGTERM with %d comments acknowledged", took, len(l.comments))
	if !strings.Contains(p.log.String(), "parley stopped") {
		t.Errorf("no orderly stop in the log:\n%s", p.log)
	}
	l.verify(t, data)
}
