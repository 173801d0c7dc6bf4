// Command seed fills a Parley database with realistic comments for load
// tests and the scale benchmarks (scripts/load.sh). It writes straight
// through storage, as the server does, but without HTTP: many goroutines
// share group commits, so a million comments take about a minute.
//
//	go run ./scripts/seed --data load.db --posts 10000 --per-post 100
//
// Every post /post/NNNNN gets --per-post comments, most of them approved,
// about one in five a reply to an earlier approved one, the rest pending,
// rejected or spam. The post /popular gets --popular approved comments: the
// thread the load script reads.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"parley/moderation"
	"parley/storage/bolt"
)

func main() {
	data := flag.String("data", "load.db", "the database file to fill (created if missing)")
	posts := flag.Int("posts", 10, "how many posts")
	perPost := flag.Int("per-post", 100, "comments on each post")
	popular := flag.Int("popular", 200, "approved comments on /popular")
	workers := flag.Int("workers", 512, "concurrent writers")
	check := flag.Bool("check", false, "verify the indexes afterwards (bolt.DB.Check)")
	sites := flag.Int("sites", 1, "how many sites, each with --posts posts (the default site, then site-0001… on https://site-0001.example…)")
	flag.Parse()
	if err := seed(*data, *sites, *posts, *perPost, *popular, *workers, *check); err != nil {
		log.Fatal(err)
	}
}

func seed(path string, sites, posts, perPost, popular, workers int, check bool) error {
	ctx := context.Background()
	db, err := bolt.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	ids := []string{moderation.DefaultSite}
	for i := 1; i < sites; i++ {
		s := &moderation.Site{ID: fmt.Sprintf("site-%04d", i), Name: fmt.Sprintf("Site %d", i),
			Origins: []string{fmt.Sprintf("https://site-%04d.example", i)}, Created: time.Now().UTC()}
		if err := db.PutSite(ctx, s, true, nil); err != nil {
			return err
		}
		ids = append(ids, s.ID)
	}
	// Seeding is all throughput: let big batches form.
	db.SetBatchLimits(workers, 10*time.Millisecond)
	bodies, err := renderBodies()
	if err != nil {
		return err
	}

	start := time.Now()
	var written atomic.Int64
	jobs := make(chan job)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		rng := rand.New(rand.NewPCG(uint64(w), 42))
		wg.Go(func() {
			for j := range jobs {
				n, err := seedPost(ctx, db, rng, bodies, j)
				written.Add(int64(n))
				if err != nil {
					errs <- fmt.Errorf("post %s: %w", j.post, err)
					return
				}
			}
		})
	}
	go func() {
		for range time.Tick(10 * time.Second) {
			fmt.Fprintf(os.Stderr, "seed: %d comments, %v\n", written.Load(), time.Since(start).Round(time.Second))
		}
	}()
	queue := func(j job) bool {
		select {
		case jobs <- j:
			return true
		case err := <-errs:
			errs <- err
			return false
		}
	}
	if popular > 0 {
		queue(job{site: moderation.DefaultSite, post: "/popular", n: popular, allApproved: true})
	}
queueing:
	for _, site := range ids {
		for i := range posts {
			if !queue(job{site: site, post: fmt.Sprintf("/post/%05d", i), n: perPost}) {
				break queueing
			}
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seed: %d comments over %d posts of %d sites in %v\n", written.Load(), len(ids)*posts+min(popular, 1), len(ids), time.Since(start).Round(time.Millisecond))
	// An installation has its owner: a server started on the file then
	// measures a restart, not a first start's password hashing.
	svc, err := moderation.NewService(ctx, db, moderation.Options{})
	if err != nil {
		return err
	}
	if _, err := svc.EnsureOwner(ctx, "load-test-password"); err != nil {
		return err
	}
	if check {
		return db.Check(ctx)
	}
	return nil
}

type job struct {
	site, post  string
	n           int
	allApproved bool
}

// seedPost writes one post's comments in order, so that replies hang from
// comments already committed.
func seedPost(ctx context.Context, db *bolt.DB, rng *rand.Rand, bodies []body, j job) (int, error) {
	var approved []*moderation.Comment
	for i := range j.n {
		now := time.Now().UTC()
		b := bodies[rng.IntN(len(bodies))]
		c := &moderation.Comment{
			ID: moderation.NewID(now), Site: j.site, Post: j.post,
			Author: fmt.Sprintf("Reader %d", rng.IntN(5000)), Email: "reader@example.com",
			Website: "https://example.com/", Body: b.text, HTML: b.html,
			Status: moderation.StatusApproved, Created: now, Updated: now,
			IPHash: "seeded", UserAgent: "seed",
			History: []moderation.Change{{Status: moderation.StatusPending, At: now, By: "system"}},
		}
		if !j.allApproved {
			switch r := rng.IntN(100); {
			case r < 5:
				c.Status = moderation.StatusPending
			case r < 8:
				c.Status = moderation.StatusRejected
			case r < 10:
				c.Status = moderation.StatusSpam
			}
		}
		if c.Status != moderation.StatusPending {
			c.History = append(c.History, moderation.Change{Status: c.Status, At: now, By: "seed"})
		}
		var attach func(*moderation.Comment) error
		if len(approved) > 0 && rng.IntN(5) == 0 {
			parent := approved[rng.IntN(len(approved))]
			c.Parent, c.Depth = parent.ID, min(parent.Depth+1, moderation.MaxDepth)
			attach = func(*moderation.Comment) error { return nil }
		}
		if err := db.CreateComment(ctx, c, attach); err != nil {
			return i, err
		}
		if c.Status == moderation.StatusApproved && c.Depth < moderation.MaxDepth {
			approved = append(approved, c)
		}
	}
	return j.n, nil
}

type body struct{ text, html string }

// renderBodies renders a few typical comments once, with the server's
// renderer, so that the stored HTML is exactly what the server would store.
func renderBodies() ([]body, error) {
	texts := []string{
		"Great post, thanks!",
		"I tried this on my own blog and it *worked*, though I had to change `max_conns` first.",
		"Thanks for the write-up. I tried the *second* approach on my own blog and it worked, " +
			"though I had to change `max_conns` first.\n\nOne question: does this hold for " +
			"[older versions](https://example.com/docs) too?",
		"> the cache is invalidated exactly when the approved set changes\n\nThat is the part " +
			"most systems get wrong. A few points from running something similar:\n\n" +
			"1. measure before and after\n2. keep the invalidation next to the write\n" +
			"3. never trust a TTL alone\n\nAnyway, **well done**.",
	}
	r := moderation.NewRenderer()
	out := make([]body, len(texts))
	for i, t := range texts {
		html, err := r.Render(t)
		if err != nil {
			return nil, err
		}
		out[i] = body{text: t, html: html}
	}
	return out, nil
}
