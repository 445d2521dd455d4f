package redisstore

import (
	"context"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// unknownPayment is a payment ID the fake never issued: querying it answers
// 2002 once the token is accepted, which is all these tests need.
const unknownPayment = "TR0011NOSUCHPAYMENT1700000000000"

func TestEncryptedTokenIsSharedBetweenClients(t *testing.T) {
	t.Parallel()
	aead := newAEAD(t)
	tests := []struct {
		name     string
		storeEnc cipher.AEAD // redisstore.WithEncryption
		sdkEnc   cipher.AEAD // bkash.WithTokenEncryption
	}{
		{"store encrypts", aead, nil},
		{"SDK encrypts", nil, aead},
		{"both (works, needlessly)", aead, aead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := bkashtest.NewServer()
			defer srv.Close()
			rdb := testClient(t)
			prefix := testPrefix(t, rdb)
			newClient := func() *bkash.Client {
				opts := []Option{WithKeyPrefix(prefix)}
				if tt.storeEnc != nil {
					opts = append(opts, WithEncryption(tt.storeEnc))
				}
				store, err := New(testClient(t), opts...)
				if err != nil {
					t.Fatal(err)
				}
				copts := []bkash.Option{bkash.WithBaseURL(srv.URL), bkash.WithTokenStore(store)}
				if tt.sdkEnc != nil {
					copts = append(copts, bkash.WithTokenEncryption(tt.sdkEnc))
				}
				c, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), copts...)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			ctx := context.Background()
			for i, c := range []*bkash.Client{newClient(), newClient()} {
				if err := queryUnknown(ctx, c); err != nil {
					t.Fatalf("client %d: %v", i, err)
				}
			}
			if g := srv.Grants(); g != 1 {
				t.Errorf("grants = %d, want 1: the second client did not use the stored token", g)
			}
			raw, err := rdb.Get(ctx, prefix+"token:sandbox:"+tokenHash(t, srv)).Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(raw), "id_token") {
				t.Errorf("the blob in Redis is readable: %.40q...", raw)
			}
		})
	}
}

// tokenHash is the <hash> part of the SDK's store key for srv's credentials.
func tokenHash(t *testing.T, srv *bkashtest.Server) string {
	t.Helper()
	c := srv.Credentials()
	sum := sha256.Sum256([]byte(c.AppKey + "|" + c.Username))
	return hex.EncodeToString(sum[:8])
}

func TestClientWorksWithoutRedisAndSaysSo(t *testing.T) {
	t.Parallel()
	srv := bkashtest.NewServer()
	defer srv.Close()
	store, err := New(closedPortClient(t))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	client := newLoggedClient(t, srv, store, logs)
	ctx := context.Background()

	for i := range 5 {
		if err := queryUnknown(ctx, client); err != nil {
			t.Fatalf("query %d with Redis down: %v\nlog:\n%s", i, err, logs)
		}
	}
	if g := srv.Grants(); g != 1 {
		t.Errorf("grants = %d, want 1 (the in-process token serves every call)", g)
	}
	for _, want := range []string{"bkash token store load failed", "bkash token lock failed; renewing without it",
		"bkash token store save failed", "redisstore: load ", "connection refused"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	logStoreLines(t, logs)
}

func TestClientKeepsItsTokenWhenRedisGoesAway(t *testing.T) {
	t.Parallel()
	const lifetime = 3 * time.Second // the SDK renews a short-lived token at half its life
	srv := bkashtest.NewServer(bkashtest.WithTokenLifetime(lifetime))
	defer srv.Close()
	direct := testClient(t)
	prefix := testPrefix(t, direct)
	proxy := startProxy(t, redisAddr())
	rdb := redis.NewClient(&redis.Options{Addr: proxy.addr(), MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	store, err := New(rdb, WithKeyPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	client := newLoggedClient(t, srv, store, logs)
	ctx := context.Background()

	// Redis up: the grant is shared through it.
	if err := queryUnknown(ctx, client); err != nil {
		t.Fatal(err)
	}
	granted := time.Now()
	keys, err := direct.Keys(ctx, prefix+"token:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("token keys in Redis = %q (%v), want one", keys, err)
	}

	// Redis goes away: the in-process token keeps serving, nothing is granted.
	proxy.close()
	for i := range 10 {
		if err := queryUnknown(ctx, client); err != nil {
			t.Fatalf("query %d after Redis went away: %v\nlog:\n%s", i, err, logs)
		}
	}
	if strings.Contains(logs.String(), "store load failed") {
		t.Errorf("the store was consulted while the in-process token was fresh:\n%s", logs)
	}

	// The token comes due while Redis is still away: the client renews it
	// by itself (a refresh, not a grant), logs why, and keeps working.
	time.Sleep(time.Until(granted.Add(lifetime/2 + 200*time.Millisecond)))
	for i := range 3 {
		if err := queryUnknown(ctx, client); err != nil {
			t.Fatalf("query %d after renewal came due without Redis: %v\nlog:\n%s", i, err, logs)
		}
	}
	if g, r := srv.Grants(), srv.Applied("token.refresh"); g != 1 || r != 1 {
		t.Errorf("grants, refreshes = %d, %d; want 1, 1", g, r)
	}
	for _, want := range []string{"bkash token store load failed", "bkash token store save failed", "kind=refresh"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	logStoreLines(t, logs)
}

func newLoggedClient(t *testing.T, srv *bkashtest.Server, store *Store, logs io.Writer) *bkash.Client {
	t.Helper()
	client, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(),
		bkash.WithBaseURL(srv.URL), bkash.WithTokenStore(store),
		bkash.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// queryUnknown queries a payment the fake never issued: 2002 means the call
// reached bKash with a valid token.
func queryUnknown(ctx context.Context, c *bkash.Client) error {
	_, err := c.Payments.Query(ctx, unknownPayment)
	var ae *bkash.APIError
	if errors.As(err, &ae) && ae.Code == bkash.CodeInvalidPaymentID {
		return nil
	}
	return fmt.Errorf("query answered %v, want code 2002", err)
}

// logStoreLines shows the token manager's lines about the store.
func logStoreLines(t *testing.T, logs *syncBuffer) {
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "bkash token") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

// proxy is a loopback TCP proxy to Redis that the test can cut, as a network
// partition or a Redis outage would.
type proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	closed bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", target, 2*time.Second)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				_, _ = c.Close(), up.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Go(func() { _, _ = io.Copy(up, c); _ = up.Close() })
			p.wg.Go(func() { _, _ = io.Copy(c, up); _ = c.Close() })
		}
	})
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// close refuses new connections and cuts the open ones.
func (p *proxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
