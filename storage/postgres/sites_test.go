package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"parley/moderation"
)

// Two processes claiming one origin at once: the database gives it to one.
func TestOriginClaimedOnceAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	a, dsn := open(t)
	b, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for round := range 20 {
		origin := "https://blog" + string(rune('a'+round)) + ".example"
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, db := range []*DB{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				site := &moderation.Site{ID: "s" + string(rune('a'+round)) + string(rune('0'+i)), Name: "S",
					Origins: []string{origin}, Created: time.Now().UTC()}
				errs[i] = db.PutSite(ctx, site, true, nil)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, moderation.ErrOriginTaken):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d sites claimed %s, want 1 (%v)", round, won, origin, errs)
		}
		owner, err := a.SiteByOrigin(ctx, origin)
		if err != nil || (owner.ID != "s"+string(rune('a'+round))+"0" && owner.ID != "s"+string(rune('a'+round))+"1") {
			t.Fatalf("round %d: owner %v, %v", round, owner, err)
		}
	}
}
