package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/storage/testdb"
)

// endless reads as head, then n bytes of fill, then tail: a hostile file
// made on the fly and streamed, never stored.
type endless struct {
	head, tail string
	fill       byte
	n, pos     int64
}

func (e *endless) Read(p []byte) (int, error) {
	head, body := int64(len(e.head)), int64(len(e.head))+e.n
	if e.pos >= body+int64(len(e.tail)) {
		return 0, io.EOF
	}
	i := 0
	for i < len(p) && e.pos < body+int64(len(e.tail)) {
		switch {
		case e.pos < head:
			k := copy(p[i:], e.head[e.pos:])
			i, e.pos = i+k, e.pos+int64(k)
		case e.pos < body:
			k := int(min(int64(len(p)-i), body-e.pos))
			for j := range k {
				p[i+j] = e.fill
			}
			i, e.pos = i+k, e.pos+int64(k)
		default:
			k := copy(p[i:], e.tail[e.pos-body:])
			i, e.pos = i+k, e.pos+int64(k)
		}
	}
	return i, nil
}

// peakHeap samples the live heap every few milliseconds until stop is
// called, and returns its peak in bytes.
func peakHeap() (stop func() uint64) {
	runtime.GC()
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

// hostileSize is the size of each hostile file: one endless string.
const hostileSize = 300 << 20

// maxHostileHeap bounds the heap while one is imported. A whole string
// buffered would take 300 MiB or more; a record read within its cap takes a
// few MiB.
const maxHostileHeap = 48 << 20

// TestImportOfHostileFilesIsMemoryFlat posts, in each import format, a
// 300 MiB file whose first comment holds one endless string, followed by a
// good comment. The string is cut at the format's limit while reading, its
// record is reported invalid, the good one is imported, and the heap stays
// within a bound far below the file's size.
func TestImportOfHostileFilesIsMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 1.2 GB of hostile files; not in -short")
	}
	a := openTransferApp(t, testdb.Data(t), nil, 1<<30)
	good := func(n int) string {
		return `{"id":"GOOD` + string(rune('0'+n)) + `","post":"/p/","author":"Ann","body":"fine","status":"approved","created":"2026-01-01T00:00:00Z"}`
	}
	wpComment := func(id, content string) string {
		return `<wp:comment><wp:comment_id>` + id + `</wp:comment_id><wp:comment_author>Ann</wp:comment_author>` +
			`<wp:comment_date_gmt>2026-01-01 00:00:00</wp:comment_date_gmt><wp:comment_approved>1</wp:comment_approved>` +
			`<wp:comment_content><![CDATA[` + content
	}
	cases := []struct {
		format, head, tail, problem string
	}{
		{"ndjson", `{"id":"HOSTILE","post":"/p/","body":"`, `"}` + "\n" + good(1) + "\n", "the line is longer than 4 MiB"},
		{"json", `[{"id":"HOSTILE","post":"/p/","body":"`, `"},` + "\n" + good(2) + "]", "is longer than 4 MiB: it was cut while reading"},
		{"wxr", `<rss xmlns:wp="https://wordpress.org/export/1.2/"><channel><item><link>https://blog.example/p/</link>` + wpComment("1", ""),
			`]]></wp:comment_content></wp:comment>` + wpComment("2", "fine") + `]]></wp:comment_content></wp:comment></item></channel></rss>`,
			"comment_content is longer than 1 MiB: it was cut while reading"},
		{"disqus", `<disqus xmlns:dsq="http://disqus.com/disqus-internals"><thread dsq:id="t"><link>https://blog.example/p/</link></thread>` +
			`<post dsq:id="1"><thread dsq:id="t"/><createdAt>2026-01-01T00:00:00Z</createdAt><author><name>Ann</name></author><message>`,
			`</message></post><post dsq:id="2"><thread dsq:id="t"/><createdAt>2026-01-01T00:00:00Z</createdAt><author><name>Ann</name></author><message>fine</message></post></disqus>`,
			"message is longer than 1 MiB: it was cut while reading"},
	}
	for _, c := range cases {
		req := httptest.NewRequest(http.MethodPost, "/api/admin/import?format="+c.format, &endless{head: c.head, tail: c.tail, fill: 'x', n: hostileSize})
		req.Header.Set("Authorization", "Bearer "+a.owner)
		rec := httptest.NewRecorder()
		stop := peakHeap()
		start := time.Now()
		a.handler.ServeHTTP(rec, req)
		peak := stop()
		t.Logf("%s: 300 MiB in %s, peak heap %.1f MiB", c.format, time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"created":1,"skipped":0,"invalid":1`) || !strings.Contains(rec.Body.String(), c.problem) {
			t.Errorf("%s: %d %s, want 1 created and 1 invalid: %q", c.format, rec.Code, rec.Body, c.problem)
		}
		if peak > maxHostileHeap {
			t.Errorf("%s: peak heap %d MiB, want at most %d MiB", c.format, peak>>20, maxHostileHeap>>20)
		}
	}
}
