package postgres

import (
	"testing"

	"parley/moderation"
	"parley/storage/storetest"
)

// The contract suite, as it runs against bbolt.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) moderation.Store {
		db, _ := open(t)
		return db
	})
}
