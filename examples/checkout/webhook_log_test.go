package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/smartdairy/bkash-go/examples/checkout/internal/pgtest"
)

// TestEveryRejectedWebhookIsLogged: webhook_log keeps every message,
// verified or not. A forged body is whatever its sender chose: a NUL byte,
// bytes that are not UTF-8, a wallet number cut by the length bound. None of
// them may keep the row out of the log (PostgreSQL's TEXT refuses NUL and
// invalid UTF-8) or leave a wallet number unmasked.
func TestEveryRejectedWebhookIsLogged(t *testing.T) {
	t.Parallel()
	bodies := map[string]string{
		"NUL byte":        "{\"Type\":\"Notification\",\"Message\":\"a\x00b\"}",
		"not UTF-8":       "{\"Type\":\"Notification\",\"Message\":\"\xff\xfe\"}",
		"cut in a rune":   strings.Repeat("x", 4095) + "টাকা",
		"cut in a wallet": strings.Repeat("x", 4086) + "01619777283",
	}
	run := func(t *testing.T, ts *testShop) {
		for name, body := range bodies {
			resp, err := ownClient().Post(ts.url+"/bkash/webhook", "text/plain", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", name, resp.StatusCode)
			}
		}
		rows, err := ts.store.DB().Query(`SELECT payload FROM webhook_log WHERE verified = false`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				t.Fatal(err)
			}
			n++
			if strings.Contains(p, "016197772") {
				t.Errorf("a logged payload keeps part of a wallet number: ...%s", p[max(0, len(p)-40):])
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n != len(bodies) {
			t.Errorf("webhook_log holds %d rejected messages, want %d", n, len(bodies))
		}
	}
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		run(t, startShop(t, ""))
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		run(t, startShopWith(t, options{databaseURL: pgtest.NewDatabase(t)}))
	})
}
