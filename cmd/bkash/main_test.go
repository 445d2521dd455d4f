package main

import (
	"os"
	"testing"
)

// TestMain lets a test run the real command in a child process (the test
// binary itself, with BKASH_TEST_RUN_MAIN=1), to send it real signals.
func TestMain(m *testing.M) {
	if os.Getenv("BKASH_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"bkash"}, os.Args[1:]...)
		main()
		return
	}
	os.Exit(m.Run())
}
