package e2e

import (
	"testing"

	"parley/storage/pgtest"
)

// TestMain stops the throwaway PostgreSQL server that the multi-instance
// tests start (see storage/pgtest).
func TestMain(m *testing.M) { pgtest.Main(m) }
