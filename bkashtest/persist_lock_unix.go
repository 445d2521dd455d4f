//go:build unix

package bkashtest

import (
	"errors"
	"os"
	"syscall"
)

// lockStateFile takes an exclusive lock on path + ".lock", so that two
// servers (in one process or two) never write the same state file. The
// lock ends when the returned file is closed, or the process exits.
func lockStateFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errors.New("in use by another server (" + path + ".lock is locked)")
		}
		return nil, err
	}
	return f, nil
}
