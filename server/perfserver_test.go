package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"parley/metrics"
	"parley/moderation"
	"parley/storage/bolt"
)

// servedMetrics, as Config.Metrics of newPerfServer, asks for the server's
// own metrics registry over its database, as "parley serve" has.
var servedMetrics = new(metrics.Metrics)

// benchWriters is how many clients submit at once in the write benchmarks, as in
// the target ("50 concurrent writers").
const benchWriters = 50

// perfServer is the real Echo instance over real bbolt in a temporary
// directory, for the read-cache tests and the benchmarks.
type perfServer struct {
	srv   *Server
	db    *bolt.DB
	svc   *moderation.Service
	owner moderation.Actor
}

func newPerfServer(b testing.TB, cfg Config) *perfServer {
	b.Helper()
	return newPerfServerLogging(b, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// newPerfServerLogging is newPerfServer logging to log.
func newPerfServerLogging(b testing.TB, cfg Config, log *slog.Logger) *perfServer {
	b.Helper()
	db, err := bolt.Open(filepath.Join(b.TempDir(), "parley.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	svc, err := moderation.NewService(context.Background(), db, moderation.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if cfg.Metrics == servedMetrics {
		cfg.Metrics = metrics.New(svc, db)
	}
	cfg.PublicURL = "http://127.0.0.1:8080"
	srv, err := New(cfg, svc, log)
	if err != nil {
		b.Fatal(err)
	}
	return &perfServer{srv: srv, db: db, svc: svc, owner: moderation.Actor{Name: "bench", Role: moderation.RoleOwner}}
}

// benchBody is a typical comment: a few sentences with a little Markdown.
const benchBody = "Thanks for the write-up. I tried the *second* approach on my own blog and it " +
	"worked, though I had to change `max_conns` first.\n\nOne question: does this hold " +
	"for [older versions](https://example.com/docs) too?"

// seed stores n comments on post through the service, approving them when
// approved is set, and returns their IDs. It submits from many goroutines so
// that group commit keeps seeding quick.
func (bs *perfServer) seed(b testing.TB, post string, n int, approved bool) []string {
	b.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	errs := make(chan error, benchWriters)
	var next atomic.Int64
	for range benchWriters {
		go func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					errs <- nil
					return
				}
				c, err := bs.svc.Submit(ctx, moderation.DefaultSite, moderation.Submission{Post: post, Author: fmt.Sprintf("Reader %d", i),
					Email: "reader@example.com", Website: "https://example.com/", Body: benchBody},
					moderation.Client{IP: "192.0.2.7", UserAgent: "bench"})
				if err != nil {
					errs <- err
					return
				}
				ids[i] = c.ID
			}
		}()
	}
	for range benchWriters {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	if approved {
		for i := 0; i < n; i += moderation.MaxBulk {
			if _, err := bs.svc.Moderate(ctx, bs.owner, moderation.DefaultSite, ids[i:min(i+moderation.MaxBulk, n)], moderation.ActionApprove); err != nil {
				b.Fatal(err)
			}
		}
	}
	return ids
}

func (bs *perfServer) do(b testing.TB, req *http.Request, want int) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	bs.srv.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s = %d, want %d: %s", req.Method, req.URL, rec.Code, want, rec.Body)
	}
	return rec
}

// benchParallelism makes RunParallel use n goroutines in all.
func benchParallelism(b *testing.B, n int) {
	b.SetParallelism((n + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
}
