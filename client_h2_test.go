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
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bkash "github.com/smartdairy/bkash-go"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
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

	mu       sync.Mutex
	received map[string]int // path -> requests read to their end (grant excluded)
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
		return h2Answer(fr, id, h2GrantAnswer)
	}
	s.mu.Lock()
	s.received[st.path]++
	n := s.received[st.path]
	s.mu.Unlock()
	if n > 1 {
		// A re-sent copy: answer it as bKash answers a call it processed.
		return h2Answer(fr, id, h2MoneyAnswer)
	}
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
