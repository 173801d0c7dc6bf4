package cli

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/storage/testdb"
)

// TestAccessLog serves many concurrent requests and reads serve's log after
// it stops: every request has its one whole line, none is lost or torn by
// the batched writes, and --access-log off leaves them all out.
func TestAccessLog(t *testing.T) {
	t.Setenv("PARLEY_ADMIN_PASSWORD", "access-log-test-password")
	const clients, each = 20, 25
	hammer := func(base string) {
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					resp, err := http.Get(fmt.Sprintf("%s/api/comments?post=/c%d-%d", base, c, i))
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
	}
	line := regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=request request_id=\S+ method=GET route=/api/comments status=200 bytes=\d+ duration=\S+$`)
	for _, tc := range []struct {
		flags []string
		want  int
	}{{nil, clients * each}, {[]string{"--access-log", "off"}, 0}} {
		log := serveUntil(t, testdb.Data(t), hammer, tc.flags...)
		if got := len(line.FindAllString(log, -1)); got != tc.want || strings.Count(log, "msg=request ") != tc.want {
			t.Errorf("%v: %d whole request lines (%d in all), want %d", tc.flags, got, strings.Count(log, "msg=request "), tc.want)
		}
		if !strings.HasSuffix(log, "msg=\"parley stopped\"\n") {
			t.Errorf("%v: the log does not end with the last line: ...%s", tc.flags, log[max(0, len(log)-300):])
		}
	}
	var stderr syncBuffer
	if code := Run(t.Context(), []string{"serve", "--access-log", "sometimes"}, nil, &stderr, &stderr); code != 2 {
		t.Errorf("--access-log sometimes: exit %d, %s", code, stderr.String())
	}
}

// TestLogWriterQuiet: a line written while nothing else is logged goes out
// on its own, without waiting for Close or for more lines.
func TestLogWriterQuiet(t *testing.T) {
	var out syncBuffer
	lw := newLogWriter(&out)
	_, _ = lw.Write([]byte("one line\n"))
	for deadline := time.Now().Add(10 * time.Second); out.String() == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a lone line was never written")
		}
	}
	_, _ = lw.Write([]byte("two\n"))
	_ = lw.Close()
	_, _ = lw.Write([]byte("after close\n"))
	if got := out.String(); got != "one line\ntwo\nafter close\n" {
		t.Errorf("written %q", got)
	}
}
