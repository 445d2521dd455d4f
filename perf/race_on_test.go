//go:build race

package perf_test

const raceEnabled = true
