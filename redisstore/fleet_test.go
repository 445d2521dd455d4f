package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bkash "github.com/smartdairy/bkash-go"
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

// TestFleetAgainstFailingGrantsSendsAtMostTwo: replicas, each with its own
// Store and Redis connection, against a bKash that fails every grant (503,
// 9999, a dropped connection): at most two grant requests reach it within
// the hour.
func TestFleetAgainstFailingGrantsSendsAtMostTwo(t *testing.T) {
	t.Parallel()
	rdb := testClient(t)
	prefix := testPrefix(t, rdb)
	for name, fail := range map[string]func(w http.ResponseWriter){
		"503": func(w http.ResponseWriter) {
			w.WriteHeader(503)
			_, _ = io.WriteString(w, `{"message":"Service Unavailable"}`)
		},
		"9999": func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, `{"statusCode":"9999","statusMessage":"System Error"}`)
		},
		"drop": func(w http.ResponseWriter) { panic(http.ErrAbortHandler) },
	} {
		t.Run(name, func(t *testing.T) {
			var grants atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body)
				if strings.Contains(r.URL.Path, "/token/") {
					grants.Add(1)
					fail(w)
					return
				}
				_, _ = io.WriteString(w, `{"statusCode":"2002","statusMessage":"Invalid Payment ID"}`)
			}))
			defer srv.Close()
			creds := bkash.Credentials{Username: "u-" + name, Password: "p", AppKey: "k", AppSecret: "s"}
			var wg sync.WaitGroup
			for i := 0; i < 5; i++ {
				store, err := New(testClient(t), WithKeyPrefix(prefix))
				if err != nil {
					t.Fatal(err)
				}
				c, err := bkash.NewClient(bkash.Sandbox, creds, bkash.WithBaseURL(srv.URL), bkash.WithTokenStore(store),
					bkash.WithRetryPolicy(bkash.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}),
					bkash.WithHTTPClient(&http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}))
				if err != nil {
					t.Fatal(err)
				}
				for g := 0; g < 6; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for k := 0; k < 3; k++ {
							_, _ = c.Payments.Query(context.Background(), "TR0011X")
						}
					}()
				}
			}
			wg.Wait()
			if n := grants.Load(); n > 2 {
				t.Errorf("%d grant/refresh requests reached bKash, want at most 2", n)
			}
		})
	}
}
