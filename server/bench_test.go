package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"parley/storage"
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
		limit func(db *storage.DB)
	}{
		{"group", func(*storage.DB) {}},
		{"commit-each", func(db *storage.DB) { db.SetBatchLimits(1, 0) }},
	} {
		b.Run(mode.name, func(b *testing.B) { benchSubmit(b, mode.limit) })
	}
}

// BenchmarkSubmitDelay measures group commit at 50 writers for a range of
// batch delays, to choose storage's maxBatchDelay (bbolt's default is 10ms).
func BenchmarkSubmitDelay(b *testing.B) {
	for _, delay := range []time.Duration{500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond} {
		b.Run(fmt.Sprintf("delay=%v", delay), func(b *testing.B) {
			benchSubmit(b, func(db *storage.DB) { db.SetBatchLimits(256, delay) })
		})
	}
}

// benchSubmit posts a typical comment from 50 concurrent writers.
func benchSubmit(b *testing.B, tune func(db *storage.DB)) {
	bs := newPerfServer(b, Config{})
	tune(bs.db)
	body := fmt.Sprintf(`{"post":"/bench","author":"Ada","email":"ada@example.com","body":%q}`, benchBody)
	parallelism(b, writers)
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
