package redisstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	bkash "github.com/smartdairy/bkash-go"
)

// recorder is a go-redis hook that records commands instead of sending them.
type recorder struct {
	mu   sync.Mutex
	sent []string
}

func (r *recorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *recorder) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(_ context.Context, cmd redis.Cmder) error {
		r.mu.Lock()
		r.sent = append(r.sent, cmd.String())
		r.mu.Unlock()
		cmd.SetErr(errors.New("recording client: not sent"))
		return cmd.Err()
	}
}

func (r *recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// recordingClient returns a client that never reaches a server, and the list
// of commands it was asked to send.
func recordingClient(t testing.TB) (*redis.Client, *[]string) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	r := &recorder{}
	rdb.AddHook(r)
	return rdb, &r.sent
}

// closedPortClient returns a client for a loopback port nothing listens on.
func closedPortClient(t testing.TB) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestRedisErrorsAreReturnedWithContext(t *testing.T) {
	t.Parallel()
	s, err := New(closedPortClient(t), WithKeyPrefix("app1:"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const key = "bkash:token:sandbox:0123456789abcdef"
	_, loadErr := s.Load(ctx, key)
	saveErr := s.Save(ctx, key, []byte(blob), time.Minute)
	unlock, lockErr := s.Lock(ctx, key, time.Minute)
	if unlock != nil {
		t.Error("Lock returned an unlock function along with an error")
	}
	claimed, claimErr := s.Claim(ctx, "msg-1", time.Minute)
	if claimed {
		t.Error("Claim reported true while Redis is unreachable")
	}
	releaseErr := s.Release(ctx, "msg-1")

	tests := []struct {
		name string
		err  error
		want string
	}{
		{"Load", loadErr, "redisstore: load app1:token:sandbox:0123456789abcdef: "},
		{"Save", saveErr, "redisstore: save app1:token:sandbox:0123456789abcdef: "},
		{"Lock", lockErr, "redisstore: lock app1:lock:sandbox:0123456789abcdef: "},
		{"Claim", claimErr, "redisstore: claim app1:webhook:msg-1: "},
		{"Release", releaseErr, "redisstore: release app1:webhook:msg-1: "},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: nil error from an unreachable Redis", tt.name)
			continue
		}
		msg := tt.err.Error()
		if !strings.HasPrefix(msg, tt.want) {
			t.Errorf("%s: error %q, want it to start with %q", tt.name, msg, tt.want)
		}
		if strings.Contains(msg, "secret") {
			t.Errorf("%s: error %q carries the blob", tt.name, msg)
		}
		var opErr *net.OpError
		if !errors.As(tt.err, &opErr) {
			t.Errorf("%s: error %q does not wrap the *net.OpError", tt.name, msg)
		}
		if errors.Is(tt.err, bkash.ErrLockNotAcquired) {
			t.Errorf("%s: a Redis failure must not look like a held lock", tt.name)
		}
	}
}

func TestWithTimeoutBoundsAHungServer(t *testing.T) {
	t.Parallel()
	// A server that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), MaxRetries: -1,
		ReadTimeout: 10 * time.Second, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	s, err := New(rdb, WithTimeout(150*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Load(context.Background(), "bkash:token:sandbox:00")
	took := time.Since(start)
	if err == nil {
		t.Fatal("Load from a server that never answers: nil error")
	}
	if took > 2*time.Second {
		t.Errorf("Load took %v with WithTimeout(150ms), want it bounded", took)
	}
	if !strings.HasPrefix(err.Error(), "redisstore: load ") {
		t.Errorf("error %q lacks the operation context", err)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	rdb, _ := recordingClient(t)
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	shortNonce, err := cipher.NewGCMWithNonceSize(block, 8)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		rdb     redis.UniversalClient
		opts    []Option
		wantErr string // "" for success
	}{
		{"defaults", rdb, nil, ""},
		{"all options", rdb, []Option{WithKeyPrefix("shop:"), WithEncryption(gcm), WithTimeout(time.Second)}, ""},
		{"empty prefix", rdb, []Option{WithKeyPrefix("")}, ""},
		{"nil client", nil, nil, "nil redis client"},
		{"nil option", rdb, []Option{nil}, "nil Option"},
		{"prefix with space", rdb, []Option{WithKeyPrefix("my shop:")}, "white space"},
		{"nil AEAD", rdb, []Option{WithEncryption(nil)}, "nil cipher.AEAD"},
		{"AEAD with an 8-byte nonce", rdb, []Option{WithEncryption(shortNonce)}, "nonce size 8"},
		{"negative timeout", rdb, []Option{WithTimeout(-time.Second)}, "negative duration"},
	}
	for _, tt := range tests {
		s, err := New(tt.rdb, tt.opts...)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: New: %v", tt.name, err)
		case tt.wantErr == "" && s == nil:
			t.Errorf("%s: New returned a nil Store", tt.name)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: New error = %v, want one containing %q", tt.name, err, tt.wantErr)
		case tt.wantErr != "" && s != nil:
			t.Errorf("%s: New returned a Store along with an error", tt.name)
		}
	}
	s, err := New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	if s.prefix != DefaultKeyPrefix {
		t.Errorf("default prefix %q, want %q", s.prefix, DefaultKeyPrefix)
	}
}
