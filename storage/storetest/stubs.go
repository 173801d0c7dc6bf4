package storetest

import "testing"

func testAccounts(t *testing.T, open Opener)   {}
func testCommenters(t *testing.T, open Opener) {}
func testBlocklist(t *testing.T, open Opener)  {}
func testTransfer(t *testing.T, open Opener)   {}
