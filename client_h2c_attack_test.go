package bkash_test

// The money rule through the public API over unencrypted HTTP/2 (h2c), which
// the TLS tests in client_h2_test.go do not reach: net/http's own h2c
// (Transport.Protocols) and x/net's http2.Transport with AllowHTTP, each
// running its own retry loop. Many money calls share one connection; the
// server refuses the first copy of every request after reading it whole.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	bkash "github.com/smartdairy/bkash-go"
)

// h2cServer is a bKash over h2c on x/net's Framer. It counts the money
// requests it read whole by paymentID, refuses the first copy of each
// (mode), and answers a repeat as bKash answers a call it processed.
type h2cServer struct {
	ln   net.Listener
	url  string
	mode h2ResetMode

	mu       sync.Mutex
	received map[string]int
	wg       sync.WaitGroup
}

func newH2CServer(t *testing.T, mode h2ResetMode) *h2cServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &h2cServer{ln: ln, url: "http://" + ln.Addr().String(), mode: mode, received: map[string]int{}}
	s.wg.Go(func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			s.wg.Go(func() { s.serveConn(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *h2cServer) serveConn(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if fr.WriteSettings() != nil {
		return
	}
	type stream struct {
		path string
		body bytes.Buffer
	}
	streams := map[uint32]*stream{}
	gone := uint32(1<<31 - 1) // streams above were refused by a GOAWAY
	complete := func(id uint32, st *stream) error {
		if strings.HasSuffix(st.path, "/token/grant") {
			return h2Answer(fr, id, h2GrantAnswer)
		}
		var in struct{ PaymentID string }
		_ = json.Unmarshal(st.body.Bytes(), &in)
		s.mu.Lock()
		s.received[in.PaymentID]++
		n := s.received[in.PaymentID]
		s.mu.Unlock()
		if id > gone {
			return nil // refused by the GOAWAY: no answer
		}
		if n > 1 {
			return h2Answer(fr, id, strings.ReplaceAll(h2MoneyAnswer, "TR0011h2", in.PaymentID))
		}
		switch s.mode {
		case h2RefusedStream:
			return fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
		case h2ProtocolError:
			return fr.WriteRSTStream(id, http2.ErrCodeProtocol)
		}
		// GOAWAY naming the stream before this one: this one and every
		// later one on the connection "were not processed".
		gone = 0
		if id > 2 {
			gone = id - 2
		}
		return fr.WriteGoAway(gone, http2.ErrCodeNo, nil)
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() && fr.WriteSettingsAck() != nil {
				return
			}
		case *http2.PingFrame:
			if !f.IsAck() && fr.WritePing(true, f.Data) != nil {
				return
			}
		case *http2.MetaHeadersFrame:
			st := &stream{path: f.PseudoValue("path")}
			streams[f.StreamID] = st
			if f.StreamEnded() && complete(f.StreamID, st) != nil {
				return
			}
		case *http2.DataFrame:
			if st := streams[f.StreamID]; st != nil {
				st.body.Write(f.Data())
				if f.StreamEnded() && complete(f.StreamID, st) != nil {
					return
				}
			}
		}
	}
}

func (s *h2cServer) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received[id]
}

// TestH2CResetNeverResendsConcurrentMoney: 16 concurrent executes over one
// h2c connection, each refused after the server read it (REFUSED_STREAM,
// PROTOCOL_ERROR). Every paymentID reaches the server whole once, and
// every call ends in an *OutcomeUnknownError. Under GOAWAY below the first
// stream read, every paymentID reaches the server at most once; a call
// that reached it is answered or ends in an *OutcomeUnknownError, never in
// "not sent". Run with -race.
func TestH2CResetNeverResendsConcurrentMoney(t *testing.T) {
	t.Parallel()
	transports := []struct {
		name string
		make func() (http.RoundTripper, func())
	}{
		{"net/http Protocols h2c", func() (http.RoundTripper, func()) {
			nt := &http.Transport{Protocols: new(http.Protocols)}
			nt.Protocols.SetUnencryptedHTTP2(true)
			return nt, nt.CloseIdleConnections
		}},
		{"x/net http2.Transport AllowHTTP", func() (http.RoundTripper, func()) {
			//lint:ignore SA1019 x/net's HTTP/2 is deprecated, but callers' transports are still built with it
			t2 := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}
			return t2, t2.CloseIdleConnections
		}},
	}
	for _, mode := range []h2ResetMode{h2RefusedStream, h2ProtocolError, h2GoAway} {
		for _, tc := range transports {
			t.Run(mode.String()+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := newH2CServer(t, mode)
				rt, closeIdle := tc.make()
				defer closeIdle()
				c, err := bkash.NewClient(bkash.Sandbox, h2Creds, bkash.WithBaseURL(s.url),
					bkash.WithHTTPClient(&http.Client{Transport: rt, Timeout: 10 * time.Second}),
					bkash.WithRetryPolicy(fastRetries))
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				if _, err := c.Token(ctx); err != nil { // one connection, warm
					t.Fatal(err)
				}
				const n = 16
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						_, errs[i] = c.Payments.Execute(ctx, fmt.Sprintf("TR0011H2C%02d", i))
					})
				}
				wg.Wait()
				for i, err := range errs {
					id := fmt.Sprintf("TR0011H2C%02d", i)
					got := s.count(id)
					if mode != h2GoAway {
						// Each request was read whole, then refused.
						if got != 1 {
							t.Errorf("%s reached the server %d times, want exactly 1 (err %v)", id, got, err)
						}
						wantUnknown(t, id, err)
						continue
					}
					// GOAWAY also refuses streams whose body the client read
					// but had not written yet: they may never arrive.
					switch {
					case got > 1:
						t.Errorf("%s reached the server %d times, want at most 1 (err %v)", id, got, err)
					case err == nil && got != 1:
						t.Errorf("%s succeeded, but reached the server %d times", id, got)
					case err != nil && got == 1:
						wantUnknown(t, id, err)
					}
				}
			})
		}
	}
}
