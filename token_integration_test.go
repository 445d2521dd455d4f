// Integration tests of the token files (token.go's Client.Token, the
// manager's fallback from a refused refresh to a grant) through the
// exported API, against the fake bKash of package bkashtest. The tests of
// their unexported code are in token_test.go, tokenmanager_test.go and the
// other token*_test.go files.

package bkash_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// TestRefusedRefreshFallsBackToGrant: a token from elsewhere in a shared
// store is rejected (401), its refresh_token is refused with a bKash code,
// and the client grants a new token instead of failing the call.
func TestRefusedRefreshFallsBackToGrant(t *testing.T) {
	t.Parallel()
	store := bkash.NewMemoryTokenStore()
	other := bkashtest.NewServer()
	defer other.Close()
	srv := bkashtest.NewServer()
	defer srv.Close()
	ctx := context.Background()

	a, err := bkash.NewClient(bkash.Sandbox, other.Credentials(), bkash.WithBaseURL(other.URL), bkash.WithTokenStore(store))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Payments.Query(ctx, "TR0011Warm"); err == nil {
		t.Fatal("query of an unknown payment succeeded")
	}
	if other.Grants() != 1 {
		t.Fatalf("other server granted %d times, want 1", other.Grants())
	}

	// The store keeps one renewal budget for both clients (the same
	// credentials): a's grant, b's refresh and b's grant make 3.
	b, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL), bkash.WithTokenStore(store),
		bkash.WithTokenRenewalBudget(3))
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Payments.Create(ctx, &bkash.CreatePaymentParams{Amount: bkash.Taka(10), InvoiceNumber: "INV-FALLBACK",
		PayerReference: "01770618575", CallbackURL: "https://shop.example/cb"})
	if err != nil {
		t.Fatalf("create with a foreign stored token: %v", err)
	}
	if p.PaymentID == "" {
		t.Fatal("no paymentID")
	}
	if got := srv.Received("token.refresh"); got != 1 {
		t.Fatalf("refresh received %d times, want 1 (tried first)", got)
	}
	if got := srv.Grants(); got != 1 {
		t.Fatalf("grants = %d, want 1 (the fallback)", got)
	}
}

// TestClientTokenIsACopy: changing what Client.Token returns does not change
// the client's token.
func TestClientTokenIsACopy(t *testing.T) {
	t.Parallel()
	srv := bkashtest.NewServer()
	defer srv.Close()
	c, err := bkash.NewClient(bkash.Sandbox, srv.Credentials(), bkash.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	issued, expires := string(first.IDToken), first.ExpiresAt
	first.IDToken = "tampered"
	first.ExpiresAt = expires.Add(-48 * time.Hour)
	again, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.IDToken) != issued || !again.ExpiresAt.Equal(expires) {
		t.Fatal("the client's token changed when the caller changed the returned one")
	}
	if srv.Grants() != 1 {
		t.Fatalf("grants = %d, want 1", srv.Grants())
	}
}

// grantFailures are the ways the fake fails every grant.
var grantFailures = map[string]func(w http.ResponseWriter){
	"503 gateway": func(w http.ResponseWriter) {
		w.WriteHeader(503)
		_, _ = io.WriteString(w, `{"message":"Service Unavailable"}`)
	},
	"502 html": func(w http.ResponseWriter) { w.WriteHeader(502); _, _ = io.WriteString(w, "<html>bad gateway</html>") },
	"500 json": func(w http.ResponseWriter) { w.WriteHeader(500); _, _ = io.WriteString(w, `{"error":"boom"}`) },
	"9999": func(w http.ResponseWriter) {
		_, _ = io.WriteString(w, `{"statusCode":"9999","statusMessage":"System Error"}`)
	},
	"2001": func(w http.ResponseWriter) {
		_, _ = io.WriteString(w, `{"statusCode":"2001","statusMessage":"Invalid App Key"}`)
	},
	"no id_token": func(w http.ResponseWriter) {
		_, _ = io.WriteString(w, `{"statusCode":"0000","statusMessage":"Successful"}`)
	},
	"garbage":   func(w http.ResponseWriter) { _, _ = io.WriteString(w, `{"statusCode":"00`) },
	"drop":      func(w http.ResponseWriter) { panic(http.ErrAbortHandler) },
	"429 retry": func(w http.ResponseWriter) { w.Header().Set("Retry-After", "0"); w.WriteHeader(429) },
	"401 gateway": func(w http.ResponseWriter) {
		w.WriteHeader(401)
		_, _ = io.WriteString(w, `{"message":"Unauthorized"}`)
	},
	"fast respond": func(w http.ResponseWriter) { w.Header().Set("Connection", "close"); w.WriteHeader(503) },
}

func TestReplicasSharingAMemoryStoreSendAtMostTwoGrants(t *testing.T) {
	t.Parallel()
	for name, fail := range grantFailures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var grants atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.URL.Path, "/token/") {
					grants.Add(1)
					if name != "fast respond" {
						_, _ = io.ReadAll(r.Body)
					}
					fail(w)
					return
				}
				_, _ = io.ReadAll(r.Body)
				_, _ = io.WriteString(w, `{"statusCode":"2002","statusMessage":"Invalid Payment ID"}`)
			}))
			defer srv.Close()
			store := bkash.NewMemoryTokenStore()
			creds := bkash.Credentials{Username: "u", Password: "p", AppKey: "k", AppSecret: "s"}
			var clients []*bkash.Client
			for i := 0; i < 6; i++ {
				c, err := bkash.NewClient(bkash.Sandbox, creds, bkash.WithBaseURL(srv.URL), bkash.WithTokenStore(store),
					bkash.WithRetryPolicy(fastRetries), bkash.WithHTTPClient(&http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}))
				if err != nil {
					t.Fatal(err)
				}
				clients = append(clients, c)
			}
			var wg sync.WaitGroup
			for round := 0; round < 4; round++ {
				for _, c := range clients {
					for g := 0; g < 4; g++ {
						wg.Add(1)
						go func() {
							defer wg.Done()
							_, _ = c.Payments.Query(context.Background(), "TR0011X")
							_, _ = c.Token(context.Background())
						}()
					}
				}
				wg.Wait()
			}
			if n := grants.Load(); n > 2 {
				t.Errorf("%d grant/refresh requests reached bKash, want at most 2", n)
			}
		})
	}
}

// TestAnsweredGrantIsCountedEvenWithItsBodyUnread: a grant answered
// without its body being read (a proxy's or a gateway's immediate 503/401,
// a rate limiter in front of bKash) reached a server with the Username and
// Password headers: it counts against the budget, which is not given back.
func TestAnsweredGrantIsCountedEvenWithItsBodyUnread(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusUnauthorized, http.StatusOK} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			mt := httpmock.NewMockTransport()
			var grants atomic.Int32
			mt.RegisterResponder(http.MethodPost, mockRoot+pathGrant, func(*http.Request) (*http.Response, error) {
				grants.Add(1) // answers at once, without reading the body
				if status == http.StatusOK {
					return httpmock.NewStringResponse(status, `{"statusCode":"9999","statusMessage":"System Error"}`), nil
				}
				return httpmock.NewStringResponse(status, `{"message":"`+http.StatusText(status)+`"}`), nil
			})
			store := bkash.NewMemoryTokenStore()
			for i := 0; i < 3; i++ {
				c, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{Username: "u", Password: "p", AppKey: "k", AppSecret: "s"},
					bkash.WithHTTPClient(&http.Client{Transport: mt}), bkash.WithRetryPolicy(fastRetries), bkash.WithTokenStore(store))
				if err != nil {
					t.Fatal(err)
				}
				for j := 0; j < 5; j++ {
					_, _ = c.Token(context.Background())
				}
			}
			if n := grants.Load(); n > 2 {
				t.Errorf("%d answered grant requests, want at most 2 an hour", n)
			}
		})
	}
}
