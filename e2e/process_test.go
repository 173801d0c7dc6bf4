package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The process-level tests run the real parley binary, as an operator does:
// built with go build, started on 127.0.0.1 on a free port, killed and
// restarted on the same file.

// buildParley compiles the parley command into a temporary directory.
func buildParley(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parley")
	out, err := exec.Command("go", "build", "-o", bin, "parley").CombinedOutput()
	if err != nil {
		t.Fatalf("go build parley: %v\n%s", err, out)
	}
	return bin
}

// parleyEnv is the environment of every parley the tests start: the test
// machine's PARLEY_* settings must not leak in.
func parleyEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARLEY_") {
			env = append(env, kv)
		}
	}
	return append(env, "PARLEY_ADMIN_PASSWORD=correct horse battery staple")
}

// runParley runs a command to its end and returns its output and exit code.
func runParley(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = parleyEnv(), &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("parley %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// parleyToken makes an API token on the database file, before any server
// holds it.
func parleyToken(t *testing.T, bin, data string) string {
	t.Helper()
	out, errOut, code := runParley(t, bin, "token", "create", "--name", "e2e", "--data", data)
	if code != 0 {
		t.Fatalf("parley token create: exit %d: %s", code, errOut)
	}
	return strings.TrimSpace(out)
}

// parleyProc is a running parley serve.
type parleyProc struct {
	URL    string
	cmd    *exec.Cmd
	log    *procLog
	exited chan struct{}
	err    error // the exit status, once exited is closed
}

// procLog collects a process's stderr while the test reads it.
type procLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *procLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *procLog) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startParley runs parley serve on data, listening on a free port of
// 127.0.0.1, and returns once it answers. The process is killed when the
// test ends if it is still running.
func startParley(t *testing.T, bin, data string, args ...string) *parleyProc {
	t.Helper()
	args = append([]string{"serve", "--data", data, "--addr", "127.0.0.1:0", "--log-format", "json",
		"--rate-limit", "0", "--min-fill-seconds", "0"}, args...)
	p := &parleyProc{cmd: exec.Command(bin, args...), log: &procLog{}, exited: make(chan struct{})}
	p.cmd.Env = parleyEnv()
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill(t) })
	listening := make(chan string, 1)
	go func() {
		// Copy the log line by line, watching for the address it listens on.
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(p.log, sc.Text())
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "parley is listening" {
				listening <- line.Addr
			}
		}
		_, _ = io.Copy(p.log, stderr)
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	select {
	case addr := <-listening:
		p.URL = "http://" + addr
	case <-p.exited:
		t.Fatalf("parley serve exited before listening: %v\n%s", p.err, p.log)
	case <-time.After(30 * time.Second):
		t.Fatalf("parley serve did not start within 30s:\n%s", p.log)
	}
	return p
}

// signal sends sig and waits up to timeout for the process to exit. It
// returns how long the exit took.
func (p *parleyProc) signal(t *testing.T, sig syscall.Signal, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-p.exited:
		return time.Since(start)
	case <-time.After(timeout):
		t.Fatalf("parley did not exit within %v of %v:\n%s", timeout, sig, p.log)
		return 0
	}
}

// kill ends the process if it still runs.
func (p *parleyProc) kill(t *testing.T) {
	select {
	case <-p.exited:
	default:
		p.signal(t, syscall.SIGKILL, 10*time.Second)
	}
}

// parleyClient talks to the servers under test; each test's load shares it.
var parleyClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
}

// parleyAnswer is what one HTTP exchange produced: a status (0 when no answer
// came back) and the decoded JSON body.
type parleyAnswer struct {
	status int
	body   map[string]any
}

// callParley sends one request with a JSON body (nil for none) and decodes a JSON
// answer.
func callParley(ctx context.Context, method, url, token string, body any) (parleyAnswer, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return parleyAnswer{}, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return parleyAnswer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := parleyClient.Do(req)
	if err != nil {
		return parleyAnswer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return parleyAnswer{status: resp.StatusCode}, err
	}
	res := parleyAnswer{status: resp.StatusCode}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &res.body); err != nil {
			return res, fmt.Errorf("%s %s: %d with a body that is not a JSON object: %q", method, url, resp.StatusCode, data)
		}
	}
	return res, nil
}
