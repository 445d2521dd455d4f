package bkash

// Hooks for the tests of package bkash_test (Go's export_test.go
// convention): this file is compiled only with the tests, in package bkash,
// and exports the few internals the external tests need.

import "time"

// ParseNotification exposes the inner-message parser to the external tests
// and fuzz target.
var ParseNotification = parseNotification

// SetDedupeClock replaces the clock of a MemoryDedupeStore.
func SetDedupeClock(s *MemoryDedupeStore, now func() time.Time) { s.now = now }
