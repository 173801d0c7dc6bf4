package notify_test

import (
	"testing"

	"parley/storage/testdb"
)

// TestMain stops the throwaway PostgreSQL server that tests start when
// PARLEY_TEST_STORE=postgres (see storage/testdb).
func TestMain(m *testing.M) { testdb.Main(m) }
