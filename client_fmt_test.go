package bkash

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fmtSecrets are the values no fmt verb may print, with distinctive text:
// the client's password and app secret, and the tokens the mock grants
// (eyJ-ID<n>-tok, eyJ-RF<n>-tok).
var fmtSecrets = []string{"pw-SECRET-7d1c", "appsecret-SECRET-91be", "eyJ-ID1-tok", "eyJ-RF1-tok", "eyJ-ID2-tok", "eyJ-RF2-tok"}

// secretForms returns the forms in which fmt could print s: as text, quoted
// (%q, %#v), in hex either case (%x, %X, with or without spaces) and as
// the decimal bytes of a []byte.
func secretForms(s string) []string {
	var dec []string
	for i := 0; i < len(s); i++ {
		dec = append(dec, strconv.Itoa(int(s[i])))
	}
	return []string{
		s, strconv.Quote(s), hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s))),
		fmt.Sprintf("% x", s), strings.Join(dec[:8], " "),
	}
}

// fmtVerbs are the verbs tried on every shape: the ones the issue names,
// and every other verb, since an unexpected verb on a pointer makes fmt
// print the pointed-to struct (%!s(*T=&{...})).
var fmtVerbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%d", "%t", "%c", "%U", "%e", "%f", "%g", "%o", "%b", "%p", "%T", "%10.3s", "%-+#v"}

// TestNoFmtVerbPrintsASecret: fmt.Sprintf("%+v", *client) printed the
// password and app secret, and so did %s of client.Payments or of any
// struct holding a *Client in an unexported field (fmt cannot call the
// methods of unexported fields, and an unexpected verb on a pointer makes
// it print what the pointer points to). Every verb, on every shape that
// holds the client, a service or the webhook verifier, with a granted and
// a rejected token in the client, prints none of the secrets in any form.
func TestNoFmtVerbPrintsASecret(t *testing.T) {
	t.Parallel()
	m := newCoreMock(t)
	c := m.client()
	// The token manager holds a current token and remembers a rejected one,
	// set here rather than through a renewal: fmt reads the client's state
	// without its locks, which the renewal's goroutines (singleflight)
	// would still be releasing (a race, not a leak).
	now := time.Now()
	t1 := &Token{IDToken: "eyJ-ID1-tok", RefreshToken: "eyJ-RF1-tok", ExpiresAt: now.Add(time.Hour)}
	t2 := &Token{IDToken: "eyJ-ID2-tok", RefreshToken: "eyJ-RF2-tok", ExpiresAt: now.Add(time.Hour), refreshAt: now.Add(time.Hour)}
	c.tokens.swap(t1)
	c.tokens.reject(t1)
	c.tokens.swap(t2)
	v, err := NewWebhookVerifier(WithAllowedTopicARNs("arn:aws:sns:ap-southeast-1:123456789012:t"))
	if err != nil {
		t.Fatal(err)
	}
	rec := &Reconciler{Payments: c.Payments, Report: func(ReconcileResult) {}}

	type (
		exported     struct{ C *Client }
		unexported   struct{ c *Client }
		value        struct{ c Client }
		embedded     struct{ *Client }
		embeddedVal  struct{ Client }
		payments     struct{ s *PaymentService }
		paymentsVal  struct{ s PaymentService }
		agreements   struct{ s *AgreementService }
		agreementVal struct{ s AgreementService }
		refunds      struct{ s *RefundService }
		refundsVal   struct{ s RefundService }
		embedPay     struct{ *PaymentService }
		embedPayVal  struct{ PaymentService }
		reconciler   struct{ r *Reconciler }
		reconcilerV  struct{ r Reconciler }
		verifier     struct{ v *WebhookVerifier }
		verifierVal  struct{ v WebhookVerifier }
		nested       struct{ inner unexported }
		nestedPtr    struct{ inner *value }
		inSlice      struct{ cs []Client }
		inMap        struct{ m map[string]*Client }
		inAny        struct{ x any }
	)
	shapes := map[string]any{
		"*Client": c, "Client": *c, "**Client": &c,
		"*PaymentService": c.Payments, "PaymentService": *c.Payments,
		"*AgreementService": c.Agreements, "AgreementService": *c.Agreements,
		"*RefundService": c.Refunds, "RefundService": *c.Refunds,
		"*Reconciler": rec, "*WebhookVerifier": v,
		"exported *Client": exported{c}, "unexported *Client": unexported{c}, "&unexported *Client": &unexported{c},
		"Client value field": value{*c}, "&Client value field": &value{*c},
		"embedded *Client": embedded{c}, "embedded Client": embeddedVal{*c}, "&embedded Client": &embeddedVal{*c},
		"*PaymentService field": payments{c.Payments}, "PaymentService field": paymentsVal{*c.Payments},
		"*AgreementService field": agreements{c.Agreements}, "AgreementService field": agreementVal{*c.Agreements},
		"*RefundService field": refunds{c.Refunds}, "RefundService field": refundsVal{*c.Refunds},
		"embedded *PaymentService": embedPay{c.Payments}, "embedded PaymentService": embedPayVal{*c.Payments},
		"*Reconciler field": reconciler{rec}, "*WebhookVerifier field": verifier{v},
		"nested": nested{unexported{c}}, "nested pointer": nestedPtr{&value{*c}},
		"slice of Client": inSlice{[]Client{*c}}, "map of *Client": inMap{map[string]*Client{"k": c}},
		"Client in interface": inAny{*c}, "*Client in interface": inAny{c},
		"PaymentService in interface": inAny{*c.Payments},
	}
	if rv := (reconcilerV{}); rv.r.Payments == nil {
		// Reconciler holds a mutex: a copy is built field by field.
		shapes["Reconciler field"] = reconcilerV{r: Reconciler{Payments: c.Payments}}
	}
	shapes["WebhookVerifier field"] = verifierVal{v: WebhookVerifier{certs: v.certs, client: v.client, topics: v.topics}}
	for name, x := range shapes {
		for _, verb := range fmtVerbs {
			out := fmt.Sprintf(verb, x)
			for _, s := range fmtSecrets {
				for _, form := range secretForms(s) {
					if strings.Contains(out, form) {
						t.Errorf("%s with %s prints %q (form %q of a secret): %.300s", name, verb, s, form, out)
					}
				}
			}
		}
	}
}
