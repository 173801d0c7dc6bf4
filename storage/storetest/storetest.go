// Package storetest is the contract test suite of moderation.Store: every
// backend (storage/bolt, storage/postgres) runs it from its own tests, so
// that both keep every promise the interface's documentation makes, with
// the same errors, the same isolation between sites, the same all-or-nothing
// transactions and the same behaviour under concurrent writers.
//
// The suite reaches the store only through moderation.Store, builds its data
// as the service would (moderation.NewID, real statuses, Training), passes
// explicit times (whole seconds) and never sleeps.
//
// A backend still being written can run the cases its methods reach
// (go test -run 'TestContract/sites/create'): wrap it so that it is a
// moderation.Store, its own methods promoted over a nil one's, as in
//
//	type notYet struct{ moderation.Store }
//	type partial struct {
//		*DB
//		notYet
//	}
//
// A case that calls a method not written yet panics on the nil Store.
//
// Where the interface's documentation leaves a choice, the suite holds every
// backend to what bbolt does, so that the service sees one behaviour:
//
//   - Order: comment IDs compare as bytes (in SQL, COLLATE "C"): Comments,
//     Thread and ExportComments are in ID order, a cursor is the last ID of
//     a page and the walk ends with "" when no comment follows (a full last
//     page included). Sites come by id, moderators by name, transitions and
//     deliveries by sequence, audit entries newest first by a sequence that
//     only grows within each log (not necessarily from 1 or without gaps).
//   - Every method that names a site answers ErrNotFound for one that does
//     not exist (RecordAudit for e.Site too). Audit entries of
//     UpdateComments, DeleteComments, PublishReply and UpdateBlocklist go to
//     the site the call names, whatever the entry says.
//   - Moderator names are one person under moderation.FoldName, addresses
//     under moderation.EmailKey. A commenter's Approved counts every site.
//     Import keys belong to the site imported to. Claims are global.
//   - A deletion (a tombstone) writes no transition. PlanChange of a
//     transition that is gone returns nil. SaveDelivery of a delivery that
//     is gone is ErrNotFound; FinishDeliveries of one is not an error.
//     DueDeliveries holds by the caller's clock: what it returned at now
//     goes to nobody else before now plus a few minutes (the suite checks
//     one second later and one hour later).
//   - A store may run a transaction again (bbolt batches do): Taken and
//     attach may be called more than once for one call.
//   - A second session with an existing ID is ErrConflict; a site replaced
//     (create false) that does not exist is ErrNotFound.
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
	{"peers", testPeers},
}

// Run holds the store that open gives to the whole contract, one subtest
// per area and one fresh store per case.
func Run(t *testing.T, open func(t *testing.T) moderation.Store) {
	for _, a := range areas {
		t.Run(a.name, func(t *testing.T) { a.run(t, open) })
	}
}
