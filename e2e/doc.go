// Package e2e drives the demo shop (examples/checkout) in a real headless
// browser: Debian's chromium, controlled with chromedp. It is a separate
// module so that the SDK's go.mod does not depend on a browser driver.
//
// Run it with ci/e2e.sh, or:
//
//	cd e2e && go test -race ./...
//
// The test is skipped when chromium is not installed, unless
// BKASH_REQUIRE_BROWSER is set (CI sets it). BKASH_CHROMIUM overrides the
// browser's path (default /usr/bin/chromium).
package e2e
