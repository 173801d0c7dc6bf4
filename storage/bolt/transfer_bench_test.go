package bolt

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"parley/migrate"
	"parley/moderation"
)

// fixtureBodies are the Markdown-lite bodies of generated comments, rendered
// once: comments of realistic size and shape, without rendering a million.
var fixtureBodies = []string{
	"Great write-up, thank you. I tried the **second approach** on my own setup and it cut the build time in half.",
	"I disagree with the part about caching: in my experience the *invalidation* is where it goes wrong.\n\nStill, a good read.",
	"> The hard part is naming things.\n\nAnd off-by-one errors. See https://example.com/notes/off-by-one for a list.",
	"Steps that worked for me:\n\n1. update the firmware\n2. reset the router\n3. wait ten minutes\n\nThen everything came back.",
	"Small typo in the third paragraph: `recieve` should be `receive`. Otherwise spot on!",
	"Zoë here — merci pour l'article ! 日本語のコメントもどうぞ。🙂",
	"Has anyone tried this on a Raspberry Pi 4? Mine runs out of memory during `go build` unless I add swap.",
	"This is exactly the kind of post I keep coming back to. Bookmarked, and shared with the team.",
}

// writeFixture writes n comments straight into a new database at path, in
// transactions of 50,000, through putComment so every index is as real
// writes leave it: 10,000 posts, a reply in four, statuses mixed as on a
// busy blog (80% approved, 10% pending, 7% spam, 3% rejected).
func writeFixture(tb testing.TB, path string, n int) {
	tb.Helper()
	db, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	db.bolt.NoSync = true // a fixture: one sync at the end is enough
	r := moderation.NewRenderer()
	html := make([]string, len(fixtureBodies))
	for i, body := range fixtureBodies {
		if html[i], err = r.Render(body); err != nil {
			tb.Fatal(err)
		}
	}
	const posts, perTx = 10_000, 50_000
	ids := make([]string, n)
	depths := make([]int8, n)
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for from := 0; from < n; from += perTx {
		err := db.bolt.Update(func(tx *bbolt.Tx) error {
			for i := from; i < min(from+perTx, n); i++ {
				at := start.Add(time.Duration(i) * 90 * time.Second)
				c := &moderation.Comment{Site: moderation.DefaultSite,
					ID: moderation.NewID(at), Post: "/" + strconv.Itoa(2020+i%5) + "/posts/" + strconv.Itoa(i%posts) + "/",
					Author: "Reader " + strconv.Itoa(i%5000), Email: "reader" + strconv.Itoa(i%5000) + "@example.com",
					Body: fixtureBodies[i%len(fixtureBodies)], HTML: html[i%len(fixtureBodies)],
					Status: moderation.StatusApproved, Created: at, Updated: at.Add(time.Hour),
					IPHash: fmt.Sprintf("%024x", i*7919), UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0",
					History: []moderation.Change{{Status: moderation.StatusPending, At: at, By: "system"}},
				}
				switch i % 100 {
				case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9:
					c.Status = moderation.StatusPending
				case 10, 11, 12, 13, 14, 15, 16:
					c.Status = moderation.StatusSpam
				case 17, 18, 19:
					c.Status = moderation.StatusRejected
				}
				if c.Status != moderation.StatusPending {
					c.History = append(c.History, moderation.Change{Status: c.Status, At: c.Updated, By: "alice"})
				}
				if p := i - posts*5; i%4 == 3 && p >= 0 && depths[p] < moderation.MaxDepth {
					c.Parent, c.Depth = ids[p], int(depths[p])+1
				}
				ids[i], depths[i] = c.ID, int8(c.Depth)
				if err := putComment(tx, nil, c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if err := db.bolt.Sync(); err != nil {
		tb.Fatal(err)
	}
}

// peakHeap samples the heap every few milliseconds until stop is called,
// which returns the highest HeapAlloc seen, in MiB.
func peakHeap() (stop func() float64) {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapAlloc > peak.Load() {
			peak.Store(m.HeapAlloc)
		}
	}
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() float64 {
		close(done)
		sample()
		return float64(peak.Load()) / (1 << 20)
	}
}

// benchComments is how many comments BenchmarkTransfer1M generates:
// 1,000,000, or PARLEY_BENCH_COMMENTS for a quick run.
func benchComments(b *testing.B) int {
	if s := os.Getenv("PARLEY_BENCH_COMMENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 1_000_000
}

// BenchmarkTransfer1M measures export, import and backup of a database of
// a million comments, through the service as the HTTP handlers and the CLI
// use it. It takes minutes and gigabytes of disk, so it runs only when asked:
//
//	go test ./storage -run '^$' -bench Transfer1M -benchtime 1x -timeout 60m
func BenchmarkTransfer1M(b *testing.B) {
	ctx := context.Background()
	n := benchComments(b)
	dir := b.TempDir()
	began := time.Now()
	writeFixture(b, filepath.Join(dir, "source.db"), n)
	b.Logf("fixture: %d comments in %s", n, time.Since(began).Round(time.Millisecond))
	source, svc := benchService(b, filepath.Join(dir, "source.db"))
	owner := moderation.Actor{Name: "bench", Role: moderation.RoleOwner}
	exported := filepath.Join(dir, "export.ndjson")

	b.Run("export-ndjson", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			stop := peakHeap()
			b.StartTimer()
			f, err := os.Create(exported)
			if err != nil {
				b.Fatal(err)
			}
			walk, err := svc.Export(ctx, owner, moderation.ExportQuery{Site: moderation.DefaultSite})
			if err != nil {
				b.Fatal(err)
			}
			if err := migrate.Export(f, migrate.NDJSON, migrate.EncodeOptions{Exported: time.Now()}, walk); err != nil {
				b.Fatal(err)
			}
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(stop(), "peak-heap-MiB")
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "comments/s")
		if info, err := os.Stat(exported); err == nil {
			b.Logf("export: %d MiB", info.Size()>>20)
		}
	})

	b.Run("export-wxr", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			stop := peakHeap()
			walk, err := svc.Export(ctx, owner, moderation.ExportQuery{Site: moderation.DefaultSite, ByPost: true})
			if err != nil {
				b.Fatal(err)
			}
			if err := migrate.Export(io.Discard, migrate.WXR, migrate.EncodeOptions{Exported: time.Now()}, walk); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(stop(), "peak-heap-MiB")
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "comments/s")
	})

	b.Run("import-ndjson", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			target, tsvc := benchService(b, filepath.Join(b.TempDir(), "target.db"))
			f, err := os.Open(exported)
			if err != nil {
				b.Fatal(err)
			}
			dec, err := migrate.NewDecoder(migrate.NDJSON, f, migrate.DecodeOptions{})
			if err != nil {
				b.Fatal(err)
			}
			stop := peakHeap()
			b.StartTimer()
			res, err := tsvc.Import(ctx, owner, moderation.DefaultSite, "ndjson", dec, nil)
			b.StopTimer()
			if err != nil || res.Created != n {
				b.Fatalf("import: %+v %v", res, err)
			}
			b.ReportMetric(stop(), "peak-heap-MiB")
			f.Close()
			target.Close()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "comments/s")
	})

	b.Run("backup", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f, err := os.Create(filepath.Join(dir, "backup.db"))
			if err != nil {
				b.Fatal(err)
			}
			size, err := svc.Backup(ctx, owner, f, nil)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
			b.ReportMetric(float64(size)/(1<<20), "MiB")
		}
	})
	source.Close()
}

func benchService(b *testing.B, path string) (*DB, *moderation.Service) {
	db, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := moderation.NewService(context.Background(), db, moderation.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return db, svc
}
