//go:build race

package main

// raceEnabled: the shop binary the process tests start is built with -race
// too (it then reuses the test build's compiled packages).
const raceEnabled = true
