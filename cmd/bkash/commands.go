package main

import (
	"flag"
	"fmt"
	"runtime"

	"github.com/smartdairy/bkash-go"
)

// root is the command tree.
var root = &command{
	name: "bkash",
	detail: `bkash operates bKash Tokenized Checkout payments from a terminal: check
credentials, create, execute and look up payments, refund them, manage saved
wallets (agreements), verify webhook messages, and run bKash's go-live
validation flow. It talks to the sandbox unless --production is given.`,
}

func init() {
	// Assigned here, not in the literal, because the help command reads
	// root while it is being initialised.
	root.subs = []*command{
		tokenCmd,
		paymentCmd,
		searchCmd,
		refundCmd,
		agreementCmd,
		webhookCmd,
		validateCmd,
		fakeCmd,
		explainCmd,
		versionCmd,
	}
}

var versionCmd = &command{
	name:    "version",
	summary: "Print the version of the command, the SDK and Go",
	detail: `Print the command's version as recorded in the binary by the go command (the
module version it was installed at, or the commit it was built from), the
version of the bkash-go SDK (sent in the User-Agent) and the Go release.`,
	setup: func(*flag.FlagSet) func(*app, []string) error {
		return func(a *app, _ []string) error {
			v := struct {
				CLI string `json:"cli"`
				SDK string `json:"sdk"`
				Go  string `json:"go"`
			}{cliVersion(), bkash.Version, runtime.Version()}
			if a.g.json {
				return writeJSON(a.stdout, v)
			}
			fmt.Fprintf(a.stdout, "bkash %s (bkash-go %s, %s)\n", v.CLI, v.SDK, v.Go)
			return nil
		}
	},
}
