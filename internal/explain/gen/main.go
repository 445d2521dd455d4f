// Command gen writes internal/explain/names_gen.go (from errors.go) and
// docs/troubleshooting.md (from the SDK's code table). Run it with
// "go generate ./internal/explain" from the repository's root.
package main

import (
	"log"
	"os"

	"github.com/smartdairy/bkash-go/internal/explain"
)

func main() {
	// go generate runs in internal/explain.
	src, err := os.ReadFile("../../errors.go")
	if err != nil {
		log.Fatal(err)
	}
	names, err := explain.Names(src)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("names_gen.go", names, 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("../../docs/troubleshooting.md", explain.Document(), 0o644); err != nil {
		log.Fatal(err)
	}
}
