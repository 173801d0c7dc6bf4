package postgres

import (
	"bytes"
	"context"
	"sync"
	"testing"
)

// Instances starting at once agree on one secret.
func TestSecretIsCreatedOnceAcrossInstances(t *testing.T) {
	a, dsn := open(t)
	b, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const callers = 12
	got := make([][]byte, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		db := a
		if i%2 == 1 {
			db = b
		}
		wg.Go(func() { got[i], errs[i] = db.Secret(context.Background(), "form-token", 32) })
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if len(got[i]) != 32 || !bytes.Equal(got[i], got[0]) {
			t.Fatalf("caller %d got %x, caller 0 got %x: want one 32-byte secret", i, got[i], got[0])
		}
	}
	if bytes.Equal(got[0], make([]byte, 32)) {
		t.Fatal("the secret is all zeros")
	}
}

func TestRotateSecret(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	before, err := db.Secret(ctx, "ip-hash", 32)
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.Secret(ctx, "form-token", 32)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RotateSecret(ctx, "ip-hash", 32); err != nil {
		t.Fatal(err)
	}
	after, err := db.Secret(ctx, "ip-hash", 32)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before, after) || len(after) != 32 {
		t.Fatalf("after rotation the secret is %x, was %x: want 32 new bytes", after, before)
	}
	if again, err := db.Secret(ctx, "form-token", 32); err != nil || !bytes.Equal(again, other) {
		t.Fatalf("rotating ip-hash changed form-token: %x → %x (%v)", other, again, err)
	}
	// Rotating a secret never made creates it.
	if err := db.RotateSecret(ctx, "new", 16); err != nil {
		t.Fatal(err)
	}
	if s, err := db.Secret(ctx, "new", 16); err != nil || len(s) != 16 {
		t.Fatalf("Secret after rotating a new name = %x (%v)", s, err)
	}
}

func TestPingAndStats(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	stat := func(name string) float64 {
		for _, st := range db.Stats() {
			if st.Name == name {
				return st.Value
			}
		}
		t.Fatalf("no %s in %+v", name, db.Stats())
		return 0
	}
	before := stat("pool_acquires_total")
	for range 3 {
		if _, err := db.Secret(ctx, "x", 8); err != nil {
			t.Fatal(err)
		}
	}
	if after := stat("pool_acquires_total"); after < before+3 {
		t.Errorf("acquires %v → %v after 3 transactions, want +3", before, after)
	}
	total, limit := stat("pool_connections"), stat("pool_max_connections")
	if limit < 1 || total < 1 || total > limit || stat("pool_idle_connections")+stat("pool_acquired_connections") != total {
		t.Errorf("inconsistent stats %+v", db.Stats())
	}
	if n := stat("pool_acquired_connections"); n != 0 {
		t.Errorf("%v connections still acquired after every call returned", n)
	}
}
