package bkash

import "time"

// ParseNotification exposes the inner-message parser to the external tests
// and fuzz target.
var ParseNotification = parseNotification

// SetDedupeClock replaces the clock of a MemoryDedupeStore.
func SetDedupeClock(s *MemoryDedupeStore, now func() time.Time) { s.now = now }
