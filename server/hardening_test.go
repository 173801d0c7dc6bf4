package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSlowClients opens many connections that send their headers or their
// body a byte at a time (slowloris) against a real listener, and shows that
// readers and commenters are still served meanwhile, and that the server
// hangs up on the slow senders once their time is up.
func TestSlowClients(t *testing.T) {
	g := guardedDefaults(t)
	g.srv.cfg.Timeouts = Timeouts{ReadHeader: 500 * time.Millisecond, Read: 1500 * time.Millisecond, Write: 5 * time.Second, Idle: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	addr := ln.Addr().String()

	const slowHeaders, slowBodies = 150, 50
	stop := make(chan struct{})
	hungUp := make(chan time.Duration, slowHeaders+slowBodies)
	var wg sync.WaitGroup
	trickle := func(start, drip string) {
		defer wg.Done()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		began := time.Now()
		if _, err := io.WriteString(conn, start); err != nil {
			return
		}
		closed := make(chan struct{})
		go func() { // the server hanging up shows as the end of what we read
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.Copy(io.Discard, conn)
			hungUp <- time.Since(began)
			close(closed)
		}()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-closed:
				return
			case <-tick.C:
				if _, err := io.WriteString(conn, drip); err != nil {
					<-closed
					return
				}
			}
		}
	}
	for range slowHeaders {
		wg.Add(1)
		go trickle("GET /api/comments?post=/p HTTP/1.1\r\nHost: x\r\n", "X")
	}
	body := `{"post":"/p","author":"Slow","email":"slow@example.org","body":"` + strings.Repeat("z", 5000) + `"}`
	for range slowBodies {
		wg.Add(1)
		go trickle(fmt.Sprintf("POST /api/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)), "z")
	}
	time.Sleep(100 * time.Millisecond) // let them all connect and start dripping

	client := &http.Client{Timeout: 5 * time.Second}
	for i := range 20 {
		res, err := client.Get("http://" + addr + "/api/comments?post=/p")
		if err != nil {
			t.Fatalf("reader %d while %d slow clients are connected: %v", i, slowHeaders+slowBodies, err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("reader %d: %d", i, res.StatusCode)
		}
	}
	f := g.form("/p")
	g.clock.Advance(time.Minute)
	res, err := client.Post("http://"+addr+"/api/comments", "application/json",
		strings.NewReader(`{"post":"/p","author":"Ada","email":"ada@example.org","body":"Still here.","token":"`+f.Token+`"}`))
	if err != nil {
		t.Fatalf("commenter: %v", err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("commenter: %d", res.StatusCode)
	}

	// Every slow sender is cut off near its deadline, not when it gives up.
	for range slowHeaders + slowBodies {
		if took := <-hungUp; took > 4*time.Second {
			t.Fatalf("a slow client was held %s", took)
		}
	}
	close(stop)
	wg.Wait()
}
