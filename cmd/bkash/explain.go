package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/smartdairy/bkash-go/internal/explain"
)

var explainCmd = &command{
	name: "explain", args: "<code or text>", nargs: 1,
	summary: "Explain a bKash code or gateway answer, and what to do about it",
	detail: `Explain prints what a bKash status code (2056), a gateway answer's HTTP
status (403) or words of its message ("missing authentication token") mean and
what to do, as docs/troubleshooting.md does. It needs no credentials and sends
nothing. With --json it prints the entries as a JSON array.`,
	setup: func(*flag.FlagSet) func(*app, []string) error {
		return func(a *app, args []string) error {
			entries := explain.Lookup(args[0])
			if len(entries) == 0 {
				return usagef("no entry for %q: neither a code of bKash's table nor words of a gateway answer (see docs/troubleshooting.md)", args[0])
			}
			if a.g.json {
				type entryView struct {
					Key    string `json:"key"`
					Title  string `json:"title"`
					GoName string `json:"go_name,omitempty"`
					Class  string `json:"class,omitempty"`
					Means  string `json:"means"`
					Advice string `json:"advice"`
				}
				views := make([]entryView, len(entries))
				for i, e := range entries {
					views[i] = entryView{e.Key, e.Title, e.GoName, e.Class, e.Means, e.Advice}
				}
				return writeJSON(a.stdout, views)
			}
			md := make([]string, len(entries))
			for i, e := range entries {
				md[i] = e.Markdown()
			}
			fmt.Fprint(a.stdout, strings.Join(md, "\n"))
			return nil
		}
	},
}
