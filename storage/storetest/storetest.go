// Package storetest is the contract test suite of moderation.Store: every
// backend (storage/bolt, storage/postgres) runs it from its own tests, so
// that both keep every promise the interface's documentation makes, with
// the same errors, the same isolation between sites, the same all-or-nothing
// transactions and the same behaviour under concurrent writers.
//
// The suite reaches the store only through moderation.Store, builds its data
// as the service would (moderation.NewID, real statuses, Training), passes
// explicit times and never sleeps.
package storetest

import (
	"testing"

	"parley/moderation"
)

// Opener gives a fresh, empty, migrated store holding only the default site
// (as bolt.Open gives a new file), and closes it in t.Cleanup.
type Opener func(t *testing.T) moderation.Store

// areas are the parts of the contract, each in its own file. A new area (a
// new section of moderation.Store) is one file and one line here.
var areas = []struct {
	name string
	run  func(t *testing.T, open Opener)
}{
	{"sites", testSites},
	{"comments", testComments},
	{"thread", testThread},
	{"model", testModel},
	{"claims", testClaims},
	{"admin", testAdmin},
	{"accounts", testAccounts},
	{"commenters", testCommenters},
	{"blocklist", testBlocklist},
	{"transfer", testTransfer},
	{"outbox", testOutbox},
	{"dump", testDump},
}

// Run holds the store that open gives to the whole contract, one subtest
// per area and one fresh store per case.
func Run(t *testing.T, open func(t *testing.T) moderation.Store) {
	for _, a := range areas {
		t.Run(a.name, func(t *testing.T) { a.run(t, open) })
	}
}
