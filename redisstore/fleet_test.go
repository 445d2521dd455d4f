package redisstore

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go/bkashtest"
)

func TestFleetOfEightProcessesGrantsOneToken(t *testing.T) {
	const (
		processes  = 8
		goroutines = 25
	)
	srv := bkashtest.NewServer()
	defer srv.Close()
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	creds := srv.Credentials()
	env := []string{
		"REDISSTORE_TEST_PREFIX=" + prefix,
		"REDISSTORE_TEST_BKASH_URL=" + srv.URL,
		"REDISSTORE_TEST_GOROUTINES=" + fmt.Sprint(goroutines),
		"REDISSTORE_TEST_PAYMENT_ID=" + unknownPayment,
		"BKASH_USERNAME=" + creds.Username,
		"BKASH_PASSWORD=" + string(creds.Password),
		"BKASH_APP_KEY=" + creds.AppKey,
		"BKASH_APP_SECRET=" + string(creds.AppSecret),
	}

	start := time.Now()
	workers := make([]*worker, processes)
	for i := range workers {
		workers[i] = startWorker(t, "fleet", env...)
	}
	for _, w := range workers {
		if got := w.readLine(t, time.Minute); got != "ready" {
			t.Fatalf("worker pid %d said %q, want \"ready\"; its stderr:\n%s", w.cmd.Process.Pid, got, w.stderr)
		}
	}
	// A cold fleet: no token anywhere, every process asks at once.
	go1 := time.Now()
	for _, w := range workers {
		if _, err := io.WriteString(w.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, w := range workers {
		var res workerResult
		line := w.readLine(t, time.Minute)
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			t.Fatalf("worker pid %d printed %q: %v; its stderr:\n%s", w.cmd.Process.Pid, line, err, w.stderr)
		}
		if res.OK != goroutines || len(res.Errors) > 0 {
			t.Errorf("worker pid %d: %d of %d queries reached bKash with a valid token; errors: %q; its stderr:\n%s",
				w.cmd.Process.Pid, res.OK, goroutines, res.Errors, w.stderr)
		}
		total += res.OK
		if err := w.cmd.Wait(); err != nil {
			t.Errorf("worker pid %d: %v; its stderr:\n%s", w.cmd.Process.Pid, err, w.stderr)
		}
	}
	t.Logf("%d processes x %d goroutines: %d queries in %v after the signal (%v including process start)",
		processes, goroutines, total, time.Since(go1).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	if g := srv.Grants(); g != 1 {
		t.Errorf("token grants across the fleet = %d, want exactly 1", g)
	}
	if r := srv.Received("token.refresh"); r != 0 {
		t.Errorf("token refreshes = %d, want 0", r)
	}
	if q := srv.Received("payment.query"); q != processes*goroutines {
		t.Errorf("queries received = %d, want %d", q, processes*goroutines)
	}
	// Each process logs how it got its token: one grant, the rest from Redis.
	kinds := map[string]int{}
	for _, w := range workers {
		for line := range strings.Lines(w.stderr.String()) {
			if strings.Contains(line, "bkash token renewed") {
				for _, kind := range []string{"kind=grant", "kind=refresh", "kind=store"} {
					if strings.Contains(line, kind) {
						kinds[kind]++
					}
				}
			}
		}
	}
	t.Logf("renewals logged by the workers: %v", kinds)
	if kinds["kind=grant"] != 1 || kinds["kind=store"] != processes-1 {
		t.Errorf("renewals logged = %v, want 1 grant and %d taken from the store", kinds, processes-1)
	}
}
