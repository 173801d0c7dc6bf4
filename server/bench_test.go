package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/moderation"
	"parley/storage/bolt"
)

// The benchmarks drive the real Echo instance over real bbolt in a temporary
// directory, as production does, minus the network. Run them with
//
//	go test ./server -run '^$' -bench . -benchtime 2s
//
// BENCHMARKS.md ("Read path, write path, scale") records the figures.

// BenchmarkSubmit posts comments from 50 concurrent writers, with group
// commit as configured ("group") and with every submission in its own commit
// ("commit-each"), the baseline group commit is measured against. Each 202
// is sent only after its commit in both.
func BenchmarkSubmit(b *testing.B) {
	for _, mode := range []struct {
		name  string
		limit func(db *bolt.DB)
	}{
		{"group", func(*bolt.DB) {}},
		{"commit-each", func(db *bolt.DB) { db.SetBatchLimits(1, 0) }},
	} {
		b.Run(mode.name, func(b *testing.B) { benchSubmit(b, mode.limit) })
	}
}

// BenchmarkSubmitDelay measures group commit at 50 writers for a range of
// batch delays, to choose storage's maxBatchDelay (bbolt's default is 10ms).
func BenchmarkSubmitDelay(b *testing.B) {
	for _, delay := range []time.Duration{500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond} {
		b.Run(fmt.Sprintf("delay=%v", delay), func(b *testing.B) {
			benchSubmit(b, func(db *bolt.DB) { db.SetBatchLimits(256, delay) })
		})
	}
}

// benchSubmit posts a typical comment from 50 concurrent writers.
func benchSubmit(b *testing.B, tune func(db *bolt.DB)) {
	bs := newPerfServer(b, Config{})
	tune(bs.db)
	body := fmt.Sprintf(`{"post":"/bench","author":"Ada","email":"ada@example.com","body":%q}`, benchBody)
	benchParallelism(b, benchWriters)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/api/comments", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			bs.do(b, req, http.StatusAccepted)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "submits/s")
}

// BenchmarkThread reads a post with 200 approved comments, as a browser does
// (gzip), from 50 concurrent readers: through the read cache ("cached"; with
// the request metrics on too, "served"; and so without Accept-Encoding,
// "served-identity"), with the cache off ("cache-off", storage and encoding
// on every read), and from the bytes-in-memory ceiling route ("ceiling").
func BenchmarkThread(b *testing.B) {
	for _, mode := range []struct {
		name     string
		cfg      Config
		path     string
		encoding string
	}{
		{"cached", Config{}, "/api/comments?post=/popular", browserEncodings},
		// as "parley serve" runs it: with the request metrics too
		{"served", Config{Metrics: servedMetrics}, "/api/comments?post=/popular", browserEncodings},
		{"served-identity", Config{Metrics: servedMetrics}, "/api/comments?post=/popular", ""},
		{"cache-off", Config{CacheSize: -1}, "/api/comments?post=/popular", browserEncodings},
		{"ceiling", Config{BenchCeiling: true}, "/api/bench/ceiling?post=/popular", browserEncodings},
	} {
		b.Run(mode.name, func(b *testing.B) {
			ps := newPerfServer(b, mode.cfg)
			ps.seed(b, "/popular", 200, true)
			benchGet(b, ps, mode.path, mode.encoding)
		})
	}
}

// BenchmarkCounts asks for the counts of a listing page's 20 posts.
func BenchmarkCounts(b *testing.B) {
	for _, mode := range []struct {
		name string
		cfg  Config
	}{{"cached", Config{}}, {"cache-off", Config{CacheSize: -1}}} {
		b.Run(mode.name, func(b *testing.B) {
			ps := newPerfServer(b, mode.cfg)
			q := url.Values{}
			for i := range 20 {
				post := fmt.Sprintf("/2026/post-%d", i)
				ps.seed(b, post, i%4, true)
				q.Add("post", post)
			}
			benchGet(b, ps, "/api/counts?"+q.Encode(), browserEncodings)
		})
	}
}

// browserEncodings is the Accept-Encoding that browsers send.
const browserEncodings = "gzip, deflate, br"

// benchGet asks for path with Accept-Encoding encoding (none when "").
func benchGet(b *testing.B, ps *perfServer, path, encoding string) {
	benchParallelism(b, benchWriters)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			if encoding != "" {
				req.Header.Set("Accept-Encoding", encoding)
			}
			ps.do(b, req, http.StatusOK)
		}
	})
}

// BenchmarkApprove is a moderator clearing the queue one comment at a time
// through the API: one transaction and one fsync per approval, plus the
// cache invalidation of the post.
func BenchmarkApprove(b *testing.B) {
	ps := newPerfServer(b, Config{})
	token, _, err := ps.svc.CreateToken(context.Background(), "bench", moderation.RoleModerator, "")
	if err != nil {
		b.Fatal(err)
	}
	ids := ps.seed(b, "/queue", b.N, false)
	ps.do(b, httptest.NewRequest(http.MethodGet, "/api/comments?post=/queue", nil), http.StatusOK)
	b.ReportAllocs()
	b.ResetTimer()
	for _, id := range ids {
		req := httptest.NewRequest(http.MethodPost, "/api/admin/comments/"+id+"/approve", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		ps.do(b, req, http.StatusOK)
	}
}
