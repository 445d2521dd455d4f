package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runningFake is "bkash fake" running in-process.
type runningFake struct {
	t      *testing.T
	cancel context.CancelFunc
	done   chan int
	stdout *syncBuffer
	stderr *syncBuffer
	view   fakeView
}

// startFake runs "bkash fake" with args (and --addr 127.0.0.1:0 --json) and
// waits for its first line of JSON. The fake is stopped when the test ends.
func startFake(t *testing.T, args ...string) *runningFake {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &runningFake{t: t, cancel: cancel, done: make(chan int, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	args = append([]string{"fake", "--addr", "127.0.0.1:0", "--json"}, args...)
	go func() { f.done <- run(ctx, args, func(string) string { return "" }, f.stdout, f.stderr) }()
	t.Cleanup(func() { f.stop() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if line, _, ok := strings.Cut(f.stdout.String(), "\n"); ok {
			if err := json.Unmarshal([]byte(line), &f.view); err != nil {
				t.Fatalf("first line is not JSON: %v\n%s", err, line)
			}
			return f
		}
		select {
		case code := <-f.done:
			t.Fatalf("bkash fake exited with %d before serving\nstderr:\n%s", code, f.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("bkash fake printed nothing in 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop cancels the run (as SIGINT does) and returns the exit code.
func (f *runningFake) stop() int {
	f.cancel()
	select {
	case code := <-f.done:
		f.done <- code // later calls see it too
		return code
	case <-time.After(20 * time.Second):
		f.t.Fatal("bkash fake did not stop within 20s")
		return -1
	}
}

// control sends a control-API request and decodes the JSON answer into out.
func control(t *testing.T, root, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, root+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func fakeClient(t *testing.T, v fakeView, opts ...bkash.Option) *bkash.Client {
	t.Helper()
	c := v.Credentials
	creds := bkash.Credentials{Username: c.Username, Password: bkash.Secret(c.Password), AppKey: c.AppKey, AppSecret: bkash.Secret(c.AppSecret)}
	client, err := bkash.NewClient(bkash.Sandbox, creds, append([]bkash.Option{bkash.WithBaseURL(v.BaseURL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func TestFakeCommandServesACheckoutAndStopsGracefully(t *testing.T) {
	t.Parallel()
	f := startFake(t)
	v := f.view
	if !strings.HasPrefix(v.BaseURL, "http://127.0.0.1:") || v.BaseURL == "http://127.0.0.1:9090" {
		t.Errorf("base_url %q is not the random port", v.BaseURL)
	}
	if v.Credentials.Username != bkashtest.DefaultCredentials.Username || v.ControlURL != v.BaseURL+"/_bkashtest/" ||
		v.CertURL != v.BaseURL+"/_bkashtest/sns/cert.pem" || v.PID != os.Getpid() || v.TokenLifetime != "1h0m0s" {
		t.Errorf("--json line: %+v", v)
	}
	ctx := context.Background()
	client := fakeClient(t, v)
	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{
		Amount: bkash.Taka(150), PayerReference: "01770618575", CallbackURL: "https://shop.example/cb",
		InvoiceNumber: "INV-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.BkashURL, v.BaseURL+"/checkout?") {
		t.Errorf("bkashURL %q is not on the fake", p.BkashURL)
	}
	if code := control(t, v.BaseURL, "POST", "/_bkashtest/payments/"+p.PaymentID+"/approve", `{"wallet":"01929918378"}`, nil); code != 200 {
		t.Fatalf("approve: %d", code)
	}
	ex, err := client.Payments.Execute(ctx, p.PaymentID)
	if err != nil || ex.Status != bkash.StatusCompleted {
		t.Fatalf("execute: %+v %v", ex, err)
	}

	// A request in progress when the stop comes is answered.
	if code := control(t, v.BaseURL, "POST", "/_bkashtest/faults", `{"operation":"payment.query","delay":"400ms"}`, nil); code != 201 {
		t.Fatalf("inject: %d", code)
	}
	type res struct {
		q   *bkash.Payment
		err error
	}
	got := make(chan res, 1)
	go func() {
		q, err := client.Payments.Query(ctx, p.PaymentID)
		got <- res{q, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for { // wait until the query is in the fake
		var n struct{ Received map[string]int }
		control(t, v.BaseURL, "GET", "/_bkashtest/counters", "", &n)
		if n.Received["payment.query"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the query never reached the fake")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stopped := make(chan int, 1)
	go func() { stopped <- f.stop() }()
	r := <-got
	if r.err != nil || r.q.TrxID != ex.TrxID {
		t.Errorf("query in progress during the stop: %+v %v", r.q, r.err)
	}
	if code := <-stopped; code != exitOK {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, f.stderr.String())
	}
	if !strings.Contains(f.stderr.String(), "bkash fake: stopped") {
		t.Errorf("stderr:\n%s", f.stderr.String())
	}
	if _, err := http.Get(v.BaseURL + "/_bkashtest/info"); err == nil {
		t.Error("the fake still answers after it stopped")
	}
}

func TestFakeCommandFlags(t *testing.T) {
	t.Parallel()
	f := startFake(t, "--wallet", "01711111111=500.25", "--wallet", "01770618575=10", "--token-lifetime", "90s",
		"--refund-api", "v2", "--username", "shop-ci", "--password", "pw with space", "--app-key", "k", "--app-secret", "s",
		"--topic-arn", "arn:aws:sns:ap-south-1:123456789012:bkash-ci", "--public-url", "http://fake.test:9090")
	v := f.view
	if v.BaseURL != "http://fake.test:9090" || v.TokenLifetime != "1m30s" || strings.Join(v.RefundAPIs, ",") != "v2" ||
		v.Credentials != (bkashtest.InfoCreds{Username: "shop-ci", Password: "pw with space", AppKey: "k", AppSecret: "s"}) ||
		v.SNS.TopicARN != "arn:aws:sns:ap-south-1:123456789012:bkash-ci" ||
		!strings.HasPrefix(v.SNS.SigningCertURL, "https://sns.ap-south-1.amazonaws.com/SimpleNotificationService-") {
		t.Errorf("--json line: %+v", v)
	}
	if v.Wallets.Paying[len(v.Wallets.Paying)-1] != "01711111111" {
		t.Errorf("paying wallets %q lack the added one", v.Wallets.Paying)
	}
}

func TestFakeCommandWalletBalancesAreServed(t *testing.T) {
	t.Parallel()
	f := startFake(t, "--wallet", "01711111111=500.25")
	var w struct {
		Balance string `json:"balance"`
	}
	if code := control(t, f.view.BaseURL, "GET", "/_bkashtest/wallets/01711111111", "", &w); code != 200 || w.Balance != "500.25" {
		t.Errorf("wallet: %d %+v", code, w)
	}
}

func TestFakeCommandHumanOutput(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"fake", "--addr", "127.0.0.1:0"}, func(string) string { return "" }, out, errOut)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "token check") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut.String())
	}
	s := out.String()
	for _, want := range []string{
		"Base URL        http://127.0.0.1:", "Username        bkashtest-user", "Password        bkashtest-password",
		"App key         bkashtest-app-key", "App secret      bkashtest-app-secret", "Control API     http://127.0.0.1:",
		"SNS cert        http://127.0.0.1:", "/_bkashtest/sns/cert.pem (messages name https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-",
		"BKASH_USERNAME=bkashtest-user BKASH_PASSWORD=bkashtest-password", "--no-token-cache token check",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}

func TestFakeCommandRefusesBadFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--wallet", "01711111111"}, exitUsage, `"01711111111" is not NUMBER=BALANCE`},
		{[]string{"--wallet", "0171=5"}, exitUsage, `"0171" is not a wallet number`},
		{[]string{"--wallet", "01711111111=lots"}, exitUsage, `balance "lots" is not an amount`},
		{[]string{"--wallet", "01711111111=-5"}, exitUsage, `balance "-5"`},
		{[]string{"--token-lifetime", "0s"}, exitUsage, "--token-lifetime must be positive"},
		{[]string{"--refund-api", "v3"}, exitUsage, `--refund-api: "v3" is not v1, v2 or both`},
		{[]string{"--username", ""}, exitUsage, "credentials: invalid Credentials.Username"},
		{[]string{"--topic-arn", "my-topic"}, exitUsage, `--topic-arn: "my-topic" is not an SNS topic ARN`},
		{[]string{"--webhook-url", "/hooks"}, exitUsage, `--webhook-url: "/hooks" is not an absolute http(s) URL`},
		{[]string{"--public-url", "http://x/?a=1"}, exitUsage, "--public-url"},
		{[]string{"--addr", "127.0.0.1:99999"}, exitOther, "fake: listen tcp: address 99999: invalid port"},
	}
	for _, tc := range cases {
		r := runCLI(t, nil, append([]string{"fake"}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("fake %q: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.msg)
		}
	}
	// An address in use is an error that says so.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := runCLI(t, nil, "fake", "--addr", l.Addr().String())
	if r.code != exitOther || !strings.Contains(r.stderr, "address already in use") {
		t.Errorf("address in use: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestFakeCommandPostsWebhooks(t *testing.T) {
	t.Parallel()
	bodies := make(chan []byte, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
	}))
	defer recv.Close()
	f := startFake(t, "--webhook-url", recv.URL+"/bkash/ipn?shop=1")
	v := f.view
	if len(v.WebhookURLs) != 1 || v.WebhookURLs[0] != recv.URL+"/bkash/ipn?shop=1" {
		t.Errorf("webhook_urls %q", v.WebhookURLs)
	}
	ctx := context.Background()
	client := fakeClient(t, v)
	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{Amount: bkash.Taka(20), PayerReference: "x", CallbackURL: "https://shop.example/cb", InvoiceNumber: "INV-2"})
	if err != nil {
		t.Fatal(err)
	}
	control(t, v.BaseURL, "POST", "/_bkashtest/payments/"+p.PaymentID+"/approve", "", nil)
	ex, err := client.Payments.Execute(ctx, p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	select {
	case body = <-bodies:
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook posted")
	}
	msg := verifyWithFakeCert(t, v.BaseURL, v.SNS.TopicARN, body)
	if msg.Notification.TrxID != ex.TrxID || msg.Notification.Amount != bkash.Taka(20) {
		t.Errorf("notification %+v", msg.Notification)
	}
}

// verifyWithFakeCert verifies body with the SDK's verifier, its certificate
// fetched from the fake's control path through WithCertFetcher.
func verifyWithFakeCert(t *testing.T, root, topic string, body []byte) *bkash.WebhookMessage {
	t.Helper()
	fetch := func(ctx context.Context, certURL string) (*x509.Certificate, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", root+bkashtest.CertPath, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return parseCert(b, root)
	}
	v, err := bkash.NewWebhookVerifier(bkash.WithAllowedTopicARNs(topic), bkash.WithCertFetcher(fetch))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := v.Verify(context.Background(), body)
	if err != nil {
		t.Fatalf("Verify: %v\n%s", err, body)
	}
	return msg
}

// receiver records what a webhook endpoint was sent.
type receiver struct {
	srv    *httptest.Server
	status int
	mu     sync.Mutex
	body   []byte
	header http.Header
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.body, r.header = b, req.Header.Clone()
		r.mu.Unlock()
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func TestWebhookSendFromARunningFake(t *testing.T) {
	t.Parallel()
	srv := bkashtest.NewTestServer(t)
	client := fakeClient(t, fakeView{Info: srv.Info()})
	ctx := context.Background()
	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{Amount: bkash.Amount(15050), PayerReference: "x", CallbackURL: "https://shop.example/cb", InvoiceNumber: "INV-7"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Approve(p.PaymentID, "01770618575"); err != nil {
		t.Fatal(err)
	}
	ex, err := client.Payments.Execute(ctx, p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	recv := newReceiver(t, http.StatusOK)
	r := runCLI(t, nil, "--base-url", srv.URL, "webhook", "send", "--payment-id", p.PaymentID, "--to", recv.srv.URL, "--json")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var out sendView
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 200 || out.TrxID != ex.TrxID || out.Certificate != srv.URL+bkashtest.CertPath || out.TopicARN != srv.Signer().TopicARN() {
		t.Errorf("output %+v", out)
	}
	recv.mu.Lock()
	body, h := recv.body, recv.header
	recv.mu.Unlock()
	msg := verifyWithFakeCert(t, srv.URL, srv.Signer().TopicARN(), body)
	n := msg.Notification
	if n.TrxID != ex.TrxID || n.Amount != bkash.Amount(15050) || n.MerchantInvoiceNumber != "INV-7" || msg.MessageID != out.MessageID {
		t.Errorf("notification %+v", n)
	}
	if h.Get("x-amz-sns-message-type") != "Notification" || h.Get("x-amz-sns-message-id") != out.MessageID ||
		h.Get("x-amz-sns-topic-arn") != out.TopicARN || h.Get("Content-Type") != "text/plain; charset=UTF-8" {
		t.Errorf("headers %v", h)
	}

	// The receiver refusing it is exit 1; the fake refusing it names why.
	bad := newReceiver(t, http.StatusBadRequest)
	r = runCLI(t, nil, "webhook", "send", "--fake", srv.URL, "--payment-id", p.PaymentID, "--to", bad.srv.URL)
	if r.code != exitBkash || !strings.Contains(r.stderr, "answered HTTP 400") {
		t.Errorf("refused: exit %d %s", r.code, r.stderr)
	}
	p2, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{Amount: bkash.Taka(1), PayerReference: "x", CallbackURL: "https://shop.example/cb", InvoiceNumber: "INV-8"})
	if err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, nil, "webhook", "send", "--fake", srv.URL, "--payment-id", p2.PaymentID, "--to", recv.srv.URL)
	if r.code != exitOther || !strings.Contains(r.stderr, "is Initiated: only a completed payment") {
		t.Errorf("not completed: exit %d %s", r.code, r.stderr)
	}
}

func TestWebhookSendFromFlagsVerifiesWithTheWrittenCert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile := filepath.Join(dir, "sns.pem")
	topic := "arn:aws:sns:ap-southeast-1:123456789012:bkash-test"
	// Printed (no --to), then checked by "webhook verify".
	r := runCLI(t, nil, "webhook", "send", "--trx-id", "TRX0000001", "--amount", "99.5", "--invoice", "INV-9",
		"--topic-arn", topic, "--cert-out", certFile)
	if r.code != exitOK {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	msgFile := filepath.Join(dir, "msg.json")
	if err := os.WriteFile(msgFile, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	v := runCLI(t, nil, "webhook", "verify", msgFile, "--cert", certFile, "--topic", topic, "--json")
	if v.code != exitOK {
		t.Fatalf("verify: exit %d %s %s", v.code, v.stdout, v.stderr)
	}
	m := decodeJSON(t, v.stdout)
	n, _ := m["notification"].(map[string]any)
	if n["trx_id"] != "TRX0000001" || n["amount"] != "99.50" || n["merchant_invoice_number"] != "INV-9" || n["transaction_status"] != "Completed" {
		t.Errorf("verified: %v", m)
	}
	// Posted: the receiver gets the same kind of message.
	recv := newReceiver(t, http.StatusNoContent)
	r = runCLI(t, nil, "webhook", "send", "--trx-id", "TRX0000002", "--amount", "10", "--to", recv.srv.URL, "--cert-out", certFile, "--topic-arn", topic)
	if r.code != exitOK || !strings.Contains(r.stdout, "HTTP 204 from "+recv.srv.URL) || !strings.Contains(r.stdout, "Certificate       "+certFile) {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(pemBytes)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ver, err := bkash.NewWebhookVerifier(bkash.WithAllowedTopicARNs(topic), bkash.WithCertFetcher(func(context.Context, string) (*x509.Certificate, error) { return cert, nil }))
	if err != nil {
		t.Fatal(err)
	}
	recv.mu.Lock()
	body := recv.body
	recv.mu.Unlock()
	if msg, err := ver.Verify(context.Background(), body); err != nil || msg.Notification.TrxID != "TRX0000002" {
		t.Errorf("posted message: %v", err)
	}
}

func TestWebhookSendRefusesBadFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		msg  string
	}{
		{nil, "give --payment-id (a payment of a running bkash fake), or --trx-id and --amount"},
		{[]string{"--trx-id", "X"}, "or --trx-id and --amount"},
		{[]string{"--trx-id", "X", "--amount", "0"}, `--amount: "0" is not a positive amount`},
		{[]string{"--trx-id", "X", "--amount", "1", "--wallet", "12"}, `--wallet: "12" is not a wallet number`},
		{[]string{"--trx-id", "X", "--amount", "1", "--topic-arn", "t"}, `--topic-arn: "t" is not an SNS topic ARN`},
		{[]string{"--trx-id", "X", "--amount", "1", "--fake", "http://127.0.0.1:1"}, "--fake goes with --payment-id"},
		{[]string{"--payment-id", "TR1"}, "--payment-id needs the fake's root"},
		{[]string{"--payment-id", "TR1", "--fake", "http://127.0.0.1:1", "--amount", "5"}, "--amount describes a payment without --payment-id"},
		{[]string{"--payment-id", "TR1", "--fake", "ftp://x"}, `--fake: "ftp://x" is not an absolute http(s) URL`},
		{[]string{"--trx-id", "X", "--amount", "1", "--to", "http://u:p@x/"}, "--to: "},
	}
	for _, tc := range cases {
		r := runCLI(t, nil, append([]string{"webhook", "send"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("webhook send %q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.msg)
		}
	}
	r := runCLI(t, nil, "webhook", "send", "--payment-id", "TR1", "--fake", "http://127.0.0.1:1", "--timeout", "2s")
	if r.code != exitOther || !strings.Contains(r.stderr, "asking the fake at http://127.0.0.1:1") {
		t.Errorf("no fake: exit %d %s", r.code, r.stderr)
	}
}

func TestAllowHTTPFlagReachesAFakeOnANonLoopbackName(t *testing.T) {
	t.Parallel()
	srv := bkashtest.NewTestServer(t)
	env := credsEnv(t, srv.Credentials())
	// "fake.test" resolves nowhere: the transport maps it to the fake, so
	// that the plain-http rule, not DNS, is what the test sees.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
	}}
	defer tr.CloseIdleConnections()
	runWith := func(args ...string) result {
		var out, errOut bytes.Buffer
		a := &app{ctx: context.Background(), getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &errOut, transport: tr}
		return result{code: a.main(args), stdout: out.String(), stderr: errOut.String()}
	}
	r := runWith("--base-url", "http://fake.test:"+port, "--no-token-cache", "token", "check")
	if r.code == exitOK || !strings.Contains(r.stderr, "plain http is allowed only for loopback hosts") {
		t.Errorf("without --allow-http: exit %d %s", r.code, r.stderr)
	}
	r = runWith("--base-url", "http://fake.test:"+port, "--allow-http", "--no-token-cache", "token", "check")
	if r.code != exitOK {
		t.Errorf("with --allow-http: exit %d %s", r.code, r.stderr)
	}
	if srv.Grants() != 1 {
		t.Errorf("grants %d, want 1", srv.Grants())
	}
	r = runWith("--base-url", "http://tokenized.sandbox.bka.sh", "--allow-http", "--no-token-cache", "token", "check")
	if r.code == exitOK || !strings.Contains(r.stderr, "bKash's own host") {
		t.Errorf("http to bKash: exit %d %s", r.code, r.stderr)
	}
}

func TestFakeCommandStateFileKeepsPaymentsAcrossRestarts(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "fake.state")
	f := startFake(t, "--state", state)
	if f.view.StateFile != state {
		t.Errorf("state_file %q", f.view.StateFile)
	}
	ctx := context.Background()
	client := fakeClient(t, f.view)
	p, err := client.Payments.Create(ctx, &bkash.CreatePaymentParams{Amount: bkash.Taka(42), PayerReference: "x", CallbackURL: "https://shop.example/cb", InvoiceNumber: "INV-S"})
	if err != nil {
		t.Fatal(err)
	}
	control(t, f.view.BaseURL, "POST", "/_bkashtest/payments/"+p.PaymentID+"/approve", "", nil)
	ex, err := client.Payments.Execute(ctx, p.PaymentID)
	if err != nil {
		t.Fatal(err)
	}
	if code := f.stop(); code != exitOK {
		t.Fatalf("exit %d\n%s", code, f.stderr.String())
	}
	g := startFake(t, "--state", state)
	var got struct {
		Status string `json:"status"`
		TrxID  string `json:"trx_id"`
	}
	if code := control(t, g.view.BaseURL, "GET", "/_bkashtest/payments/"+p.PaymentID, "", &got); code != 200 || got.Status != "Completed" || got.TrxID != ex.TrxID {
		t.Errorf("after a restart: %d %+v", code, got)
	}
	g.stop()
	// A corrupt file is an error that names it, never a silent reset.
	if err := os.WriteFile(state, []byte("not a state file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "fake", "--addr", "127.0.0.1:0", "--state", state)
	if r.code != exitOther || !strings.Contains(r.stderr, state) {
		t.Errorf("corrupt state: exit %d %s", r.code, r.stderr)
	}
}
