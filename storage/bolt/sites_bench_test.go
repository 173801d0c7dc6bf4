package bolt

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"parley/moderation"
)

// BenchmarkSiteIndex is what the first public request after a start (or a
// change to sites) pays to resolve origins: reading every site into the
// service's index. The public path then resolves from memory.
func BenchmarkSiteIndex(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("sites=%d", n), func(b *testing.B) {
			ctx := context.Background()
			db, err := Open(filepath.Join(b.TempDir(), "parley.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			for i := 1; i < n; i++ {
				s := &moderation.Site{ID: fmt.Sprintf("site-%04d", i), Origins: []string{fmt.Sprintf("https://site-%04d.example", i)}}
				if err := db.PutSite(ctx, s, true, nil); err != nil {
					b.Fatal(err)
				}
			}
			origin := fmt.Sprintf("https://site-%04d.example", n-1)
			b.ResetTimer()
			for b.Loop() {
				svc, err := moderation.NewService(ctx, db, moderation.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := svc.SiteForOrigin(ctx, origin); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
