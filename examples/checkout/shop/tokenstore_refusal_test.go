package shop

// Attacks on the shop's token store refusing through the SDK (9bcf1ad):
// TakeRenewal wraps any database error in bkash.ErrTokenBudgetExceeded, and
// the SDK returns that text to the caller, the observer (the audit log) and
// the log. The rules under attack: nothing is sent while the count cannot
// be kept, and the database password of the DSN reaches no error string,
// log line or audit row.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
	"github.com/smartdairy/bkash-go/examples/checkout/internal/pgtest"
)

// dsnPassword is the database password of the DSNs below: PostgreSQL on
// trust auth ignores it, but pgx holds it and could quote it.
const dsnPassword = "pgPW-SECRET-5f2e"

// tcpProxy forwards connections to target until cut, which closes the
// listener and every connection: the database becomes unreachable.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(d, c); d.Close() }()
			go func() { _, _ = io.Copy(c, d); c.Close() }()
		}
	})
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) cut() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// TestTokenStoreRefusalCarriesNoDSNPassword: a shop process on PostgreSQL
// with a password in its DSN loses the database (the connection drops,
// then it is refused). The count's refusal, the client's error, the SDK's
// log and the store's own errors do not quote the password.
func TestTokenStoreRefusalCarriesNoDSNPassword(t *testing.T) {
	t.Parallel()
	base, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, base.Host)
	u := *base
	u.Host = proxy.ln.Addr().String()
	u.User = url.UserPassword(base.User.Username(), dsnPassword)
	dsn := u.String()
	if !strings.Contains(dsn, dsnPassword) {
		t.Fatalf("dsn %q holds no password", u.Redacted())
	}
	s := open(t, dsn)
	fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
	t.Cleanup(fake.Close)
	var logs syncBuffer
	opts, err := s.TokenOptions(shopCreds)
	if err != nil {
		t.Fatal(err)
	}
	opts = append(opts, bkash.WithBaseURL(fake.URL), bkash.WithAllowHTTP(), bkash.WithBodyLogging(),
		bkash.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	c, err := bkash.NewClient(bkash.Sandbox, shopCreds, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := s.TokenStore().TakeRenewal(ctx, "warm", 2, time.Hour); err != nil {
		t.Fatalf("TakeRenewal through the proxy: %v", err)
	}

	proxy.cut() // the database is gone: open connections drop, new ones are refused
	var texts []string
	ts := s.TokenStore()
	id, _, err := ts.TakeRenewal(ctx, "k", 2, time.Hour)
	if id != "" || !errors.Is(err, bkash.ErrTokenBudgetExceeded) {
		t.Fatalf("TakeRenewal with the database gone = %q, %v; want the count's refusal", id, err)
	}
	texts = append(texts, err.Error())
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err = c.Token(tctx)
	if !errors.Is(err, bkash.ErrTokenBudgetExceeded) || !strings.Contains(err.Error(), "could not count the request") {
		t.Errorf("Token with the database gone: %v; want the count's refusal", err)
	}
	if err != nil {
		texts = append(texts, err.Error())
	}
	if _, err := ts.Load(ctx, "k"); err != nil {
		texts = append(texts, err.Error())
	}
	if _, err := ts.Lock(ctx, "k", time.Second); err != nil {
		texts = append(texts, err.Error())
	}
	if err := ts.ReturnRenewal(ctx, "k", "id"); err != nil {
		texts = append(texts, err.Error())
	}
	// A process that starts while the database is gone.
	if _, err := OpenStore(ctx, dsn, nil); err != nil {
		texts = append(texts, err.Error())
	} else {
		t.Error("OpenStore succeeded with the database gone")
	}
	texts = append(texts, logs.String())
	for _, text := range texts {
		if strings.Contains(text, dsnPassword) {
			t.Errorf("the DSN's password is quoted in %q", text)
		}
	}
	if n := fake.Grants(); n != 0 {
		t.Errorf("%d grants sent while the database was gone", n)
	}
	for _, text := range texts[:len(texts)-1] {
		t.Logf("error: %s", text)
	}
}

// TestTokenStoreRefusalWhileTheCountIsLockedElsewhere: another session holds
// the renewal count's advisory lock (a stuck transaction). A TakeRenewal
// whose context ends while it waits is refused, matching
// bkash.ErrTokenBudgetExceeded (not an uncounted request), and once the lock
// is free the count works again and has recorded nothing.
func TestTokenStoreRefusalWhileTheCountIsLockedElsewhere(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	s := open(t, dsn)
	holder := open(t, dsn)
	ctx := context.Background()
	conn, err := holder.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, hashtext($2))`, renewalLockSpace, "k"); err != nil {
		t.Fatal(err)
	}
	ts := s.TokenStore()
	wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	id, _, err := ts.TakeRenewal(wctx, "k", 2, time.Hour)
	cancel()
	if id != "" || !errors.Is(err, bkash.ErrTokenBudgetExceeded) {
		t.Fatalf("TakeRenewal behind a held lock = %q, %v; want the count's refusal", id, err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, renewalLockSpace, "k"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if id, _, err := ts.TakeRenewal(ctx, "k", 2, time.Hour); err != nil || id == "" {
			t.Fatalf("TakeRenewal %d after the lock was freed = %q, %v; want a request (the refusal recorded none)", i+1, id, err)
		}
	}
}

// TestRefundRefusedByTheCountIsNotAnUnknownOutcome: the renewal count's
// table fails (a botched migration, a revoked grant) while the orders
// work. An admin refunds a paid order; the client needs a token, the
// count refuses the grant, and neither the grant nor the refund is sent.
// The SDK's error says nothing was sent; the shop must not report the
// refund's outcome as unknown, leave it pending for the reconciler (which
// then reads bKash's refund status for a refund that never left), or tell
// the admin that "bKash did not answer".
func TestRefundRefusedByTheCountIsNotAnUnknownOutcome(t *testing.T) {
	databases(t, func(t *testing.T, dsn string) {
		fake := bkashtest.NewServer(bkashtest.WithCredentials(shopCreds))
		t.Cleanup(fake.Close)
		clients, stores := fleet(t, dsn, fake, 1)
		st := stores[0]
		o, err := st.CreateOrder("cust-1", []Item{{SKU: "milk-1l", Name: "Fresh milk", Qty: 1, UnitPrice: bkash.Taka(95)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateOrder(o.ID, func(o *Order) error {
			o.Status, o.PaymentID, o.TrxID, o.Paid, o.PaidAt = OrderPaid, "TR0011refusal", "BFI70REFUSE", o.Total, time.Now()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB().Exec(`ALTER TABLE bkash_token_renewals RENAME TO bkash_token_renewals_broken`); err != nil {
			t.Fatal(err)
		}
		sh, err := New(Config{Client: clients[0], Store: st, PublicURL: "http://shop.test", ReconcileEvery: time.Hour, RefundSettleAfter: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sh.Close() })

		req := httptest.NewRequest(http.MethodPost, "/admin/orders/"+o.ID+"/refund", strings.NewReader(url.Values{"full": {"1"}, "reason": {"test"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		sh.Handler().ServeHTTP(rec, req)
		body := rec.Body.String()

		if n := fake.Received("refund.create") + fake.Grants(); n != 0 {
			t.Fatalf("%d requests sent while the count refused", n)
		}
		got, err := st.Order(o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Code == http.StatusAccepted || strings.Contains(body, "outcome is unknown") || strings.Contains(body, "not re-sent") {
			t.Errorf("admin page: status %d, reports an unknown outcome for a refund that was never sent:\n%s", rec.Code, excerpt(body, "Order "+o.ID))
		}
		if got.RefundPending != nil {
			t.Errorf("the refund stays pending (%+v) although nothing was sent: the reconciler will ask bKash about it and a second refund is blocked", *got.RefundPending)
		}
	})
}

// excerpt is the part of an HTML page around the first s, for a message.
func excerpt(body, s string) string {
	i := strings.Index(body, s)
	if i < 0 {
		return "(no " + s + " on the page)"
	}
	return body[i:min(len(body), i+400)]
}
