package cli

import (
	"testing"

	"parley/storage/pgtest"
)

// TestMain stops the throwaway PostgreSQL server that tests may start.
func TestMain(m *testing.M) { pgtest.Main(m) }
