//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || windows)

package main

import (
	"errors"
	"os"
)

// lockSupported: this system has no file lock the command knows, so the
// renewal count across runs is not kept (the SDK counts each run's own,
// at most two); docs/cli.md says so.
const lockSupported = false

// tryLock fails: see lockSupported.
func tryLock(*os.File) (bool, error) {
	return false, errors.New("file locks are not supported on this system")
}

func unlockFile(*os.File) {}
