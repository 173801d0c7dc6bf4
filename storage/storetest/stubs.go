package storetest

import "testing"

func testThread(t *testing.T, open Opener)     {}
func testModel(t *testing.T, open Opener)      {}
func testClaims(t *testing.T, open Opener)     {}
func testAdmin(t *testing.T, open Opener)      {}
func testAccounts(t *testing.T, open Opener)   {}
func testCommenters(t *testing.T, open Opener) {}
func testBlocklist(t *testing.T, open Opener)  {}
func testTransfer(t *testing.T, open Opener)   {}
func testOutbox(t *testing.T, open Opener)     {}
