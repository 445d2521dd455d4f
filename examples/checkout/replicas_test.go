package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go/bkashtest"
	"github.com/smartdairy/bkash-go/examples/checkout/internal/pgtest"
)

// buildShop builds the shop's binary once per test run.
var buildShop = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "shopbin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "checkout")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// shopProcess is the shop running as its own process.
type shopProcess struct {
	url string
	cmd *exec.Cmd
}

// startShopProcess runs the shop binary against the bKash at fake, with the
// database dsn (a postgres:// URL, or "" for SQLite in dataDir). The process
// is stopped (SIGTERM, then waited for) when the test ends.
func startShopProcess(t *testing.T, fake *bkashtest.Server, dsn, dataDir string) *shopProcess {
	t.Helper()
	bin, err := buildShop()
	if err != nil {
		t.Fatal(err)
	}
	creds := fake.Credentials()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-data", dataDir)
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+dsn,
		"BKASH_BASE_URL="+fake.URL,
		"BKASH_USERNAME="+creds.Username, "BKASH_PASSWORD="+string(creds.Password),
		"BKASH_APP_KEY="+creds.AppKey, "BKASH_APP_SECRET="+string(creds.AppSecret),
		"BKASH_WEBHOOK_TOPIC_ARN=", "BKASH_ALLOW_HTTP=",
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("shop process %d did not stop on SIGTERM", cmd.Process.Pid)
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
			}
		}
	}()
	select {
	case line := <-lines:
		u, ok := strings.CutPrefix(line, "Smart Dairy shop: open ")
		if !ok {
			t.Fatalf("shop printed %q, want its URL", line)
		}
		return &shopProcess{url: u, cmd: cmd}
	case <-time.After(60 * time.Second):
		t.Fatalf("the shop process did not start; stderr:\n%s", stderr.String())
	}
	return nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// noRedirect is a browser that stops at the first answer (to read where
// the shop sends it).
func noRedirect() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar: jar, Timeout: 60 * time.Second, Transport: ownTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// startAttempt presses "Pay with bKash" at shopURL (for a new order from
// the browser's cart, or for order) and returns the paymentID bKash's page
// is opened for.
func startAttempt(c *http.Client, shopURL, order string) (string, error) {
	form := url.Values{}
	if order != "" {
		form.Set("order", order)
	} else {
		resp, err := c.PostForm(shopURL+"/cart", url.Values{"sku": {"milk-1l"}, "delta": {"1"}})
		if err != nil {
			return "", err
		}
		resp.Body.Close()
	}
	resp, err := c.PostForm(shopURL+"/checkout", form)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil {
		return "", fmt.Errorf("checkout: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	pid := loc.Query().Get("paymentId")
	if pid == "" {
		return "", fmt.Errorf("checkout sent the browser to %s, not bKash's page", loc)
	}
	return pid, nil
}

// fireCallback plays bKash sending the browser back for paymentID to
// shopURL and returns how long the shop took to answer.
func fireCallback(c *http.Client, fake *bkashtest.Server, shopURL, paymentID string) (time.Duration, error) {
	fp, ok := fake.Payment(paymentID)
	if !ok {
		return 0, fmt.Errorf("the fake does not know %s", paymentID)
	}
	u, err := url.Parse(fp.CallbackURL)
	if err != nil {
		return 0, err
	}
	target := shopURL + u.Path + "?" + url.Values{"paymentID": {paymentID}, "status": {"success"}, "signature": {fp.Signature}}.Encode()
	start := time.Now()
	resp, err := c.Get(target)
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return took, fmt.Errorf("callback of %s at %s: status %d", paymentID, shopURL, resp.StatusCode)
	}
	return took, nil
}

// raceResult is what a race run saw.
type raceResult struct {
	orders   int
	executes int   // payment.execute requests the fake received
	charged  []int // per order: attempts bKash completed
	notTaken int   // second attempts left unexecuted
	elapsed  time.Duration
}

// raceOrders creates n orders with two attempts each (through shops[0] and
// shops[len-1]), approves both at the fake, then fires every attempt's
// callback through every shop at once. workers orders run at a time.
func raceOrders(t *testing.T, fake *bkashtest.Server, shops []string, n, workers int) raceResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := fake.Received("payment.execute")
	res := raceResult{orders: n, charged: make([]int, n)}
	start := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range workers {
		wg.Go(func() {
			c := noRedirect()
			for i := range jobs {
				if err := raceOne(ctx, c, fake, shops, i, &res, &mu); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatalf("the race did not finish in time")
	}
	res.elapsed = time.Since(start)
	res.executes = fake.Received("payment.execute") - before
	return res
}

func raceOne(ctx context.Context, c *http.Client, fake *bkashtest.Server, shops []string, i int, res *raceResult, mu *sync.Mutex) error {
	first, err := startAttempt(c, shops[0], "")
	if err != nil {
		return err
	}
	fp, _ := fake.Payment(first)
	order, _, _ := strings.Cut(fp.InvoiceNumber, "-")
	second, err := startAttempt(c, shops[len(shops)-1], order)
	if err != nil {
		return err
	}
	pids := []string{first, second}
	for _, pid := range pids {
		if err := fake.Approve(pid, "01770618575"); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(pids)*len(shops))
	for _, pid := range pids {
		for _, s := range shops {
			wg.Go(func() {
				if _, err := fireCallback(c, fake, s, pid); err != nil {
					errc <- err
				}
			})
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		return err
	}
	charged, notTaken := 0, 0
	for _, pid := range pids {
		p, _ := fake.Payment(pid)
		if p.Status == "Completed" {
			charged++
		}
	}
	// The shop answered every callback; the loser was marked "not taken".
	for _, pid := range pids {
		if p, _ := fake.Payment(pid); p.Status == "Initiated" {
			notTaken++
		}
	}
	mu.Lock()
	res.charged[i] = charged
	res.notTaken += notTaken
	mu.Unlock()
	return ctx.Err()
}

func checkRace(t *testing.T, name string, res raceResult) {
	t.Helper()
	bad := 0
	for i, c := range res.charged {
		if c != 1 {
			bad++
			if bad < 5 {
				t.Errorf("%s: order #%d charged %d times, want 1", name, i, c)
			}
		}
	}
	if res.executes != res.orders {
		t.Errorf("%s: %d executes for %d orders, want exactly one per order", name, res.executes, res.orders)
	}
	if res.notTaken != res.orders {
		t.Errorf("%s: %d second attempts left unexecuted, want %d", name, res.notTaken, res.orders)
	}
	t.Logf("%s: %d orders with two approved attempts, callbacks racing: %d executes (%.2f per order), %d not taken, in %v",
		name, res.orders, res.executes, float64(res.executes)/float64(res.orders), res.notTaken, res.elapsed.Round(time.Millisecond))
}

// TestTwoShopProcessesChargeEachOrderOnce is the replica race: two shop
// processes on one PostgreSQL database and one fake bKash; each order has two
// approved attempts, and all four callbacks (each attempt, through each
// process) arrive at once. bKash must execute exactly one payment per order.
func TestTwoShopProcessesChargeEachOrderOnce(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	fake := bkashtest.NewServer()
	t.Cleanup(fake.Close)
	a := startShopProcess(t, fake, dsn, t.TempDir())
	b := startShopProcess(t, fake, dsn, t.TempDir())
	res := raceOrders(t, fake, []string{a.url, b.url}, 100, 6)
	checkRace(t, "two processes on PostgreSQL", res)
	// They share one token through the database: bKash allows two grant or
	// refresh requests an hour for the whole fleet.
	if n := fake.Grants(); n != 1 {
		t.Errorf("two shop processes on one database sent %d grants, want 1", n)
	}
}

// TestConcurrentAttemptsOfAnOrderChargeOnceOnSQLite is the same race on one
// shop process with its embedded SQLite database.
func TestConcurrentAttemptsOfAnOrderChargeOnceOnSQLite(t *testing.T) {
	t.Parallel()
	ts := startShop(t, "")
	res := raceOrders(t, ts.fake, []string{ts.url}, 100, 6)
	checkRace(t, "one shop on SQLite", res)

	// The customer sees the attempt that was not taken.
	ts.addToCart("milk-1l", 1)
	first, err := startAttempt(noRedirectWithJar(ts.browser.Jar), ts.url, "")
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := ts.fake.Payment(first)
	order, _, _ := strings.Cut(fp.InvoiceNumber, "-")
	second, err := startAttempt(noRedirectWithJar(ts.browser.Jar), ts.url, order)
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range []string{first, second} {
		if err := ts.fake.Approve(pid, "01770618575"); err != nil {
			t.Fatal(err)
		}
	}
	ts.get(ts.callback(first, "success"))
	p := ts.get(ts.callback(second, "success"))
	if p.url.Path != "/orders/"+order || !p.has(`id="not-taken-`+second+`"`) || !p.has("not executed") {
		t.Errorf("second approved attempt landed on %s without saying it was not taken:\n%s", p.url, p.body)
	}
	o := ts.order(order)
	states := []string{}
	for _, a := range o.Attempts {
		states = append(states, string(a.State))
	}
	if !slices.Equal(states, []string{"paid", "not taken"}) {
		t.Errorf("attempt states %v, want [paid not taken]", states)
	}
}

func noRedirectWithJar(jar http.CookieJar) *http.Client {
	c := noRedirect()
	c.Jar = jar
	return c
}

// TestLoadCheckoutsPerSecond measures the shop: checkouts per second (cart,
// create, approval, callback with execute) driven over loopback by workers
// concurrent customers against a fake bKash in the test process, with the
// p50/p99 latency of the callback handler (it executes the payment and
// records it). It runs only with BKASH_SHOP_LOAD=1: go test -run
// TestLoadCheckoutsPerSecond -v with BKASH_SHOP_LOAD=1.
func TestLoadCheckoutsPerSecond(t *testing.T) {
	if os.Getenv("BKASH_SHOP_LOAD") != "1" {
		t.Skip("set BKASH_SHOP_LOAD=1 to measure")
	}
	const n, workers = 400, 8
	for _, tc := range []struct {
		name      string
		postgres  bool
		processes int
	}{
		{"SQLite, 1 process", false, 1},
		{"PostgreSQL, 1 process", true, 1},
		{"PostgreSQL, 2 processes", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := bkashtest.NewServer()
			t.Cleanup(fake.Close)
			dsn := ""
			if tc.postgres {
				dsn = pgtest.NewDatabase(t)
			}
			var shops []string
			for range tc.processes {
				shops = append(shops, startShopProcess(t, fake, dsn, t.TempDir()).url)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			lat := make([]time.Duration, n)
			jobs := make(chan int)
			var wg sync.WaitGroup
			var failed sync.Map
			start := time.Now()
			for w := range workers {
				wg.Go(func() {
					c := noRedirect()
					for i := range jobs {
						s := shops[(i+w)%len(shops)]
						pid, err := startAttempt(c, s, "")
						if err == nil {
							err = fake.Approve(pid, "01770618575")
						}
						if err == nil {
							lat[i], err = fireCallback(c, fake, s, pid)
						}
						if err != nil {
							failed.Store(i, err)
						}
					}
				})
			}
			for i := range n {
				if ctx.Err() != nil {
					break
				}
				jobs <- i
			}
			close(jobs)
			wg.Wait()
			elapsed := time.Since(start)
			failed.Range(func(k, v any) bool { t.Errorf("checkout %v: %v", k, v); return false })
			slices.Sort(lat)
			if got := fake.Received("payment.execute"); got != n {
				t.Errorf("%d executes for %d checkouts", got, n)
			}
			t.Logf("%s: %d checkouts by %d customers in %v: %.0f checkouts/s; callback handler p50 %v, p99 %v",
				tc.name, n, workers, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(),
				lat[n/2].Round(10*time.Microsecond), lat[n*99/100].Round(10*time.Microsecond))
		})
	}
}
