package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

// lockFile takes an exclusive lock on the file at path (created if need
// be), waiting for another process's lock for up to wait or until ctx is
// done. The lock is the operating system's (flock, LockFileEx): it is
// released when unlock closes the file, and by the system when the holder
// dies, so a killed run never leaves the others locked out.
func lockFile(ctx context.Context, path string, wait time.Duration) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		ok, err := tryLock(f)
		if ok {
			return func() { unlockFile(f); f.Close() }, nil
		}
		if err == nil && !time.Now().Before(deadline) {
			err = fmt.Errorf("%s is locked by another process for more than %s", path, wait)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the lock %s: %w", path, context.Cause(ctx))
		case <-time.After(delay):
		}
	}
}
