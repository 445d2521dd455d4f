package bkashtest

import (
	"bytes"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
)

// serverGoroutines lists the stacks of goroutines that belong to a server:
// the fake's own code, httptest, and net/http's server side.
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		s := string(g)
		if strings.Contains(s, "bkashtest.(*Server)") || strings.Contains(s, "net/http/httptest.") ||
			strings.Contains(s, "net/http.(*conn).serve") || strings.Contains(s, "net/http.(*Server).Serve") {
			out = append(out, s)
		}
	}
	return out
}

// Not parallel: it inspects every goroutine of the process.
func TestCloseLeavesNoGoroutineBehind(t *testing.T) {
	if g := serverGoroutines(); len(g) > 0 {
		t.Skipf("server goroutines already running before the test:\n%s", g[0])
	}
	srv := NewServer()
	tr := &http.Transport{}
	c := &api{t: t, srv: srv, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	id, _ := c.paid("10", "sale")
	if resp, err := c.hc.Get(srv.URL + "/checkout?paymentId=" + id); err == nil {
		resp.Body.Close()
	}
	c.srv.Inject("payment.query", Fault{Drop: true})
	if _, err := c.trySend(statusPath, map[string]string{"paymentID": id}, c.authHeaders()); err == nil {
		t.Error("dropped connection answered")
	}
	// A request stuck in an injected delay when Close is called.
	srv.Inject("payment.query", Fault{Delay: time.Minute})
	done := make(chan error, 1)
	go func() {
		_, err := c.trySend(statusPath, map[string]string{"paymentID": id}, c.authHeaders())
		done <- err
	}()
	waitFor(t, func() bool { return srv.Received("payment.query") == 2 })

	start := time.Now()
	srv.Close()
	srv.Close() // idempotent
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v: it must abort injected delays", d)
	}
	<-done
	tr.CloseIdleConnections()

	deadline := time.Now().Add(2 * time.Second)
	for {
		g := serverGoroutines()
		if len(g) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after Close, e.g.:\n%s", len(g), g[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAClosedServerRefusesConnections(t *testing.T) {
	t.Parallel()
	srv := NewServer()
	srv.Close()
	resp, err := http.Post(srv.URL+grantPath, "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
		t.Fatal("a closed server answered")
	}
}

func TestOptionsRejectNonsense(t *testing.T) {
	t.Parallel()
	for name, fn := range map[string]func(){
		"WithClock(nil)":           func() { WithClock(nil) },
		"WithTokenLifetime(0)":     func() { WithTokenLifetime(0) },
		"WithCredentials(empty)":   func() { WithCredentials(bkash.Credentials{Username: "u", AppKey: "k"}) },
		"WithWallet(not a number)": func() { WithWallet("+8801770618575", 1) },
		"WithWallet(too short)":    func() { WithWallet("0177061857", 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			fn()
		}()
	}
}

func TestMerchantOption(t *testing.T) {
	t.Parallel()
	c := newAPI(t, WithMerchant("Smart Dairy", "01234"))
	_, trx := c.paid("10", "sale")
	if s := c.call(searchPath, map[string]string{"trxID": trx}); s.str("organizationShortCode") != "01234" {
		t.Errorf("search: %s", s.raw)
	}
	id := c.createPayment("10", "sale")
	st, _ := c.srv.Payment(id)
	resp, err := c.hc.Get(st.BkashURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if !strings.Contains(b.String(), "Smart Dairy") {
		t.Errorf("checkout page does not name the merchant")
	}
}

func TestOversizedAndEmptyBodies(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	wantCode(t, "100 KiB body", c.call(createPath, strings.Repeat(" ", 100<<10)), http.StatusOK, "2025")
	wantCode(t, "empty body", c.call(createPath, ""), http.StatusOK, "2065")
	wantCode(t, "JSON array", c.call(createPath, "[]"), http.StatusOK, "2025")
}
