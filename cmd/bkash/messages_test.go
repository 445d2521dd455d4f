package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/smartdairy/bkash-go"
)

// noCreds is an environment without credentials of any kind: a usage error
// must be reported as one (exit 2) before credentials are looked for.
func noCreds(t *testing.T) map[string]string { return map[string]string{"HOME": t.TempDir()} }

// firstLine of a run's stderr.
func stderrLine(r result) string {
	line, _, _ := strings.Cut(r.stderr, "\n")
	return line
}

func TestInvalidInputNamesTheFlagAndComesBeforeCredentials(t *testing.T) {
	t.Parallel()
	pay := func(extra ...string) []string {
		args := map[string]string{"--amount": "10", "--invoice": "INV-1", "--payer-ref": "01770618575", "--callback": "https://shop.example/cb"}
		for i := 0; i+1 < len(extra); i += 2 {
			args[extra[i]] = extra[i+1]
		}
		out := []string{"payment", "create"}
		for k, v := range args {
			out = append(out, k, v)
		}
		return out
	}
	refund := func(extra ...string) []string {
		args := map[string]string{"--payment-id": "TR0011", "--trx-id": "ABC123", "--amount": "5", "--sku": "SKU-1", "--reason": "returned"}
		for i := 0; i+1 < len(extra); i += 2 {
			args[extra[i]] = extra[i+1]
		}
		out := []string{"refund", "create"}
		for k, v := range args {
			out = append(out, k, v)
		}
		return out
	}
	long := strings.Repeat("x", 256)
	tests := []struct {
		args []string
		want string // the whole first line of stderr
	}{
		{pay("--callback", "shop.example/cb"), "bkash payment create: --callback must be an absolute http or https URL"},
		{pay("--callback", "https:///cb"), "bkash payment create: --callback has no host"},
		{pay("--invoice", "INV<1>"), "bkash payment create: --invoice must not contain <"},
		{pay("--invoice", long), "bkash payment create: --invoice is longer than 255 characters"},
		{pay("--payer-ref", "a&b"), "bkash payment create: --payer-ref must not contain &"},
		{pay("--merchant-info", "x>y"), "bkash payment create: --merchant-info must not contain >"},
		{pay("--agreement", "  "), "bkash payment create: --agreement is required"},
		{[]string{"agreement", "create", "--payer-ref", "01770618575", "--callback", "ftp://x.example/"}, "bkash agreement create: --callback must be an absolute http or https URL"},
		{[]string{"agreement", "create", "--payer-ref", long, "--callback", "https://x.example/"}, "bkash agreement create: --payer-ref is longer than 255 characters"},
		{refund("--sku", "a<b"), "bkash refund create: --sku must not contain <"},
		{refund("--reason", long), "bkash refund create: --reason is longer than 255 characters"},
		{refund("--payment-id", " "), "bkash refund create: --payment-id is required"},
		{refund("--trx-id", " "), "bkash refund create: --trx-id is required"},
		{[]string{"payment", "query", " "}, "bkash payment query: argument 1 (<paymentID>) is empty"},
		{[]string{"refund", "status", "TR1", ""}, "bkash refund status: argument 2 (<paymentID> <trxID>) is empty"},
	}
	for _, tt := range tests {
		r := runCLI(t, noCreds(t), tt.args...)
		if r.code != exitUsage || stderrLine(r) != tt.want {
			t.Errorf("%q:\nexit %d, stderr %q\nwant exit %d, %q", tt.args, r.code, stderrLine(r), exitUsage, tt.want)
		}
		if strings.Contains(r.stderr, "Params") || strings.Contains(r.stderr, "no credentials") {
			t.Errorf("%q: stderr names a Go field or credentials:\n%s", tt.args, r.stderr)
		}
	}
}

// Every field the SDK validates in the params the command builds maps to the
// flag that carries it.
func TestEveryValidatedFieldHasAFlag(t *testing.T) {
	t.Parallel()
	for _, v := range []any{bkash.CreatePaymentParams{}, bkash.CreateAgreementParams{}, bkash.RefundParams{}} {
		ty := reflect.TypeOf(v)
		for i := range ty.NumField() {
			field := ty.Name() + "." + ty.Field(i).Name
			if _, ok := fieldFlags[field]; !ok {
				t.Errorf("%s has no flag in fieldFlags", field)
			}
		}
	}
	// A validation error the SDK returns after the command's own checks
	// (classify) names the flag too.
	b := classify(&bkash.ValidationError{Field: "CreatePaymentParams.CallbackURL", Reason: "has no host"})
	if b.Message != "--callback has no host" || b.ExitCode != exitUsage {
		t.Errorf("classify = %+v", b)
	}
}

func TestTimeoutMustBePositive(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--timeout", "-1s", "payment", "query", "TR1"}, "bkash payment query: --timeout must be positive, not -1s"},
		{[]string{"payment", "query", "TR1", "--timeout=0"}, "bkash payment query: --timeout must be positive, not 0s"},
		{[]string{"search", "--timeout", "-5m", "ABC"}, "bkash search: --timeout must be positive, not -5m0s"},
	} {
		r := runCLI(t, noCreds(t), tt.args...)
		if r.code != exitUsage || stderrLine(r) != tt.want {
			t.Errorf("%q: exit %d, stderr %q; want exit 2, %q", tt.args, r.code, stderrLine(r), tt.want)
		}
	}
}

func TestGlobalFlagsBetweenGroupAndSubcommand(t *testing.T) {
	t.Parallel()
	f := newFakeCLI(t)
	id := f.createPayment("25")
	for _, args := range [][]string{
		{"payment", "--json", "query", id},
		{"payment", "--timeout", "10s", "--json", "query", id},
		{"payment", "--json", "--", "query", id},
	} {
		r := f.run(args...)
		if r.code != exitOK {
			t.Errorf("%q: exit %d, stderr %q", args, r.code, r.stderr)
			continue
		}
		if got := decodeJSON(t, r.stdout)["payment_id"]; got != id {
			t.Errorf("%q: payment_id %v, want %s", args, got, id)
		}
	}
	// A flag a group does not know is still a usage error of that group.
	r := runCLI(t, noCreds(t), "payment", "--frob", "query", "TR1")
	if r.code != exitUsage || stderrLine(r) != "bkash payment: flag provided but not defined: -frob" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, noCreds(t), "payment", "--timeout", "-1s", "query", "TR1")
	if r.code != exitUsage || stderrLine(r) != "bkash payment query: --timeout must be positive, not -1s" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// Every message starts with the command's name, as the go command's do:
// usage errors, configuration errors and bKash's answers alike.
func TestMessagesStartWithTheCommandName(t *testing.T) {
	t.Parallel()
	r := runCLI(t, noCreds(t), "payment", "query", "TR1")
	if want := "bkash payment query: no credentials: set BKASH_USERNAME"; r.code != exitOther || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want 4, %q...", r.code, r.stderr, want)
	}
	r = runCLI(t, noCreds(t), "payment", "create", "--amount", "10")
	if want := "bkash payment create: missing required flag(s): --invoice, --payer-ref, --callback"; r.code != exitUsage || stderrLine(r) != want {
		t.Errorf("exit %d, stderr %q; want 2, %q", r.code, r.stderr, want)
	}
	f := newFakeCLI(t)
	r = f.run("payment", "execute", f.createPayment("30"))
	if want := "bkash payment execute: bKash error 2056: Invalid Payment State (payment.execute, http 200)"; r.code != exitBkash || stderrLine(r) != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n")[:1] {
		if strings.HasPrefix(line, "error:") {
			t.Errorf("old-style message %q", line)
		}
	}
}
