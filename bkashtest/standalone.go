package bkashtest

import (
	"context"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
)

// WithListener serves the fake on l instead of a new loopback port, for a
// fake that other processes reach (the "bkash fake" command listens on the
// address it is given). Server.URL is then http:// plus l's address, unless
// WithPublicURL says otherwise. Close closes l.
func WithListener(l net.Listener) Option {
	if l == nil {
		panic("bkashtest: WithListener(nil)")
	}
	return func(c *config) { c.listener = l }
}

// WithPublicURL sets Server.URL, the root the bkashURLs of created payments
// point at, when clients reach the fake under another address than the one
// it listens on (a container's published port, a proxy): u is an absolute
// http(s) URL without query or fragment, e.g. "http://localhost:9090".
func WithPublicURL(u string) Option {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.RawQuery != "" || p.Fragment != "" || p.User != nil {
		panic("bkashtest: WithPublicURL: " + strconv.Quote(u) + " is not an absolute http(s) URL without user info, query or fragment")
	}
	root := strings.TrimRight(u, "/")
	return func(c *config) { c.publicURL = root }
}

// WithRefundAPIs enables only the given refund APIs (both by default), like a
// merchant account provisioned for one of them: the paths of the other answer
// as API Gateway answers an unknown route, HTTP 403 "Missing Authentication
// Token".
func WithRefundAPIs(apis ...bkash.RefundAPI) Option {
	if len(apis) == 0 {
		panic("bkashtest: WithRefundAPIs needs at least one API")
	}
	for _, a := range apis {
		if a != bkash.RefundV1 && a != bkash.RefundV2 {
			panic("bkashtest: WithRefundAPIs: unknown " + a.String())
		}
	}
	apis = slices.Clone(apis)
	return func(c *config) { c.refundAPIs = apis }
}

// servesPath reports whether the API path p is enabled (WithRefundAPIs).
func (c *config) servesPath(p string) bool {
	if c.refundAPIs == nil {
		return true
	}
	switch p {
	case pathRefund:
		return slices.Contains(c.refundAPIs, bkash.RefundV1)
	case pathV2Refund, pathV2RefStatus:
		return slices.Contains(c.refundAPIs, bkash.RefundV2)
	}
	return true
}

// WithSNSSigner makes signer the server's signer (Server.Signer): the one that
// signs the notifications of the control API and whose certificate it serves
// at /_bkashtest/sns/cert.pem. Give the same signer to WithWebhook.
func WithSNSSigner(signer *SNSSigner) Option {
	if signer == nil {
		panic("bkashtest: WithSNSSigner(nil)")
	}
	return func(c *config) { c.signer = signer }
}

// snsTopicARN is an SNS topic ARN: arn:aws:sns:<region>:<12-digit account>:<name>.
var snsTopicARN = regexp.MustCompile(`^arn:aws:sns:([a-z]{2}(?:-[a-z]+)+-[0-9]):([0-9]{12}):([A-Za-z0-9_-]{1,256}(?:\.fifo)?)$`)

// NewSNSSignerForTopic is NewSNSSigner for the given topic ARN (the one a
// webhook receiver is configured to accept), with its certificate URL on the
// topic's region: https://sns.<region>.amazonaws.com/SimpleNotificationService-<32 hex>.pem.
func NewSNSSignerForTopic(topicARN string) (*SNSSigner, error) {
	m := snsTopicARN.FindStringSubmatch(topicARN)
	if m == nil {
		return nil, &topicError{topicARN}
	}
	s, err := NewSNSSigner()
	if err != nil {
		return nil, err
	}
	s.topicARN = topicARN
	s.certURL = strings.Replace(s.certURL, "sns.ap-southeast-1.", "sns."+m[1]+".", 1)
	return s, nil
}

type topicError struct{ arn string }

func (e *topicError) Error() string {
	return "bkashtest: " + strconv.Quote(e.arn) + " is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic>)"
}

// NewTestServer starts a fake bKash server for the test t and closes it when
// the test ends (t.Cleanup). A setup error (an option that panics, a state
// file that cannot be opened) fails the test at once with t.Fatal; a state
// file whose final snapshot could not be written fails it at cleanup.
func NewTestServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := startServer(opts)
	if err != nil {
		t.Fatalf("bkashtest: NewTestServer: %v", err)
		return nil
	}
	t.Cleanup(func() {
		s.Close()
		if err := s.StateErr(); err != nil {
			t.Errorf("bkashtest: %v", err)
		}
	})
	return s
}

// startServer is Open that also returns the panic of an option as an error.
func startServer(opts []Option) (s *Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError{r}
		}
	}()
	return Open(opts...)
}

type panicError struct{ v any }

func (e panicError) Error() string {
	if err, ok := e.v.(error); ok {
		return err.Error()
	}
	if s, ok := e.v.(string); ok {
		return s
	}
	return "panic"
}

// PaymentNotification returns a signed SNS Notification body, published at t,
// for the completed payment p as bKash's instant payment notification
// describes it (trxID, amount, currency, invoice, the payer's wallet, the
// merchant's name and short code). Server.Notification builds it from the
// server's own payment; this is for notifications about payments made
// elsewhere ("bkash webhook send" with flags).
func (s *SNSSigner) PaymentNotification(p PaymentState, merchantName, shortCode string, t time.Time) ([]byte, error) {
	return s.NotificationAt(ipnMessage(completion{payment: p, merchantName: merchantName, shortCode: shortCode}), t)
}

// Shutdown stops the server gracefully: it stops accepting connections and
// waits for the requests in progress, injected delays included, until ctx
// ends; then it closes the server as Close does (aborting what is left). It
// returns ctx's error when requests were still running.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.ts.Config.Shutdown(ctx)
	s.Close()
	return err
}
