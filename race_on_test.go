//go:build race

package bkash_test

const raceEnabled = true
