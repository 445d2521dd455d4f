package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

func TestTelemetryIsOffByDefault(t *testing.T) {
	t.Parallel()
	tel, err := startTelemetry(telemetryOptions{}, io.Discard)
	if err != nil || tel != nil {
		t.Fatalf("startTelemetry() = %v, %v; want nothing", tel, err)
	}
	h := http.NotFoundHandler()
	if tel.clientOptions() != nil || tel.webhookOptions() != nil || tel.reconcileObserver() != nil ||
		tel.metricsURL() != "" || tel.Close(context.Background()) != nil {
		t.Error("a nil telemetry is not inert")
	}
	if got := tel.handler(h); got == nil {
		t.Error("handler(nil telemetry) = nil")
	}
}

func TestTelemetrySettings(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    telemetryOptions
		wantErr string
	}{
		{"off", nil, nil, telemetryOptions{}, ""},
		{"traces to stdout", nil, map[string]string{"BKASH_TRACES": "stdout"}, telemetryOptions{traces: "stdout"}, ""},
		{"metrics from the environment", nil, map[string]string{"BKASH_METRICS_ADDR": "127.0.0.1:9464"}, telemetryOptions{metrics: "127.0.0.1:9464"}, ""},
		{"the flag wins", []string{"-metrics", ":9999"}, map[string]string{"BKASH_METRICS_ADDR": "127.0.0.1:9464"}, telemetryOptions{metrics: ":9999"}, ""},
		{"unknown trace destination", nil, map[string]string{"BKASH_TRACES": "jaeger"}, telemetryOptions{}, `BKASH_TRACES="jaeger"`},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("checkout", flag.ContinueOnError)
		var o telemetryOptions
		registerTelemetryFlags(fs, &o)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		err := readTelemetryEnv(env(tt.env), &o)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || o != tt.want {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, o, err, tt.want)
		}
	}
}

// TestTelemetryExportsTracesAndMetrics runs a request that calls bKash
// through the wrapped handler, scrapes /metrics, and reads the spans
// written to stdout.
func TestTelemetryExportsTracesAndMetrics(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	tel, err := startTelemetry(telemetryOptions{traces: "stdout", metrics: "127.0.0.1:0"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close(context.Background())
	creds := bkash.Credentials{Username: "shop-user-Q1", Password: "pw-SECRET-SHOP-1", AppKey: "app-key-shop", AppSecret: "appsecret-SECRET-SHOP-2"}
	srv := bkashtest.NewServer(bkashtest.WithCredentials(creds))
	defer srv.Close()
	client, err := bkash.NewClient(bkash.Sandbox, creds, append([]bkash.Option{bkash.WithBaseURL(srv.URL)}, tel.clientOptions()...)...)
	if err != nil {
		t.Fatal(err)
	}
	h := tel.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := client.Payments.Query(r.Context(), "TR0011NOSUCH")
		if !errors.Is(err, bkash.CodeInvalidPaymentID) {
			t.Errorf("query: %v", err)
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/orders/42", nil))

	resp, err := http.Get(tel.metricsURL())
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`bkash_client_call_duration_seconds_count{bkash_operation="payment.query",bkash_outcome="refused"`,
		`bkash_client_attempts_total{bkash_operation="token.grant"`,
		`bkash_token_renewals_total{bkash_result="ok",bkash_token_kind="grant"`,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}

	if err := tel.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	type span struct {
		Name        string
		SpanContext struct{ TraceID, SpanID string }
		Parent      struct{ TraceID, SpanID string }
	}
	spans := map[string]span{}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s span
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("not a JSON span: %v\n%s", err, sc.Text())
		}
		spans[s.Name] = s
	}
	server, query := spans["GET /orders/42"], spans["bkash payment.query"]
	if server.SpanContext.SpanID == "" || query.Parent.SpanID != server.SpanContext.SpanID || query.SpanContext.TraceID != server.SpanContext.TraceID {
		t.Errorf("the query span is not the request span's child: %+v", spans)
	}
	if spans["bkash token.renewal"].Parent.SpanID != query.SpanContext.SpanID {
		t.Errorf("the renewal span is not the query's child: %+v", spans)
	}
	all := out.String() + string(metrics)
	for _, secret := range []string{"pw-SECRET-SHOP-1", "appsecret-SECRET-SHOP-2", "SECRET"} {
		if strings.Contains(all, secret) {
			t.Errorf("%q exported", secret)
		}
	}
}

func TestTelemetryRefusesABusyMetricsAddress(t *testing.T) {
	t.Parallel()
	first, err := startTelemetry(telemetryOptions{metrics: "127.0.0.1:0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close(context.Background())
	addr := strings.TrimSuffix(strings.TrimPrefix(first.metricsURL(), "http://"), "/metrics")
	if _, err := startTelemetry(telemetryOptions{metrics: addr}, io.Discard); err == nil || !strings.Contains(err.Error(), "metrics listener") {
		t.Errorf("second listener on %s: err = %v", addr, err)
	}
}

// syncBuffer is a bytes.Buffer safe for the exporter's goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
