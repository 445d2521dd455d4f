package main

import (
	"flag"

	"github.com/smartdairy/bkash-go/bkashtest"
)

// registerStateFlag defines --state on the fake's flag set.
func registerStateFlag(fs *flag.FlagSet, o *fakeOptions) {
	fs.StringVar(&o.stateFile, "state", "", "keep payments, agreements, refunds, balances and tokens in `file` across restarts")
}

// stateOptions are the bkashtest options for --state.
func (o *fakeOptions) stateOptions() ([]bkashtest.Option, error) {
	if o.stateFile == "" {
		return nil, nil
	}
	return nil, usagef("--state: this build of bkash cannot keep the fake's state yet (bkashtest.WithStateFile)")
}

// fakeStateErr reports whether the state file holds the final state.
func fakeStateErr(*bkashtest.Server) error { return nil }
