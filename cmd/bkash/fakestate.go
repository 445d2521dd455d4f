package main

import (
	"flag"

	"github.com/smartdairy/bkash-go/bkashtest"
)

// registerStateFlag defines --state on the fake's flag set.
func registerStateFlag(fs *flag.FlagSet, o *fakeOptions) {
	fs.StringVar(&o.stateFile, "state", "", "keep payments, agreements, refunds, balances and tokens in `file` across restarts (created if missing; a corrupt file is an error)")
}

// stateOptions are the bkashtest options for --state.
func (o *fakeOptions) stateOptions() ([]bkashtest.Option, error) {
	if o.stateFile == "" {
		return nil, nil
	}
	return []bkashtest.Option{bkashtest.WithStateFile(o.stateFile)}, nil
}

// fakeStateErr reports whether the state file could not be kept up to date
// (nil without --state): after Close, nil means it holds the final state.
func fakeStateErr(srv *bkashtest.Server) error { return srv.StateErr() }
