package storetest

import "testing"

func testTransfer(t *testing.T, open Opener) {}
