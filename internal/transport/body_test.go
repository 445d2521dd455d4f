package transport

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// partialRT reads part of the body on its first round trip and fails, as a
// connection that broke while sending would; later round trips read all.
type partialRT struct {
	mu     sync.Mutex
	bodies []string
}

func (p *partialRT) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	first := len(p.bodies) == 0
	p.mu.Unlock()
	if first {
		buf := make([]byte, 3)
		n, _ := io.ReadFull(r.Body, buf)
		p.mu.Lock()
		p.bodies = append(p.bodies, string(buf[:n]))
		p.mu.Unlock()
		return nil, errors.New("connection reset by peer")
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.bodies = append(p.bodies, string(b))
	p.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
}

// TestRetryAfterPartialSendGetsTheWholeBody: the first attempt's reader
// lives in the call's state; once read, even partly, it is never handed
// to a later attempt, which gets the whole body from the start.
func TestRetryAfterPartialSendGetsTheWholeBody(t *testing.T) {
	t.Parallel()
	rt := &partialRT{}
	tr := New(&http.Client{Transport: rt}, fast(3))
	body := `{"paymentID":"TR0011"}`
	res := tr.Do(context.Background(), Read, "https://bkash.example/x", http.Header{}, []byte(body), nil)
	if res.Err != nil || res.Resp == nil {
		t.Fatalf("Do: %v", res.Err)
	}
	res.Resp.Body.Close()
	if want := []string{body[:3], body}; len(rt.bodies) != 2 || rt.bodies[0] != want[0] || rt.bodies[1] != want[1] {
		t.Errorf("bodies = %q, want %q", rt.bodies, want)
	}
	if !res.Sent || res.Attempts != 2 {
		t.Errorf("Sent = %v, Attempts = %d; want true, 2", res.Sent, res.Attempts)
	}
}

// TestMoneyPartialSendIsFinal: a money call whose body was partly read is
// sent as far as the SDK knows, and is not tried again.
func TestMoneyPartialSendIsFinal(t *testing.T) {
	t.Parallel()
	rt := &partialRT{}
	tr := New(&http.Client{Transport: rt}, fast(3))
	res := tr.Do(context.Background(), Money, "https://bkash.example/x", http.Header{}, []byte(`{"paymentID":"TR0011"}`), nil)
	if res.Resp != nil || res.Err == nil {
		t.Fatalf("Do = %v, %v; want the reset error", res.Resp, res.Err)
	}
	if !res.Sent || res.Attempts != 1 || len(rt.bodies) != 1 {
		t.Errorf("Sent = %v, Attempts = %d, round trips %d; want true, 1, 1", res.Sent, res.Attempts, len(rt.bodies))
	}
}

// TestRequestContextCarriesTheCallersValues: the state that stands in for
// the request's context answers the caller's keys.
func TestRequestContextCarriesTheCallersValues(t *testing.T) {
	t.Parallel()
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	var got any
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Context().Value(key{})
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	})
	tr := New(&http.Client{Transport: rt}, fast(1))
	res := tr.Do(ctx, Read, "https://bkash.example/x", http.Header{}, []byte(`{}`), nil)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	res.Resp.Body.Close()
	if got != "v" {
		t.Errorf("request context value = %v, want %q", got, "v")
	}
}
