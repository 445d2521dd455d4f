// Tests of client.go over HTTP/2, with the server they need: a money call
// whose stream is reset is never re-sent, whichever transport carries it.
// The HTTP/1.1 counterpart, TestHTTP1ClosedAfterBodyNeverResendsMoney, is
// in client_integration_test.go. Also here: an *http.Transport that hands
// its requests to another RoundTripper (one registered for the scheme, one
// made by TLSNextProto), which reports nothing through httptrace.

package bkash_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	bkash "github.com/smartdairy/bkash-go"
)

// These tests put a real HTTP/2 server (TLS, ALPN h2) under the SDK that
// reads a money call's request to its end, counts it, and then refuses to
// answer in one of the three ways after which Go's HTTP/2 client would
// re-send a request by itself if it could rewind the body: RST_STREAM with
// REFUSED_STREAM, RST_STREAM with PROTOCOL_ERROR, or GOAWAY naming a last
// stream below the request's. A second copy of the request is answered with
// success, as bKash would answer a repeat it processed. The SDK must let
// nothing re-send the request: the server receives it exactly once and the
// caller gets an *OutcomeUnknownError.

type h2ResetMode int

const (
	h2RefusedStream h2ResetMode = iota
	h2ProtocolError
	h2GoAway
)

func (m h2ResetMode) String() string {
	return [...]string{"RST_STREAM REFUSED_STREAM", "RST_STREAM PROTOCOL_ERROR", "GOAWAY below the stream"}[m]
}

// h2Server is a minimal HTTP/2 server on x/net's Framer.
type h2Server struct {
	t    *testing.T
	ln   net.Listener
	url  string
	pool *x509.CertPool
	mode h2ResetMode
	// resetGrants is how many token grants, read to their end, are reset
	// with mode before one is answered (0: every grant is answered).
	resetGrants int

	mu       sync.Mutex
	received map[string]int // path -> requests read to their end (grant excluded)
	grants   int            // token grants read to their end
	wg       sync.WaitGroup
}

func newH2Server(t *testing.T, mode h2ResetMode) *h2Server {
	t.Helper()
	cert, pool := h2TestCert(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2"},
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &h2Server{t: t, ln: ln, url: "https://" + ln.Addr().String(), pool: pool, mode: mode, received: map[string]int{}}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *h2Server) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received[path]
}

func (s *h2Server) serve() {
	defer s.wg.Done()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		conns = append(conns, c)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.serveConn(c)
		}()
	}
}

type h2Stream struct {
	path string
	body bytes.Buffer
}

func (s *h2Server) serveConn(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(20 * time.Second)) // every test ends by itself
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		return
	}
	streams := map[uint32]*h2Stream{}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if fr.WriteSettingsAck() != nil {
					return
				}
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				if fr.WritePing(true, f.Data) != nil {
					return
				}
			}
		case *http2.MetaHeadersFrame:
			st := &h2Stream{path: f.PseudoValue("path")}
			streams[f.StreamID] = st
			if f.StreamEnded() && s.complete(fr, f.StreamID, st) != nil {
				return
			}
		case *http2.DataFrame:
			st := streams[f.StreamID]
			if st == nil {
				continue
			}
			st.body.Write(f.Data())
			if f.StreamEnded() && s.complete(fr, f.StreamID, st) != nil {
				return
			}
		}
	}
}

// complete handles a request read to its end.
func (s *h2Server) complete(fr *http2.Framer, id uint32, st *h2Stream) error {
	if strings.HasSuffix(st.path, "/token/grant") {
		s.mu.Lock()
		s.grants++
		n := s.grants
		s.mu.Unlock()
		if n > s.resetGrants {
			return h2Answer(fr, id, h2GrantAnswer)
		}
		return s.reset(fr, id)
	}
	s.mu.Lock()
	s.received[st.path]++
	n := s.received[st.path]
	s.mu.Unlock()
	if n > 1 {
		// A re-sent copy: answer it as bKash answers a call it processed.
		return h2Answer(fr, id, h2MoneyAnswer)
	}
	return s.reset(fr, id)
}

// reset refuses to answer stream id in the server's mode.
func (s *h2Server) reset(fr *http2.Framer, id uint32) error {
	switch s.mode {
	case h2RefusedStream:
		return fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
	case h2ProtocolError:
		return fr.WriteRSTStream(id, http2.ErrCodeProtocol)
	default:
		last := uint32(0)
		if id > 2 {
			last = id - 2 // the stream before this one: this one "was not processed"
		}
		return fr.WriteGoAway(last, http2.ErrCodeNo, nil)
	}
}

// The test servers' answers: to a token grant, and to a repeated money call
// (bKash's answer to a call it processed, fit for every money call).
const (
	h2GrantAnswer = `{"statusCode":"0000","statusMessage":"Successful","id_token":"h2-token","token_type":"Bearer","expires_in":3600,"refresh_token":"h2-refresh"}`
	h2MoneyAnswer = `{"statusCode":"0000","statusMessage":"Successful","paymentID":"TR0011h2","trxID":"TRX000H2","agreementID":"AG0011h2","transactionStatus":"Completed","agreementStatus":"Completed","originalTrxID":"TRX000H2","refundTrxID":"RFD000H2","amount":"10.00","currency":"BDT","charge":"0.00","refundAmount":"10.00","completedTime":"2025-05-18T20:49:12:377 GMT+0600"}`
)

func h2Answer(fr *http2.Framer, id uint32, body string) error {
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, hf := range []hpack.HeaderField{
		{Name: ":status", Value: "200"},
		{Name: "content-type", Value: "application/json"},
		{Name: "content-length", Value: strconv.Itoa(len(body))},
	} {
		if err := enc.WriteField(hf); err != nil {
			return err
		}
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
		return err
	}
	return fr.WriteData(id, true, []byte(body))
}

// h2TestCert is a fresh self-signed certificate for 127.0.0.1.
func h2TestCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "h2 test bKash"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// wrappingRT is a caller's RoundTripper around an *http.Transport (a
// metrics or tracing wrapper), which hides net/http's transport from the SDK.
type wrappingRT struct{ rt http.RoundTripper }

func (w wrappingRT) RoundTrip(r *http.Request) (*http.Response, error) { return w.rt.RoundTrip(r) }

var h2Creds = bkash.Credentials{Username: "h2user", Password: "h2pass", AppKey: "h2key", AppSecret: "h2secret"}

// h2MoneyCalls are the calls that move money, with the path each posts to.
var h2MoneyCalls = []struct {
	name string
	path string
	v2   bool
	call func(ctx context.Context, c *bkash.Client) error
}{
	{"payment.execute", "/v1.2.0-beta/tokenized/checkout/execute", false, func(ctx context.Context, c *bkash.Client) error {
		_, err := c.Payments.Execute(ctx, "TR0011h2")
		return err
	}},
	{"payment.capture", "/v1.2.0-beta/tokenized/checkout/payment/confirm/capture", false, func(ctx context.Context, c *bkash.Client) error {
		_, err := c.Payments.Capture(ctx, "TR0011h2")
		return err
	}},
	{"payment.void", "/v1.2.0-beta/tokenized/checkout/payment/confirm/void", false, func(ctx context.Context, c *bkash.Client) error {
		_, err := c.Payments.Void(ctx, "TR0011h2")
		return err
	}},
	{"refund.create v1", "/v1.2.0-beta/tokenized/checkout/payment/refund", false, func(ctx context.Context, c *bkash.Client) error {
		_, err := c.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: "TR0011h2", TrxID: "TRX000H2", Amount: bkash.Taka(10), SKU: "SKU-1", Reason: "damaged"})
		return err
	}},
	{"refund.create v2", "/v2/tokenized-checkout/refund/payment/transaction", true, func(ctx context.Context, c *bkash.Client) error {
		_, err := c.Refunds.Create(ctx, &bkash.RefundParams{PaymentID: "TR0011h2", TrxID: "TRX000H2", Amount: bkash.Taka(10), SKU: "SKU-1", Reason: "damaged"})
		return err
	}},
	{"agreement.execute", "/v1.2.0-beta/tokenized/checkout/execute", false, func(ctx context.Context, c *bkash.Client) error {
		_, err := c.Agreements.Execute(ctx, "TR0011h2")
		return err
	}},
}

// TestHTTP2ResetNeverResendsMoney: every money call × the three reset modes
// × the three ways a caller brings its transport.
func TestHTTP2ResetNeverResendsMoney(t *testing.T) {
	clients := []struct {
		name string
		opts func(pool *x509.CertPool) []bkash.Option
		// setup runs before NewClient and returns an undo.
		setup func(pool *x509.CertPool) func()
	}{
		{
			// The client built without WithHTTPClient: the SDK's own copy of
			// http.DefaultTransport (HTTP/2 over TLS). The program's default
			// transport is swapped for one that trusts the test certificate,
			// exactly as the SDK finds it at NewClient.
			name: "default client",
			setup: func(pool *x509.CertPool) func() {
				old := http.DefaultTransport
				dt := old.(*http.Transport).Clone()
				dt.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
				http.DefaultTransport = dt
				return func() { http.DefaultTransport = old; dt.CloseIdleConnections() }
			},
		},
		{
			name: "user's *http.Transport",
			opts: func(pool *x509.CertPool) []bkash.Option {
				tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
				return []bkash.Option{bkash.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second})}
			},
		},
		{
			name: "wrapping RoundTripper",
			opts: func(pool *x509.CertPool) []bkash.Option {
				tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
				return []bkash.Option{bkash.WithHTTPClient(&http.Client{Transport: wrappingRT{tr}, Timeout: 10 * time.Second})}
			},
		},
		{
			// x/net's HTTP/2 ClientConn plugged into an *http.Transport by
			// TLSNextProto: net/http hands it the request and it reports
			// nothing through httptrace.
			name: "TLSNextProto ClientConn",
			opts: func(pool *x509.CertPool) []bkash.Option {
				return []bkash.Option{bkash.WithHTTPClient(&http.Client{Transport: tlsNextProtoTransport(pool), Timeout: 10 * time.Second})}
			},
		},
		{
			name: "x-net ConfigureTransports",
			opts: func(pool *x509.CertPool) []bkash.Option {
				tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
				//lint:ignore SA1019 x/net's HTTP/2 is deprecated, but callers' transports are still built with it
				if _, err := http2.ConfigureTransports(tr); err != nil {
					panic(err) // only when tr already has HTTP/2 configured
				}
				return []bkash.Option{bkash.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second})}
			},
		},
	}
	for _, mode := range []h2ResetMode{h2RefusedStream, h2ProtocolError, h2GoAway} {
		for _, cl := range clients {
			for _, mc := range h2MoneyCalls {
				t.Run(mode.String()+"/"+cl.name+"/"+mc.name, func(t *testing.T) {
					srv := newH2Server(t, mode)
					if cl.setup != nil {
						t.Cleanup(cl.setup(srv.pool))
					}
					opts := []bkash.Option{bkash.WithBaseURL(srv.url),
						bkash.WithRetryPolicy(bkash.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond})}
					if cl.opts != nil {
						opts = append(opts, cl.opts(srv.pool)...)
					}
					if mc.v2 {
						opts = append(opts, bkash.WithRefundAPI(bkash.RefundV2))
					}
					c, err := bkash.NewClient(bkash.Sandbox, h2Creds, opts...)
					if err != nil {
						t.Fatal(err)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
					defer cancel()
					err = mc.call(ctx, c)
					wantOnceUnknown(t, srv.count(mc.path), err)
				})
			}
		}
	}
}

// TestHTTP2ResetNeverResendsCreate: a create moves no money, but it is not
// repeated once it may have reached bKash either (a second payment for the
// invoice). After a reset of a stream whose request the server read, Go's
// HTTP/2 client re-sends a request it can rewind, PROTOCOL_ERROR included
// (golang/go#47635), although nothing says the server did not process it.
// A create carries no GetBody, so it is sent once and the caller gets an
// *OutcomeUnknownError. Before, the server got two creates after
// PROTOCOL_ERROR and the caller a success.
func TestHTTP2ResetNeverResendsCreate(t *testing.T) {
	creates := []struct {
		name string
		call func(ctx context.Context, c *bkash.Client) error
	}{
		{"payment.create", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Payments.Create(ctx, &bkash.CreatePaymentParams{Amount: bkash.Taka(10), InvoiceNumber: "INV-H2", PayerReference: "01770618575", CallbackURL: "https://shop.example.com/cb"})
			return err
		}},
		{"agreement.create", func(ctx context.Context, c *bkash.Client) error {
			_, err := c.Agreements.Create(ctx, &bkash.CreateAgreementParams{PayerReference: "01770618575", CallbackURL: "https://shop.example.com/cb"})
			return err
		}},
	}
	for _, mode := range []h2ResetMode{h2RefusedStream, h2ProtocolError, h2GoAway} {
		for _, cr := range creates {
			t.Run(mode.String()+"/"+cr.name, func(t *testing.T) {
				srv := newH2Server(t, mode)
				tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
				c := moneyClient(t, srv.url, &http.Client{Transport: tr, Timeout: 10 * time.Second}, false)
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				err := cr.call(ctx, c)
				if n := srv.count("/v1.2.0-beta/tokenized/checkout/create"); n != 1 {
					t.Errorf("server received the create %d times, want exactly 1 (err: %v)", n, err)
				}
				wantUnknown(t, cr.name, err)
			})
		}
	}
}

// TestHTTP2ResetNeverResendsAGrant: bKash allows two grant or refresh
// requests an hour, and the renewal budget counts every request the SDK
// sends. A grant the server read and then reset must not be sent again by
// net/http inside the attempt the budget counted once. With a budget of 1
// the server gets one grant, whatever the reset, and the call fails for
// want of a token. Before, a grant carried GetBody like any read, and the
// server got 4 grants after PROTOCOL_ERROR (the budget counted 1).
func TestHTTP2ResetNeverResendsAGrant(t *testing.T) {
	for _, mode := range []h2ResetMode{h2RefusedStream, h2ProtocolError, h2GoAway} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := newH2Server(t, mode)
			srv.resetGrants = 3
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
			c, err := bkash.NewClient(bkash.Sandbox, h2Creds, bkash.WithBaseURL(srv.url),
				bkash.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}),
				bkash.WithTokenRenewalBudget(1),
				bkash.WithRetryPolicy(bkash.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			_, err = c.Payments.Query(ctx, "TR0011h2")
			srv.mu.Lock()
			grants := srv.grants
			srv.mu.Unlock()
			if grants != 1 {
				t.Errorf("server read %d grants, want 1 (the budget's one; err %v)", grants, err)
			}
			if err == nil {
				t.Error("the query succeeded without a token")
			}
		})
	}
}

// An *http.Transport does not always carry a request itself: it hands it to
// the RoundTripper registered for the URL's scheme (RegisterProtocol), or
// to the one its TLSNextProto made for the protocol the server chose, and
// those report nothing through httptrace. So the SDK cannot learn from
// httptrace whether a request was sent; it learns it from the request's
// body, which every RoundTripper reads when it sends. The tests below bring
// such transports: every money call the server read and then dropped or
// refused reaches it once, and ends in an *OutcomeUnknownError.

// connPerRequestRT is HTTP/1.1 on a connection of its own per request,
// reporting nothing through httptrace: what an alternate protocol (an
// HTTP/3 client, a unix-socket or test transport) registered on an
// *http.Transport looks like.
type connPerRequestRT struct{}

func (connPerRequestRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c, err := (&net.Dialer{}).DialContext(r.Context(), "tcp", r.URL.Host)
	if err != nil {
		return nil, err
	}
	if err := r.Write(c); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), r)
	if err != nil {
		c.Close()
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{resp.Body, c}
	return resp, nil
}

// dropFirstServer is the HTTP/1.1 counterpart of h2Server: it grants
// tokens, reads every other request to its end and counts it by path, drops
// the first copy unanswered and answers a repeat as bKash answers a call it
// processed.
type dropFirstServer struct {
	mu       sync.Mutex
	received map[string]int // path -> requests read to their end (grant excluded)
}

func (s *dropFirstServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || len(body) == 0 {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if strings.HasSuffix(r.URL.Path, "/token/grant") {
		_, _ = io.WriteString(w, h2GrantAnswer)
		return
	}
	s.mu.Lock()
	s.received[r.URL.Path]++
	n := s.received[r.URL.Path]
	s.mu.Unlock()
	if n == 1 {
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
		return
	}
	_, _ = io.WriteString(w, h2MoneyAnswer)
}

func (s *dropFirstServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received[path]
}

// moneyClient is a client of the server at base through hc, retrying fast.
func moneyClient(t *testing.T, base string, hc *http.Client, v2 bool) *bkash.Client {
	t.Helper()
	opts := []bkash.Option{
		bkash.WithBaseURL(base),
		bkash.WithHTTPClient(hc),
		bkash.WithRetryPolicy(bkash.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}),
	}
	if v2 {
		opts = append(opts, bkash.WithRefundAPI(bkash.RefundV2))
	}
	c, err := bkash.NewClient(bkash.Sandbox, h2Creds, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantOnceUnknown fails unless the server received the money request once
// and the call ended in an *OutcomeUnknownError.
func wantOnceUnknown(t *testing.T, received int, err error) {
	t.Helper()
	if received != 1 {
		t.Errorf("server received the money request %d times, want exactly 1 (err: %v)", received, err)
	}
	wantUnknown(t, "money call", err)
}

// TestRegisteredProtocolNeverResendsMoney: the caller's *http.Transport
// hands "http" requests to a RoundTripper registered with RegisterProtocol.
// A money request the server read and dropped is not sent again.
func TestRegisteredProtocolNeverResendsMoney(t *testing.T) {
	t.Parallel()
	for _, mc := range h2MoneyCalls {
		t.Run(mc.name, func(t *testing.T) {
			t.Parallel()
			s := &dropFirstServer{received: map[string]int{}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			tr := &http.Transport{}
			tr.RegisterProtocol("http", connPerRequestRT{})
			c := moneyClient(t, srv.URL, &http.Client{Transport: tr, Timeout: 10 * time.Second}, mc.v2)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			err := mc.call(ctx, c)
			wantOnceUnknown(t, s.count(mc.path), err)
		})
	}
}

// failingRT fails every request.
type failingRT struct{ err error }

func (f failingRT) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }

// tlsNextProtoTransport is an *http.Transport that speaks HTTP/2 through
// x/net's http2.ClientConn, plugged in by TLSNextProto: net/http leaves
// httptrace to the alternate protocol, and ClientConn reports nothing.
func tlsNextProtoTransport(pool *x509.CertPool) *http.Transport {
	//lint:ignore SA1019 x/net's HTTP/2 is deprecated, but callers' transports are still built with it
	t2 := &http2.Transport{}
	return &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12},
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{
			"h2": func(_ string, c *tls.Conn) http.RoundTripper {
				//lint:ignore SA1019 x/net's HTTP/2 is deprecated, but callers' transports are still built with it
				cc, err := t2.NewClientConn(c)
				if err != nil {
					return failingRT{err}
				}
				return cc
			},
		},
	}
}

// h2Fake is a bKash over HTTP/2 (TLS) that grants tok-1, tok-2, ... and
// rejects the tokens in reject with the gateway's 401.
type h2Fake struct {
	srv    *httptest.Server
	grants atomic.Int32
	mu     sync.Mutex
	reject map[string]bool
	bodies map[string][]string // paymentID or invoice -> bodies received, in order
	auths  map[string][]string
	protos map[string]bool
}

func newH2Fake(t *testing.T) *h2Fake {
	f := &h2Fake{reject: map[string]bool{}, bodies: map[string][]string{}, auths: map[string][]string{}, protos: map[string]bool{}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.EnableHTTP2 = true
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *h2Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.protos[r.Proto] = true
	f.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "/token/grant") || strings.HasSuffix(r.URL.Path, "/token/refresh") {
		n := f.grants.Add(1)
		fmt.Fprintf(w, `{"statusCode":"0000","statusMessage":"Successful","id_token":"tok-%d","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-%d"}`, n, n)
		return
	}
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	key, _ := in["paymentID"].(string)
	if key == "" {
		key, _ = in["merchantInvoiceNumber"].(string)
	}
	auth := r.Header.Get("Authorization")
	f.mu.Lock()
	f.bodies[key] = append(f.bodies[key], string(body))
	f.auths[key] = append(f.auths[key], auth)
	rejected := f.reject[auth]
	f.mu.Unlock()
	if rejected {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"message":"Unauthorized"}`)
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/execute"):
		fmt.Fprintf(w, `{"statusCode":"0000","statusMessage":"Successful","paymentID":%q,"trxID":"T-%s","transactionStatus":"Completed","amount":"10.00","currency":"BDT","intent":"sale"}`, key, key)
	case strings.HasSuffix(r.URL.Path, "/create"):
		fmt.Fprintf(w, `{"statusCode":"0000","statusMessage":"Successful","paymentID":"P-%s","bkashURL":"https://sandbox.payment.bkash.com/?paymentId=P","transactionStatus":"Initiated","amount":%q,"merchantInvoiceNumber":%q,"mode":"0011"}`, key, in["amount"], key)
	default:
		fmt.Fprintf(w, `{"statusCode":"0000","statusMessage":"Successful","paymentID":%q,"transactionStatus":"Initiated","amount":"10.00"}`, key)
	}
}

func (f *h2Fake) client(t *testing.T, opts ...bkash.Option) *bkash.Client {
	hc := f.srv.Client()
	hc.Timeout = 10 * time.Second
	c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{Username: "h2-user", Password: "h2-password-9f3a", AppKey: "h2-app-key", AppSecret: "h2-app-secret-77c1"},
		append([]bkash.Option{bkash.WithBaseURL(f.srv.URL), bkash.WithHTTPClient(hc), bkash.WithRetryPolicy(fastRetries)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lastEvents keeps the last AttemptEvent of every call, by reference.
type lastEvents struct {
	mu  sync.Mutex
	req map[string]string // op + ref -> logged request
}

func (l *lastEvents) ObserveAttempt(e bkash.AttemptEvent) {
	if e.Outcome == 0 || e.Op == "token.grant" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.req[e.Op+"|"+e.Ref] = e.Request
}
func (l *lastEvents) ObserveTokenRenewal(bkash.TokenRenewalEvent) {}

func TestHTTP2ConcurrentCallsReplayAndLogTheirOwnBodies(t *testing.T) {
	t.Parallel()
	f := newH2Fake(t)
	obs := &lastEvents{req: map[string]string{}}
	c := f.client(t, bkash.WithObserver(obs), bkash.WithBodyLogging())
	ctx := context.Background()
	if _, err := c.Payments.Query(ctx, "TR0011WARM"); err != nil { // tok-1 accepted
		t.Fatal(err)
	}
	f.mu.Lock()
	f.reject["tok-1"] = true
	f.mu.Unlock()

	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			id := "TR0011G" + strconv.Itoa(i)
			p, err := c.Payments.Execute(ctx, id)
			if err != nil {
				errs <- fmt.Errorf("execute %s: %w", id, err)
			} else if p.PaymentID != id || p.TrxID != "T-"+id {
				errs <- fmt.Errorf("execute %s answered %s/%s", id, p.PaymentID, p.TrxID)
			}
		}()
		go func() {
			defer wg.Done()
			inv := "INV-" + strconv.Itoa(i)
			a := bkash.Taka(int64(100+i)) + bkash.Poisha(int64(i%100))
			p, err := c.Payments.Create(ctx, &bkash.CreatePaymentParams{Amount: a, InvoiceNumber: inv, PayerReference: fakeWallet, CallbackURL: shopCallback + "?o=" + inv + "&x=1"})
			if err != nil {
				errs <- fmt.Errorf("create %s: %w", inv, err)
			} else if p.Amount != a || p.PaymentID != "P-"+inv {
				errs <- fmt.Errorf("create %s answered %s %v, want %v", inv, p.PaymentID, p.Amount, a)
			}
		}()
	}
	wg.Wait()
	close(errs)
	stale := map[string]bool{} // calls hit by TestRejectedSupersededTokenIsReplayed
	for err := range errs {
		var ce *bkash.ConfigError
		if errors.As(err, &ce) && errors.Is(err, bkash.ErrFreshTokenRejected) {
			stale[strings.TrimSuffix(strings.Fields(err.Error())[1], ":")] = true
			continue
		}
		t.Error(err)
	}
	if len(stale) > 0 {
		t.Logf("%d calls not replayed (ErrFreshTokenRejected): the defect of TestRejectedSupersededTokenIsReplayed", len(stale))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.protos["HTTP/2.0"] || len(f.protos) != 1 {
		t.Errorf("protocols seen %v, want HTTP/2.0 only", f.protos)
	}
	if g := f.grants.Load(); g != 2 {
		t.Errorf("%d grants, want 2 (first token, one renewal after the rejection)", g)
	}
	replays := 0
	defer func() {
		if replays == 0 {
			t.Error("no call was replayed")
		}
		t.Logf("%d calls replayed after the rejection", replays)
	}()
	for i := range n {
		for _, key := range []string{"TR0011G" + strconv.Itoa(i), "INV-" + strconv.Itoa(i)} {
			bodies, auths := f.bodies[key], f.auths[key]
			// A call that started after the renewal carries tok-2 at once.
			switch {
			case len(bodies) == 1 && auths[0] == "tok-1" && stale[key]:
				continue
			case len(bodies) == 1 && auths[0] == "tok-2":
				bodies = append(bodies, bodies[0])
			case len(bodies) == 2:
				replays++
				if bodies[0] != bodies[1] {
					t.Errorf("%s: replay body differs:\n%s\n%s", key, bodies[0], bodies[1])
				}
				if auths[0] != "tok-1" || auths[1] != "tok-2" {
					t.Errorf("%s: tokens %v, want tok-1 then tok-2", key, auths)
				}
			default:
				t.Errorf("%s: %d requests with %v, want tok-2, or tok-1 then the replay with tok-2", key, len(bodies), auths)
				continue
			}
			if !strings.Contains(bodies[0], `"`+key+`"`) {
				t.Errorf("%s: body of another call: %s", key, bodies[0])
			}
			if strings.HasPrefix(key, "INV-") {
				var in struct{ Amount, CallbackURL string }
				_ = json.Unmarshal([]byte(bodies[0]), &in)
				i, _ := strconv.Atoi(strings.TrimPrefix(key, "INV-"))
				if want := (bkash.Taka(int64(100+i)) + bkash.Poisha(int64(i%100))).String(); in.Amount != want {
					t.Errorf("%s: amount %s, want %s", key, in.Amount, want)
				}
				if !strings.Contains(bodies[0], "&x=1") {
					t.Errorf("%s: callback URL not sent as is: %s", key, bodies[0])
				}
				continue
			}
			// The logged body of an execute is its body as sent (nothing in it
			// is redacted or masked).
			obs.mu.Lock()
			logged := obs.req["payment.execute|"+key]
			obs.mu.Unlock()
			if logged != bodies[1] {
				t.Errorf("%s: logged body %q, sent %q", key, logged, bodies[1])
			}
		}
	}
}

// TestRejectedSupersededTokenIsReplayed: call B, sent with tok-1 (accepted
// earlier), is rejected after call A renewed to tok-2 and was answered with
// it. B is replayed once with tok-2: a rejection of a token the client has
// already replaced says nothing about its configuration, and must not be
// reported as a *ConfigError (ErrFreshTokenRejected).
func TestRejectedSupersededTokenIsReplayed(t *testing.T) {
	t.Parallel()
	f := newH2Fake(t)
	hold := make(chan struct{})
	arrived := make(chan struct{})
	var once sync.Once
	inner := f.srv.Config.Handler
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "tok-1" && strings.HasSuffix(r.URL.Path, "/execute") {
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), "TR0011B") {
				once.Do(func() { close(arrived) })
				<-hold
			}
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		inner.ServeHTTP(w, r)
	})
	c := f.client(t)
	ctx := context.Background()
	if _, err := c.Payments.Query(ctx, "TR0011WARM"); err != nil { // tok-1 accepted
		t.Fatal(err)
	}
	f.mu.Lock()
	f.reject["tok-1"] = true
	f.mu.Unlock()
	bErr := make(chan error, 1)
	go func() {
		_, err := c.Payments.Execute(ctx, "TR0011B")
		bErr <- err
	}()
	<-arrived
	if _, err := c.Payments.Execute(ctx, "TR0011A"); err != nil { // rejected, renewed to tok-2, replayed, answered
		t.Fatalf("A: %v", err)
	}
	close(hold)
	if err := <-bErr; err != nil {
		t.Errorf("B: %v; want B replayed once with tok-2 and answered", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := f.auths["TR0011B"]; len(got) != 2 || got[1] != "tok-2" {
		t.Errorf("B was sent with %v, want tok-1 then tok-2", got)
	}
}
