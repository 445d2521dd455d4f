//go:build !unix

package bkashtest

import "os"

// lockStateFile does nothing where flock(2) is missing: one server at a time
// must use a state file.
func lockStateFile(string) (*os.File, error) { return nil, nil }
