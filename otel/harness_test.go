package bkashotel_test

// The test harness: a fake bKash (bkashtest) with distinctive credentials
// and wallet, a Client observed by a Telemetry that records into an
// in-memory span exporter and a manual metric reader, and helpers that
// reduce spans and metric points to comparable values.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
	bkashotel "github.com/smartdairy/bkash-go/otel"
)

// Distinctive values: none of them may appear in any span, event,
// attribute or metric point.
var (
	testCreds = bkash.Credentials{
		Username:  "otel-merchant-Zq9",
		Password:  bkash.Secret("pw-SECRET-OTEL-5f2a"),
		AppKey:    "appkey-otel-77",
		AppSecret: bkash.Secret("appsecret-SECRET-OTEL-c0de"),
	}
	// testWallet is the customer's wallet; bKash's answers carry it as
	// customerMsisdn and the notification as 88 + it.
	testWallet = "01929384756"
)

type harness struct {
	t      *testing.T
	srv    *bkashtest.Server
	client *bkash.Client
	tel    *bkashotel.Telemetry
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	tokens *tokenSniffer
}

// newHarness starts a fake bKash and a Client observed by a fresh
// Telemetry. Metrics are read as deltas: every collect returns what
// happened since the previous one.
func newHarness(t *testing.T, opts ...bkash.Option) *harness {
	t.Helper()
	h := &harness{t: t, spans: tracetest.NewInMemoryExporter(), tokens: &tokenSniffer{}}
	h.srv = bkashtest.NewServer(bkashtest.WithCredentials(testCreds), bkashtest.WithWallet(testWallet, bkash.Taka(100000)))
	tr := &http.Transport{}
	t.Cleanup(func() {
		h.srv.Close()
		tr.CloseIdleConnections()
	})
	h.tokens.rt = tr
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(h.spans))
	h.reader = sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality {
		return metricdata.DeltaTemporality
	}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	var err error
	h.tel, err = bkashotel.New(bkashotel.WithTracerProvider(h.tp), bkashotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	base := []bkash.Option{
		bkash.WithBaseURL(h.srv.URL),
		bkash.WithHTTPClient(&http.Client{Transport: h.tokens, Timeout: 5 * time.Second}),
		bkash.WithRetryPolicy(bkash.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}),
		h.tel.ClientOption(),
	}
	h.client, err = bkash.NewClient(bkash.Sandbox, h.srv.Credentials(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// reset forgets the spans and metric points recorded so far.
func (h *harness) reset() {
	h.t.Helper()
	h.spans.Reset()
	h.collect()
}

// caller starts the application's own span, the parent of the SDK's.
func (h *harness) caller(name string) (context.Context, trace.Span) {
	return h.tp.Tracer("shop").Start(context.Background(), name)
}

// createApproved creates a payment of 150.50 and approves it as the
// customer with testWallet.
func (h *harness) createApproved(ctx context.Context, invoice string) *bkash.Payment {
	h.t.Helper()
	p, err := h.client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount: bkash.Taka(150) + bkash.Poisha(50), InvoiceNumber: invoice,
		PayerReference: testWallet, CallbackURL: "https://shop.example/bkash/callback",
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.srv.Approve(p.PaymentID, testWallet); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// spanView is what a test asserts of a span.
type spanView struct {
	Name   string
	Parent string // the parent's name; "" for a root
	Kind   trace.SpanKind
	Error  bool // status Error
	Attrs  map[string]any
	Events []string // "name attr=value ..." in order
}

// views returns the recorded spans, ended first first, with their parents
// resolved to names; it fails the test if a parent is not among them or a
// span is in another trace than its parent.
func (h *harness) views() []spanView {
	h.t.Helper()
	stubs := h.spans.GetSpans()
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range stubs {
		byID[s.SpanContext.SpanID()] = s
	}
	var out []spanView
	for _, s := range stubs {
		v := spanView{Name: s.Name, Kind: s.SpanKind, Error: s.Status.Code == 1, Attrs: attrMap(s.Attributes)}
		if s.Parent.IsValid() {
			p, ok := byID[s.Parent.SpanID()]
			if !ok {
				h.t.Fatalf("span %q: parent %s is not recorded", s.Name, s.Parent.SpanID())
			}
			if p.SpanContext.TraceID() != s.SpanContext.TraceID() {
				h.t.Fatalf("span %q is in another trace than its parent %q", s.Name, p.Name)
			}
			v.Parent = p.Name
		}
		for _, e := range s.Events {
			v.Events = append(v.Events, eventString(e.Name, e.Attributes))
		}
		out = append(out, v)
	}
	return out
}

func attrMap(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func eventString(name string, kvs []attribute.KeyValue) string {
	parts := []string{name}
	for _, kv := range kvs {
		parts = append(parts, fmt.Sprintf("%s=%v", kv.Key, kv.Value.AsInterface()))
	}
	sort.Strings(parts[1:])
	return strings.Join(parts, " ")
}

// collect returns the metric points since the last collect, as
// "name{k=v,...}" -> the counter's sum or the histogram's count.
func (h *harness) collect() map[string]int64 {
	h.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if p.Value != 0 {
						out[m.Name+setString(p.Attributes)] = p.Value
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if p.Count != 0 {
						out[m.Name+setString(p.Attributes)] = int64(p.Count)
					}
				}
			default:
				h.t.Fatalf("metric %s has unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

func setString(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, fmt.Sprintf("%s=%v", kv.Key, kv.Value.AsInterface()))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// tokenSniffer is the client's transport: it remembers every token the
// fake issued, so that the tests can look for them in the telemetry.
type tokenSniffer struct {
	rt     http.RoundTripper
	mu     sync.Mutex
	tokens []string
}

func (s *tokenSniffer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.rt.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/token/grant") && !strings.HasSuffix(r.URL.Path, "/token/refresh") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var tok struct {
		ID      string `json:"id_token"`
		Refresh string `json:"refresh_token"`
	}
	if json.Unmarshal(body, &tok) == nil {
		s.mu.Lock()
		for _, v := range []string{tok.ID, tok.Refresh} {
			if v != "" {
				s.tokens = append(s.tokens, v)
			}
		}
		s.mu.Unlock()
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func (s *tokenSniffer) issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tokens...)
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "webhook", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
