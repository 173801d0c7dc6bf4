package postgres

import (
	"strings"
	"testing"

	"parley/moderation"
	"parley/storage/storetest"
)

// TestContractTransfer holds PostgreSQL to the suite's transfer and dump
// areas (exports, backup, Dump and Restore of every kind of record). The
// other areas' cases skip here: they belong to the suite's full run on *DB,
// which makes this test redundant once it runs.
func TestContractTransfer(t *testing.T) {
	storetest.Run(t, func(t *testing.T) moderation.Store {
		if !strings.Contains(t.Name(), "/dump/") && !strings.Contains(t.Name(), "/transfer/") {
			t.Skip("not the transfer or dump area: see the full contract run")
		}
		db, _ := open(t)
		return db
	})
}
