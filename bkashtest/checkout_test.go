package bkashtest

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// merchant is the shop's callback endpoint: it records what the browser
// brings back.
type merchant struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []url.Values
}

func newMerchant(t *testing.T) *merchant {
	m := &merchant{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.got = append(m.got, r.URL.Query())
		m.mu.Unlock()
		_, _ = io.WriteString(w, "thank you")
	}))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *merchant) last(t *testing.T) url.Values {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.got) == 0 {
		t.Fatal("the browser never came back to the merchant")
	}
	return m.got[len(m.got)-1]
}

// browser is a net/http client with a cookie-less, redirect-following
// behaviour like a plain browser form post.
type browser struct {
	t  *testing.T
	hc *http.Client
}

func newBrowser(t *testing.T) *browser {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{t: t, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// page is a fetched HTML page and the URL it ended at.
type fetched struct {
	status int
	final  *url.URL
	body   string
}

func (b *browser) get(u string) fetched {
	b.t.Helper()
	resp, err := b.hc.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.read(resp)
}

func (b *browser) post(u string, form url.Values) fetched {
	b.t.Helper()
	resp, err := b.hc.PostForm(u, form)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.read(resp)
}

func (b *browser) read(resp *http.Response) fetched {
	b.t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return fetched{status: resp.StatusCode, final: resp.Request.URL, body: string(body)}
}

var (
	reHidden = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	reAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// submit fills the page's form with fields and presses the button with id
// button ("confirm" or "cancel").
func (b *browser) submit(base string, pg fetched, button string, fields map[string]string) fetched {
	b.t.Helper()
	for name := range fields {
		if !strings.Contains(pg.body, `name="`+name+`"`) {
			b.t.Fatalf("the page has no input named %q:\n%s", name, pg.body)
		}
	}
	if !strings.Contains(pg.body, `id="`+button+`"`) {
		b.t.Fatalf("the page has no button %q", button)
	}
	form := url.Values{"action": {button}}
	for _, m := range reHidden.FindAllStringSubmatch(pg.body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	for k, v := range fields {
		form.Set(k, v)
	}
	action := reAction.FindStringSubmatch(pg.body)
	if action == nil {
		b.t.Fatalf("no form on the page:\n%s", pg.body)
	}
	return b.post(base+action[1], form)
}

func TestCheckoutThroughTheHostedPage(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	shop := newMerchant(t)
	body := paymentBody("150.50", "sale")
	body["callbackURL"] = shop.srv.URL + "/bkash/callback?order=A-1001"
	cr := mustOK(t, "create", c.call(createPath, body))
	id := cr.str("paymentID")

	br := newBrowser(t)
	pg := br.get(cr.str("bkashURL"))
	if pg.status != http.StatusOK {
		t.Fatalf("GET bkashURL: %d\n%s", pg.status, pg.body)
	}
	for _, want := range []string{`id="wallet"`, `id="otp"`, `id="pin"`, `id="confirm"`, `id="cancel"`, "150.50", "INV-1", `value="` + walletOK + `"`} {
		if !strings.Contains(pg.body, want) {
			t.Errorf("checkout page lacks %s", want)
		}
	}

	wrong := br.submit(c.srv.URL, pg, "confirm", map[string]string{"wallet": walletOK, "otp": "000000", "pin": PIN})
	if wrong.status != http.StatusOK || !strings.Contains(wrong.body, `id="error"`) || !strings.Contains(wrong.body, "Wrong verification code") {
		t.Fatalf("wrong OTP: %d\n%s", wrong.status, wrong.body)
	}
	wantCode(t, "execute after a wrong OTP", c.call(executePath, map[string]string{"paymentID": id}), http.StatusOK, "2056")

	done := br.submit(c.srv.URL, wrong, "confirm", map[string]string{"wallet": walletOK, "otp": OTP, "pin": PIN})
	if done.status != http.StatusOK || done.final.Host != strings.TrimPrefix(shop.srv.URL, "http://") {
		t.Fatalf("after confirming, the browser is at %s (%d)", done.final, done.status)
	}
	st, _ := c.srv.Payment(id)
	want := url.Values{
		"order": {"A-1001"}, "paymentID": {id}, "status": {"success"},
		"signature": {st.Signature}, "apiVersion": {"1.2.0-beta/"},
	}
	if diff := cmp.Diff(want, shop.last(t)); diff != "" {
		t.Errorf("callback query (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(done.final.RawQuery, "order=A-1001&paymentID=") {
		t.Errorf("bKash appends its parameters after the merchant's: %s", done.final.RawQuery)
	}

	e := mustOK(t, "execute", c.call(executePath, map[string]string{"paymentID": id}))
	if e.str("customerMsisdn") != walletOK {
		t.Errorf("execute: %s", e.raw)
	}
	if again := br.get(cr.str("bkashURL")); again.status != http.StatusGone {
		t.Errorf("page after payment: %d, want 410", again.status)
	}
}

func TestCheckoutPageOutcomes(t *testing.T) {
	t.Parallel()
	c := newAPI(t)
	shop := newMerchant(t)
	br := newBrowser(t)
	open := func(body map[string]string) (string, fetched) {
		body["callbackURL"] = shop.srv.URL + "/cb"
		cr := mustOK(t, "create", c.call(createPath, body))
		return cr.str("paymentID"), br.get(cr.str("bkashURL"))
	}

	t.Run("cancel", func(t *testing.T) {
		id, pg := open(paymentBody("10", "sale"))
		br.submit(c.srv.URL, pg, "cancel", nil)
		if got := shop.last(t); got.Get("status") != "cancel" || got.Get("paymentID") != id {
			t.Errorf("callback: %v", got)
		}
		if st, _ := c.srv.Payment(id); st.CustomerStatus != "cancel" {
			t.Errorf("CustomerStatus = %q", st.CustomerStatus)
		}
	})

	t.Run("three wrong entries end in failure", func(t *testing.T) {
		id, pg := open(paymentBody("10", "sale"))
		entries := []map[string]string{
			{"wallet": "01700000000", "otp": OTP, "pin": PIN},
			{"wallet": walletOK, "otp": OTP, "pin": "00000"},
			{"wallet": walletOK, "otp": "1", "pin": PIN},
		}
		messages := []string{"Invalid wallet number", "Wrong PIN"}
		for i, e := range entries {
			pg = br.submit(c.srv.URL, pg, "confirm", e)
			if i < len(messages) && !strings.Contains(pg.body, messages[i]) {
				t.Errorf("entry %d: page lacks %q", i, messages[i])
			}
		}
		got := shop.last(t)
		st, _ := c.srv.Payment(id)
		if got.Get("status") != "failure" || got.Get("signature") != st.Signature || st.CustomerStatus != "failure" {
			t.Errorf("after three failures: callback %v, state %+v", got, st)
		}
		wantCode(t, "execute after failure", c.call(executePath, map[string]string{"paymentID": id}), http.StatusOK, "2056")
	})

	t.Run("agreement creation and a PIN-only payment", func(t *testing.T) {
		id, pg := open(map[string]string{"mode": "0000", "payerReference": walletOther})
		if !strings.Contains(pg.body, "Link your bKash account") {
			t.Errorf("agreement page:\n%s", pg.body)
		}
		br.submit(c.srv.URL, pg, "confirm", map[string]string{"wallet": walletOther, "otp": OTP, "pin": PIN})
		if shop.last(t).Get("status") != "success" {
			t.Fatalf("agreement callback: %v", shop.last(t))
		}
		agID := mustOK(t, "execute agreement", c.call(executePath, map[string]string{"paymentID": id})).str("agreementID")

		body := paymentBody("99", "sale")
		body["mode"], body["agreementID"] = "0001", agID
		pid, pg := open(body)
		if strings.Contains(pg.body, `id="wallet"`) || strings.Contains(pg.body, `id="otp"`) || !strings.Contains(pg.body, `id="pin"`) {
			t.Errorf("a 0001 page asks for the PIN only:\n%s", pg.body)
		}
		br.submit(c.srv.URL, pg, "confirm", map[string]string{"pin": PIN})
		if got := shop.last(t); got.Get("paymentID") != pid || got.Get("status") != "success" {
			t.Errorf("0001 callback: %v", got)
		}
		if e := mustOK(t, "execute 0001", c.call(executePath, map[string]string{"paymentID": pid})); e.str("customerMsisdn") != walletOther {
			t.Errorf("execute 0001: %s", e.raw)
		}
	})

	t.Run("a link with a wrong hash is refused", func(t *testing.T) {
		id, _ := open(paymentBody("10", "sale"))
		pg := br.get(c.srv.URL + "/checkout?paymentId=" + id + "&hash=forged&mode=0011")
		if pg.status != http.StatusNotFound {
			t.Errorf("forged link: %d", pg.status)
		}
		resp, err := br.hc.PostForm(c.srv.URL+"/checkout", url.Values{"paymentId": {id}, "hash": {"forged"}, "pin": {PIN}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("forged post: %d", resp.StatusCode)
		}
		if st, _ := c.srv.Payment(id); st.CustomerStatus != "" {
			t.Errorf("a forged post changed the payment: %+v", st)
		}
	})
}

func TestExpiredCheckoutPageSendsTheCustomerBack(t *testing.T) {
	t.Parallel()
	clock := fixedClock(t)
	c := newAPI(t, WithClock(clock.Now))
	shop := newMerchant(t)
	body := paymentBody("10", "sale")
	body["callbackURL"] = shop.srv.URL + "/cb"
	cr := mustOK(t, "create", c.call(createPath, body))
	clock.Advance(25 * time.Hour)
	newBrowser(t).get(cr.str("bkashURL"))
	if got := shop.last(t); got.Get("status") != "failure" || got.Get("paymentID") != cr.str("paymentID") {
		t.Errorf("expired page: callback %v", got)
	}
}
