package transport

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// With net/http's own transport, sending is detected through the
// WroteHeaders trace. These tests hold it to the same rules as the body
// reader: a dial failure is not a send, a request the server read is.

func TestTracedOnlyForNetHTTPTransport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rt   http.RoundTripper
		want bool
	}{
		{"nil (http.DefaultTransport)", nil, true},
		{"*http.Transport", &http.Transport{}, true},
		{"another RoundTripper", roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, io.EOF }), false},
	}
	for _, tc := range tests {
		if got := New(&http.Client{Transport: tc.rt}, fast(1)).traced; got != tc.want {
			t.Errorf("%s: traced = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestTracedDialFailureIsRetriedForMoney(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: every dial is refused
	tr := New(&http.Client{Transport: &http.Transport{}}, fast(3))
	res := tr.Do(context.Background(), Money, "http://"+addr+"/x", http.Header{}, []byte(`{"paymentID":"TR1"}`), nil)
	if res.Resp != nil || res.Err == nil {
		t.Fatalf("Do = %v, %v; want the dial error", res.Resp, res.Err)
	}
	if res.Sent || res.Attempts != 3 {
		t.Errorf("Sent = %v, Attempts = %d; want false, 3", res.Sent, res.Attempts)
	}
}

func TestTracedDropAfterReadingIsFinalForMoney(t *testing.T) {
	t.Parallel()
	var reads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		reads.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // the request arrived; the answer never leaves
		}
	}))
	defer srv.Close()
	tr := New(&http.Client{Transport: &http.Transport{}}, fast(3))
	res := tr.Do(context.Background(), Money, srv.URL+"/x", http.Header{}, []byte(`{"paymentID":"TR1"}`), nil)
	if res.Resp != nil || res.Err == nil {
		t.Fatalf("Do = %v, %v; want the dropped connection's error", res.Resp, res.Err)
	}
	if !res.Sent || res.Attempts != 1 || reads.Load() != 1 {
		t.Errorf("Sent = %v, Attempts = %d, requests read %d; want true, 1, 1", res.Sent, res.Attempts, reads.Load())
	}
}

func TestTracedReadIsRetriedAfterADrop(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if n.Add(1) == 1 {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		_, _ = w.Write(body) // echo: the retry carried the whole body
	}))
	defer srv.Close()
	tr := New(&http.Client{Transport: &http.Transport{}}, fast(3))
	res := tr.Do(context.Background(), Read, srv.URL+"/x", http.Header{}, []byte(`{"paymentID":"TR1"}`), nil)
	if res.Err != nil || res.Resp == nil {
		t.Fatalf("Do: %v", res.Err)
	}
	defer res.Resp.Body.Close()
	got, _ := io.ReadAll(res.Resp.Body)
	if string(got) != `{"paymentID":"TR1"}` || res.Attempts != 2 || !res.Sent {
		t.Errorf("body %q, Attempts %d, Sent %v; want the whole body, 2, true", got, res.Attempts, res.Sent)
	}
}
