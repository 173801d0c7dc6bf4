package bolt

import (
	"context"
	"testing"
	"time"
)

// The one process on a file has no peers: announcing is harmless, nothing
// is heard, and every lease is its own.
func TestPeersOfOneProcess(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	if err := db.Announce(ctx, []byte(`{"k":"moderated"}`)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if ok, err := db.Lease(ctx, "housekeeping", time.Hour); err != nil || !ok {
			t.Fatalf("Lease = %v, %v; want held", ok, err)
		}
	}
	listenCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	heard := false
	err := db.Listen(listenCtx, func([]byte) { heard = true }, func() { heard = true })
	if err != nil || heard {
		t.Fatalf("Listen = %v, heard %v; want nil and nothing", err, heard)
	}
	if listenCtx.Err() == nil {
		t.Fatal("Listen returned before its context ended")
	}
}
