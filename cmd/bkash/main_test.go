package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestMain lets a test run the real command in a child process (the test
// binary itself, with BKASH_TEST_RUN_MAIN=1), to send it real signals or to
// run several at once. With BKASH_TEST_HOLD_LOCK=<path> the child takes
// the file lock at path, says "locked" and waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv("BKASH_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"bkash"}, os.Args[1:]...)
		main()
		return
	}
	if path := os.Getenv("BKASH_TEST_HOLD_LOCK"); path != "" {
		if _, err := lockFile(context.Background(), path, time.Minute); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Hour)
		return
	}
	os.Exit(m.Run())
}
