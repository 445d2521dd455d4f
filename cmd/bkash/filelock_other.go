//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || windows)

package main

import (
	"errors"
	"os"
)

// tryLock fails: this system has no file lock the command knows, so the
// renewal count across runs is not kept (the SDK counts each run's own).
func tryLock(*os.File) (bool, error) {
	return false, errors.New("file locks are not supported on this system")
}
