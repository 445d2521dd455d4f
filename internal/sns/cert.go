package sns

import (
	"container/list"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// FetchFunc returns the certificate published at certURL. It is called only
// with URLs that passed CheckCertURL.
type FetchFunc func(ctx context.Context, certURL string) (*x509.Certificate, error)

// Limits of the default fetcher.
const (
	// MaxCertBytes caps a certificate download. SNS certificates are about
	// 2 KiB of PEM.
	MaxCertBytes = 16 << 10
	// FetchTimeout bounds one certificate download, whoever asked for it.
	FetchTimeout = 5 * time.Second
)

// NoRedirects returns a copy of client (nil: a new one) that never follows
// a redirect: a redirect could lead away from the host that was checked.
func NoRedirects(client *http.Client) *http.Client {
	c := &http.Client{}
	if client != nil {
		*c = *client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// HTTPFetcher returns the default FetchFunc: a GET through client (which
// must refuse redirects, see NoRedirects), answered 200, a body of at most
// MaxCertBytes holding a PEM certificate with an RSA key that is valid at
// now().
func HTTPFetcher(client *http.Client, now func() time.Time) FetchFunc {
	return func(ctx context.Context, certURL string) (*x509.Certificate, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, certURL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: http %d", certURL, resp.StatusCode)
		}
		if resp.ContentLength > MaxCertBytes {
			return nil, fmt.Errorf("GET %s: %d bytes is too large for a certificate", certURL, resp.ContentLength)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxCertBytes+1))
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", certURL, err)
		}
		if len(body) > MaxCertBytes {
			return nil, fmt.Errorf("GET %s: body exceeds %d bytes", certURL, MaxCertBytes)
		}
		cert, err := ParseCertificatePEM(body)
		if err != nil {
			return nil, err
		}
		if t := now(); t.Before(cert.NotBefore) || t.After(cert.NotAfter) {
			return nil, fmt.Errorf("certificate at %s is not valid at %s (valid %s to %s)",
				certURL, t.UTC().Format(time.RFC3339), cert.NotBefore.UTC().Format(time.RFC3339),
				cert.NotAfter.UTC().Format(time.RFC3339))
		}
		return cert, nil
	}
}

// ParseCertificatePEM decodes the first PEM CERTIFICATE block of data and
// requires an RSA public key.
func ParseCertificatePEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate found")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, errors.New("certificate key is not RSA")
	}
	return cert, nil
}

// DefaultCacheSize is the number of certificates a CertCache keeps. SNS
// signs with one certificate per region at a time and rotates rarely.
const DefaultCacheSize = 32

// Limits on fetching, so that forged messages cost little. Every unsigned
// body that names a well-formed certificate URL would otherwise make the
// verifier download something: 100 forged posts, 100 downloads of up to
// FetchTimeout each.
const (
	// FetchBurst and FetchInterval are the token bucket of downloads, for
	// the whole cache: at most FetchBurst at once, then one more per
	// FetchInterval. A verifier needs one certificate per region and
	// message kind (notifications and confirmations may be signed with
	// different ones), fetched once, and a new one when SNS rotates them,
	// which happens a few times a year. A cached certificate is never
	// limited: under a flood of forged URLs, messages signed with a known
	// certificate still verify.
	FetchBurst    = 5
	FetchInterval = 10 * time.Second
	// FailureTTL is how long a failed download is remembered: requests for
	// that URL fail at once in the meantime, without a download. It is
	// shorter than SNS's retry interval (20 s by default), so that a genuine
	// message whose certificate could not be fetched (an AWS hiccup, or the
	// rate limit) verifies when SNS delivers it again.
	FailureTTL = 10 * time.Second
	// maxFailures bounds the remembered failures; the rate limit keeps their
	// number far lower (FetchBurst + FailureTTL/FetchInterval).
	maxFailures = 256
)

// errRateLimited is the cause when a download was refused by the limit.
var errRateLimited = errors.New("too many certificate downloads; not fetched (the message may be retried)")

// CertCache maps certificate URLs to RSA keys. It is bounded (least
// recently used out), fetches each URL once however many requests ask for
// it at the same time, remembers a failure for FailureTTL, and downloads at
// most FetchBurst certificates at once and one per FetchInterval after
// that. Its methods are safe for concurrent use.
type CertCache struct {
	fetch   FetchFunc
	max     int
	timeout time.Duration
	// The limits, in fields so that tests can set them and the clock.
	burst   int
	every   time.Duration
	failTTL time.Duration
	now     func() time.Time

	mu       sync.Mutex
	entries  map[string]*list.Element // of *cacheEntry
	lru      list.List                // front: most recently used
	failures map[string]failure
	tat      time.Time // token bucket as GCRA: theoretical arrival time of the next download
	group    singleflight.Group
}

type cacheEntry struct {
	url string
	key *rsa.PublicKey
}

type failure struct {
	until time.Time
	err   error
}

// NewCertCache returns a cache of at most max entries (DefaultCacheSize when
// max <= 0) that loads keys with fetch, each load bounded by timeout
// (FetchTimeout when timeout <= 0), with the limits FetchBurst,
// FetchInterval and FailureTTL.
func NewCertCache(fetch FetchFunc, max int, timeout time.Duration) *CertCache {
	if max <= 0 {
		max = DefaultCacheSize
	}
	if timeout <= 0 {
		timeout = FetchTimeout
	}
	return &CertCache{
		fetch: fetch, max: max, timeout: timeout,
		burst: FetchBurst, every: FetchInterval, failTTL: FailureTTL, now: time.Now,
		entries: make(map[string]*list.Element), failures: make(map[string]failure),
	}
}

// Len returns the number of cached certificates.
func (c *CertCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Key returns the RSA key of the certificate at certURL, fetching it on a
// miss. The caller must have checked certURL with CheckCertURL. Errors wrap
// ErrCertFetch. The fetch runs with its own timeout and is not cancelled by
// ctx (other requests may be waiting for it); ctx only stops the wait.
func (c *CertCache) Key(ctx context.Context, certURL string) (*rsa.PublicKey, error) {
	if key := c.cached(certURL); key != nil {
		return key, nil
	}
	ch := c.group.DoChan(certURL, func() (any, error) {
		// A flight that ended between the lookup above and this one has
		// cached the key: look again rather than fetch a second time.
		if key := c.cached(certURL); key != nil {
			return key, nil
		}
		if err := c.admit(certURL); err != nil {
			return nil, err
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		key, err := c.load(fctx, certURL)
		if err != nil {
			c.fail(certURL, err)
			return nil, err
		}
		c.add(certURL, key)
		return key, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, fmt.Errorf("%w: %.200s: %w", ErrCertFetch, certURL, res.Err)
		}
		return res.Val.(*rsa.PublicKey), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %.200s: %w", ErrCertFetch, certURL, context.Cause(ctx))
	}
}

// load fetches the certificate at certURL and returns its RSA key.
func (c *CertCache) load(ctx context.Context, certURL string) (*rsa.PublicKey, error) {
	cert, err := c.fetch(ctx, certURL)
	if err != nil {
		return nil, err
	}
	if cert == nil {
		return nil, errors.New("fetcher returned no certificate")
	}
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("certificate key is not RSA")
	}
	return key, nil
}

// admit decides whether certURL may be downloaded now: not while a recent
// failure of it is remembered, and not beyond the token bucket.
func (c *CertCache) admit(certURL string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if f, ok := c.failures[certURL]; ok {
		if now.Before(f.until) {
			return fmt.Errorf("failed %s ago, not fetched again before %s: %w",
				now.Sub(f.until.Add(-c.failTTL)).Round(time.Millisecond), f.until.UTC().Format(time.RFC3339), f.err)
		}
		delete(c.failures, certURL)
	}
	// GCRA: tat is when the bucket would be full again; a download is
	// allowed while tat is at most (burst-1) intervals ahead of now.
	tat := c.tat
	if tat.Before(now) {
		tat = now
	}
	if tat.Sub(now) > time.Duration(c.burst-1)*c.every {
		return errRateLimited
	}
	c.tat = tat.Add(c.every)
	return nil
}

// fail remembers a failed download of certURL for failTTL.
func (c *CertCache) fail(certURL string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.failures) >= maxFailures {
		for u, f := range c.failures {
			if !now.Before(f.until) || len(c.failures) >= maxFailures {
				delete(c.failures, u)
			}
		}
	}
	c.failures[certURL] = failure{until: now.Add(c.failTTL), err: err}
}

// cached returns the cached key of certURL, or nil.
func (c *CertCache) cached(certURL string) *rsa.PublicKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[certURL]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*cacheEntry).key
	}
	return nil
}

func (c *CertCache) add(certURL string, key *rsa.PublicKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.failures, certURL)
	if el, ok := c.entries[certURL]; ok {
		el.Value.(*cacheEntry).key = key
		c.lru.MoveToFront(el)
		return
	}
	c.entries[certURL] = c.lru.PushFront(&cacheEntry{url: certURL, key: key})
	for len(c.entries) > c.max {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).url)
	}
}

// Confirm visits a SubscribeURL (already checked with CheckSubscribeURL)
// with a GET through client, within timeout, reading at most 64 KiB of the
// answer, and requires a 200.
func Confirm(ctx context.Context, client *http.Client, subscribeURL string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, subscribeURL, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("confirming subscription: http %d", resp.StatusCode)
	}
	return nil
}
