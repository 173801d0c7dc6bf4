package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"parley/moderation"
	"parley/server"
	"parley/storage/testdb"
)

// powPage runs, in the browser, the proof-of-work algorithm the widget uses:
// fetch a form token, try n = 0, 1, 2… until SHA-256(salt + n) (crypto.subtle)
// is the challenge, then post the comment with the token and the answer.
const powPage = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Parley proof of work</title>
<script>
async function solve(pow) {
  const enc = new TextEncoder();
  const want = new Uint8Array(pow.challenge.match(/../g).map((h) => parseInt(h, 16)));
  for (let n = 0; n <= pow.maxnumber; n++) {
    const got = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(pow.salt + n)));
    let i = 0;
    while (i < 32 && got[i] === want[i]) i++;
    if (i === 32) return n;
  }
  return null;
}
async function trial(post, body) {
  const form = await (await fetch("/api/form?post=" + encodeURIComponent(post))).json();
  const started = performance.now();
  const n = await solve(form.pow);
  const ms = performance.now() - started;
  const res = await fetch("/api/comments", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({post, author: "Ada", email: "ada@example.org", body, token: form.token, pow: String(n)})});
  const answer = await res.json();
  return {ms, number: n, status: res.status, id: answer.id};
}
</script>
<p>Proof of work test page.</p>
</html>`

// powTrial is what one trial reports.
type powTrial struct {
	MS     float64 `json:"ms"`
	Number int     `json:"number"`
	Status int     `json:"status"`
	ID     string  `json:"id"`
}

// startPoWApp serves Parley with proof of work on (and no timing check, as a
// trial submits at once), plus the test page on the same origin.
func startPoWApp(tb testing.TB, maxNumber int) (string, *moderation.Service) {
	tb.Helper()
	ctx := context.Background()
	db := testdb.Open(tb)
	opts := moderation.DefaultSpamOptions()
	opts.MinFill, opts.PoWMaxNumber, opts.DuplicateWindow = 0, maxNumber, 0
	spam, err := moderation.NewSpamFilter(ctx, db, opts)
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := moderation.NewService(ctx, db, moderation.Options{Checks: spam.Checks()})
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	srv, err := server.New(server.Config{PublicURL: "http://" + ts.Listener.Addr().String(), Spam: spam}, svc,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	mux.HandleFunc("/pow-test.html", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, powPage)
	})
	ts.Config.Handler = mux
	ts.Start()
	tb.Cleanup(func() {
		ts.Close()
		_ = db.Close()
	})
	return ts.URL, svc
}

func runTrial(ctx context.Context, tb testing.TB, i int) powTrial {
	tb.Helper()
	js := `trial("/blog/pow", "Comment number ` + strconv.Itoa(i) + `, solved in the browser.")`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[powTrial](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.Fatalf("trial %d: %v", i, err)
	}
	return got
}

// TestPoWSolvedInBrowser: Chromium solves real puzzles with crypto.subtle and
// its comments are accepted as ordinary pending comments, not spam.
func TestPoWSolvedInBrowser(t *testing.T) {
	url, svc := startPoWApp(t, 20_000)
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/pow-test.html")); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		tr := runTrial(ctx, t, i)
		if tr.Status != http.StatusAccepted {
			t.Fatalf("trial %d: %d", i, tr.Status)
		}
		c, err := svc.Comment(context.Background(), moderation.Actor{Role: moderation.RoleOwner}, moderation.DefaultSite, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != moderation.StatusPending {
			t.Fatalf("trial %d: solved comment filed as %s (%q)", i, c.Status, c.History[0].Reason)
		}
	}
}

// BenchmarkPoWSolveBrowser measures how long a reader's browser spends on the
// puzzle, per difficulty: run with -benchtime=Nx for N puzzles each.
func BenchmarkPoWSolveBrowser(b *testing.B) {
	for _, max := range []int{50_000, 100_000, 250_000} {
		b.Run("maxnumber="+strconv.Itoa(max), func(b *testing.B) {
			url, _ := startPoWApp(b, max)
			ctx := newBrowser(b)
			if err := chromedp.Do(ctx, chromedp.Navigate(url+"/pow-test.html")); err != nil {
				b.Fatal(err)
			}
			var ms []float64
			hashes := 0
			for i := 0; b.Loop(); i++ {
				tr := runTrial(ctx, b, i)
				if tr.Status != http.StatusAccepted {
					b.Fatalf("trial %d: %d", i, tr.Status)
				}
				ms, hashes = append(ms, tr.MS), hashes+tr.Number+1
			}
			slices.Sort(ms)
			total := 0.0
			for _, m := range ms {
				total += m
			}
			b.ReportMetric(ms[len(ms)/2], "median-ms")
			b.ReportMetric(ms[len(ms)*9/10], "p90-ms")
			b.ReportMetric(float64(hashes)/(total/1000), "hashes/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
