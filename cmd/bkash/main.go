// Command bkash operates bKash Tokenized Checkout payments from a terminal and
// produces the report bKash asks for before a merchant goes live.
//
// Install it with
//
//	go install github.com/smartdairy/bkash-go/cmd/bkash@latest
//
// and run "bkash help" for the commands. Credentials come from the
// BKASH_USERNAME, BKASH_PASSWORD, BKASH_APP_KEY and BKASH_APP_SECRET
// environment variables or from a config file readable only by its owner,
// never from flags (flags end up in shell history and process listings).
//
// Exit codes:
//
//	0  success
//	1  bKash answered with an error (its code and message are printed), or a
//	   webhook message failed verification
//	2  usage error: unknown command, bad flag, missing or invalid argument
//	3  outcome unknown: the request may have reached bKash but no answer came
//	   back; the command prints how to find out what happened
//	4  any other failure: configuration, network error on a read, file I/O
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command: it parses args, runs the command and returns the
// exit code. getenv supplies the environment, so that tests can run commands
// in parallel without touching the process environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	a := &app{ctx: ctx, getenv: getenv, stdout: stdout, stderr: stderr}
	return a.main(args)
}
