package sns

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

type testCert struct {
	cert *x509.Certificate
	pem  []byte
}

func makeCert(key any, pubKey any, notBefore, notAfter time.Time) (testCert, error) {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pubKey, key)
	if err != nil {
		return testCert{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return testCert{}, err
	}
	return testCert{cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

var rsaCert = sync.OnceValue(func() testCert {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	c, err := makeCert(key, &key.PublicKey, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	return c
})

const certURL = "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-1.pem"

func TestCertCacheFetchesOncePerURL(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	release := make(chan struct{})
	c := NewCertCache(func(ctx context.Context, u string) (*x509.Certificate, error) {
		calls.Add(1)
		<-release
		return rsaCert().cert, nil
	}, 0, 0)
	var wg sync.WaitGroup
	keys := make([]*rsa.PublicKey, 8)
	errs := make([]error, 8)
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = c.Key(context.Background(), certURL) })
	}
	time.Sleep(50 * time.Millisecond) // let the goroutines join the flight
	close(release)
	wg.Wait()
	for i := range keys {
		if errs[i] != nil || keys[i] == nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("8 concurrent first requests fetched %d times, want 1", n)
	}
	if _, err := c.Key(context.Background(), certURL); err != nil || calls.Load() != 1 {
		t.Fatalf("cached request: err %v, fetches %d", err, calls.Load())
	}
}

func TestCertCacheIsBoundedLRU(t *testing.T) {
	t.Parallel()
	fetched := map[string]int{}
	var mu sync.Mutex
	c := NewCertCache(func(ctx context.Context, u string) (*x509.Certificate, error) {
		mu.Lock()
		fetched[u]++
		mu.Unlock()
		return rsaCert().cert, nil
	}, 2, time.Second)
	get := func(u string) {
		if _, err := c.Key(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	get("a")
	get("b")
	get("a") // a is now the most recent
	get("c") // evicts b
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2", c.Len())
	}
	get("a")
	get("b")
	want := map[string]int{"a": 1, "b": 2, "c": 1}
	for u, n := range want {
		if fetched[u] != n {
			t.Errorf("%s fetched %d times, want %d (all: %v)", u, fetched[u], n, fetched)
		}
	}
	if d := NewCertCache(nil, 0, 0); d.max != DefaultCacheSize || d.timeout != FetchTimeout {
		t.Errorf("defaults: max %d timeout %s", d.max, d.timeout)
	}
}

// fakeClock is a settable clock for the cache's limits.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestCertCacheRemembersFailuresBriefly: a failed download is not repeated
// for FailureTTL (a flood naming one bad URL costs one download), and is
// repeated after it, so a genuine message whose certificate download failed
// once verifies when SNS retries it (20 s later by default).
func TestCertCacheRemembersFailuresBriefly(t *testing.T) {
	t.Parallel()
	if FailureTTL >= 20*time.Second {
		t.Fatalf("FailureTTL %s is not shorter than SNS's 20 s retry interval", FailureTTL)
	}
	var calls atomic.Int32
	c := NewCertCache(func(ctx context.Context, u string) (*x509.Certificate, error) {
		if calls.Add(1) == 1 {
			return nil, errors.New("connection reset")
		}
		return rsaCert().cert, nil
	}, 0, 0)
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.now = clock.now
	_, err := c.Key(context.Background(), certURL)
	if !errors.Is(err, ErrCertFetch) || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("first: err = %v", err)
	}
	for i := range 100 {
		clock.add(FailureTTL / 200)
		_, err := c.Key(context.Background(), certURL)
		if !errors.Is(err, ErrCertFetch) || !strings.Contains(err.Error(), "connection reset") || !strings.Contains(err.Error(), "not fetched again") {
			t.Fatalf("retry %d within FailureTTL: err = %v", i, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d downloads within FailureTTL, want 1", n)
	}
	clock.add(FailureTTL / 2) // past FailureTTL after the failure
	if _, err := c.Key(context.Background(), certURL); err != nil {
		t.Fatalf("after FailureTTL: %v", err)
	}
	if calls.Load() != 2 || c.Len() != 1 {
		t.Fatalf("calls %d, cached %d", calls.Load(), c.Len())
	}
}

// TestCertCacheLimitsDownloads: 100 distinct certificate URLs (forged
// messages each naming a new one) cost FetchBurst downloads, then one per
// FetchInterval; a cached certificate is served whatever the limit.
func TestCertCacheLimitsDownloads(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	c := NewCertCache(func(ctx context.Context, u string) (*x509.Certificate, error) {
		calls.Add(1)
		if u == certURL {
			return rsaCert().cert, nil
		}
		return nil, errors.New("http 404")
	}, 0, 0)
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.now = clock.now
	if _, err := c.Key(context.Background(), certURL); err != nil {
		t.Fatal(err)
	}
	limited := 0
	for i := range 100 {
		_, err := c.Key(context.Background(), fmt.Sprintf("https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-%032x.pem", i))
		if !errors.Is(err, ErrCertFetch) {
			t.Fatalf("forged %d: err = %v", i, err)
		}
		if errors.Is(err, errRateLimited) {
			limited++
		}
	}
	if n := calls.Load(); n != FetchBurst {
		t.Fatalf("100 forged URLs: %d downloads, want %d (the burst)", n, FetchBurst)
	}
	if limited != 100-(FetchBurst-1) {
		t.Errorf("%d refused by the limit, want %d", limited, 100-(FetchBurst-1))
	}
	if _, err := c.Key(context.Background(), certURL); err != nil {
		t.Fatalf("cached certificate under the limit: %v", err)
	}
	clock.add(FetchInterval)
	if _, err := c.Key(context.Background(), "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-ffffffffffffffffffffffffffffffff.pem"); errors.Is(err, errRateLimited) {
		t.Fatalf("one FetchInterval later: still limited: %v", err)
	}
	if n := calls.Load(); n != FetchBurst+1 {
		t.Fatalf("%d downloads after one interval, want %d", n, FetchBurst+1)
	}
	if _, err := c.Key(context.Background(), "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.pem"); !errors.Is(err, errRateLimited) {
		t.Fatalf("second download in the interval: err = %v, want the limit", err)
	}
}

func TestCertCacheBoundsRememberedFailures(t *testing.T) {
	t.Parallel()
	c := NewCertCache(func(ctx context.Context, u string) (*x509.Certificate, error) {
		return nil, errors.New("http 404")
	}, 0, 0)
	c.burst = 1 << 20 // no download limit: only the bound on failures
	for i := range 3 * maxFailures {
		_, _ = c.Key(context.Background(), fmt.Sprintf("u%d", i))
	}
	c.mu.Lock()
	n := len(c.failures)
	c.mu.Unlock()
	if n > maxFailures {
		t.Fatalf("%d failures remembered, bound %d", n, maxFailures)
	}
}

func TestCertCacheRejectsUnusableCertificates(t *testing.T) {
	t.Parallel()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := makeCert(ecKey, &ecKey.PublicKey, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for name, cert := range map[string]*x509.Certificate{"nil certificate": nil, "ECDSA key": ec.cert} {
		c := NewCertCache(func(context.Context, string) (*x509.Certificate, error) { return cert, nil }, 0, 0)
		if _, err := c.Key(context.Background(), certURL); !errors.Is(err, ErrCertFetch) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestCertCacheFetchHasItsOwnTimeoutAndOutlivesTheCaller(t *testing.T) {
	t.Parallel()
	// The fetch ignores the caller's cancellation but not its own timeout.
	done := make(chan error, 1)
	c := NewCertCache(func(ctx context.Context, u string) (*x509.Certificate, error) {
		<-ctx.Done()
		done <- ctx.Err()
		return nil, ctx.Err()
	}, 0, 30*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Key(ctx, certURL); !errors.Is(err, ErrCertFetch) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("fetch ended with %v, want its own deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("fetch never timed out")
	}
}

func mockClient(t *testing.T) (*http.Client, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	return NoRedirects(&http.Client{Transport: mt}), mt
}

func TestHTTPFetcher(t *testing.T) {
	t.Parallel()
	good := rsaCert()
	now := func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }
	big := strings.Repeat("A", MaxCertBytes+1)
	for _, tc := range []struct {
		name    string
		respond httpmock.Responder
		now     func() time.Time
		wantErr string
	}{
		{"ok", httpmock.NewBytesResponder(200, good.pem), now, ""},
		{"404", httpmock.NewStringResponder(404, "no"), now, "http 404"},
		{"redirect not followed", func(*http.Request) (*http.Response, error) {
			r := httpmock.NewStringResponse(302, "")
			r.Header.Set("Location", "https://evil.example/x.pem")
			return r, nil
		}, now, "http 302"},
		{"declared too large", func(*http.Request) (*http.Response, error) {
			r := httpmock.NewStringResponse(200, big)
			r.ContentLength = int64(len(big))
			return r, nil
		}, now, "too large"},
		{"streamed too large", func(*http.Request) (*http.Response, error) {
			r := httpmock.NewStringResponse(200, big)
			r.ContentLength = -1
			return r, nil
		}, now, "exceeds"},
		{"not PEM", httpmock.NewStringResponder(200, "<html>hello</html>"), now, "no PEM certificate"},
		{"PEM of another type", httpmock.NewBytesResponder(200, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}})), now, "no PEM certificate"},
		{"garbage certificate", httpmock.NewBytesResponder(200, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})), now, "x509"},
		{"expired", httpmock.NewBytesResponder(200, good.pem), func() time.Time { return time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC) }, "not valid at"},
		{"not yet valid", httpmock.NewBytesResponder(200, good.pem), func() time.Time { return time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC) }, "not valid at"},
		{"transport error", httpmock.NewErrorResponder(errors.New("dial refused")), now, "dial refused"},
	} {
		client, mt := mockClient(t)
		mt.RegisterResponder(http.MethodGet, certURL, tc.respond)
		mt.RegisterResponder(http.MethodGet, "https://evil.example/x.pem", httpmock.NewBytesResponder(200, good.pem))
		cert, err := HTTPFetcher(client, tc.now)(context.Background(), certURL)
		switch {
		case tc.wantErr == "" && (err != nil || cert == nil || !cert.Equal(good.cert)):
			t.Errorf("%s: cert %v err %v", tc.name, cert != nil, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantErr)
		}
		if n := mt.GetCallCountInfo()["GET https://evil.example/x.pem"]; n != 0 {
			t.Errorf("%s: followed a redirect", tc.name)
		}
	}
	if _, err := HTTPFetcher(http.DefaultClient, now)(context.Background(), "://bad"); err == nil {
		t.Error("bad URL accepted")
	}
}

func TestNoRedirectsCopiesTheClient(t *testing.T) {
	t.Parallel()
	orig := &http.Client{Timeout: time.Minute}
	c := NoRedirects(orig)
	if c == orig || c.Timeout != time.Minute || c.CheckRedirect == nil || orig.CheckRedirect != nil {
		t.Fatal("NoRedirects must copy the client and leave the original alone")
	}
	if NoRedirects(nil).CheckRedirect == nil {
		t.Fatal("NoRedirects(nil) follows redirects")
	}
}

func TestConfirm(t *testing.T) {
	t.Parallel()
	const sub = "https://sns.ap-southeast-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=t&Token=x"
	for status, wantErr := range map[int]bool{200: false, 403: true, 302: true} {
		client, mt := mockClient(t)
		mt.RegisterResponder(http.MethodGet, sub, func(*http.Request) (*http.Response, error) {
			r := httpmock.NewStringResponse(status, "<ConfirmSubscriptionResponse/>")
			r.Header.Set("Location", "https://evil.example/")
			return r, nil
		})
		err := Confirm(context.Background(), client, sub, time.Second)
		if (err != nil) != wantErr {
			t.Errorf("status %d: err = %v", status, err)
		}
		if mt.GetTotalCallCount() != 1 {
			t.Errorf("status %d: %d requests", status, mt.GetTotalCallCount())
		}
	}
	client, mt := mockClient(t)
	mt.RegisterResponder(http.MethodGet, sub, httpmock.NewErrorResponder(errors.New("reset")))
	if err := Confirm(context.Background(), client, sub, time.Second); err == nil {
		t.Error("transport error ignored")
	}
	if err := Confirm(context.Background(), client, "://x", time.Second); err == nil {
		t.Error("bad URL accepted")
	}
}
