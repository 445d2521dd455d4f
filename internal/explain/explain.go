// Package explain is the troubleshooting guide of bkash-go: what each bKash
// status code and each answer of bKash's API gateway means and what to do
// about it. The codes' entries come from the SDK's own code table
// (bkash.ErrorCodes with Message, Class and Advice); the gateway's answers,
// which carry no bKash code, are described here.
//
// docs/troubleshooting.md is generated from it (go generate
// ./internal/explain) and "bkash explain CODE" prints its entries, so the two
// never drift; a test fails when the committed file differs.
package explain

//go:generate go run ./gen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"sort"
	"strconv"
	"strings"

	"github.com/smartdairy/bkash-go"
)

// Entry is one answer a user may meet.
type Entry struct {
	// Key is what "bkash explain" matches exactly: the bKash code ("2056") or
	// the gateway's HTTP status ("403").
	Key string
	// Title is the entry's heading: code and message, or the HTTP status and
	// the gateway's body.
	Title string
	// GoName is the constant to use with errors.Is, for a bKash code.
	GoName string
	// Class is the SDK's class of the code (bkash.ErrorClass), for a code.
	Class string
	// Means says what happened; Advice what to do.
	Means  string
	Advice string
}

// classMeans says what a class of codes means; its advice is
// bkash.ErrorClass.Advice.
var classMeans = map[bkash.ErrorClass]string{
	bkash.ClassUnknown:     "a code outside bKash's published table",
	bkash.ClassCustomer:    "about the customer's wallet, PIN, OTP or balance",
	bkash.ClassValidation:  "bKash found the request malformed",
	bkash.ClassState:       "the payment or agreement is not in a state that allows the call",
	bkash.ClassAlreadyDone: "already executed, cancelled or processed",
	bkash.ClassTransient:   "a failure on bKash's side; on a money call the outcome is unknown",
	bkash.ClassAuth:        "credentials, app key or token refused",
	bkash.ClassRefund:      "a refund rule was broken",
	bkash.ClassPermission:  "the merchant or a party is not permitted",
	bkash.ClassNotFound:    "the referenced object does not exist",
}

// Codes returns the entries of every code in the SDK's table, in numeric
// order.
func Codes() []Entry {
	var out []Entry
	for _, c := range bkash.ErrorCodes() {
		out = append(out, codeEntry(c))
	}
	return out
}

func codeEntry(c bkash.ErrorCode) Entry {
	cl := c.Class()
	means := fmt.Sprintf("bKash's message: %q. Class %s: %s.", c.Message(), cl, classMeans[cl])
	if c == bkash.CodeSuccessful {
		means = fmt.Sprintf("bKash's message: %q. The call succeeded.", c.Message())
	}
	return Entry{
		Key: string(c), Title: string(c) + " " + c.Message(), GoName: goNames[string(c)],
		Class: cl.String(), Means: means, Advice: c.Advice(),
	}
}

// Gateway returns the entries of answers that carry no bKash code: those of
// the API gateway in front of bKash (a JSON object whose only key is
// "message"), the v2 refund API's errors, and what the SDK does with
// anything else.
func Gateway() []Entry { return gateway }

var gateway = []Entry{
	{
		Key: "401", Title: `401 {"message":"Unauthorized"} or {"message":"The incoming token has expired"}`,
		Means: "The gateway refused the id_token (missing, invalid or expired) before the request reached bKash.",
		Advice: "The SDK renews the token and replays the call once, within bKash's budget of two grant/refresh " +
			"calls an hour. Seeing it as an error means the renewed token was refused too: check the credentials " +
			"and the environment, and that every process of the app shares one TokenStore (e.g. redisstore) " +
			"instead of each renewing its own.",
	},
	{
		Key: "403", Title: `403 {"message":"Missing Authentication Token"}`,
		Means: "The gateway knows no API at this URL: a wrong route, not a token problem. Nothing reached bKash.",
		Advice: "Check the base URL: WithBaseURL takes the host's root (https://tokenized.sandbox.bka.sh), not a " +
			"URL that already ends in /v1.2.0-beta, which doubles the version in the path. The SDK does not renew " +
			"the token for this answer.",
	},
	{
		Key: "403", Title: `403 {"message":"Forbidden"} (or another message)`,
		Means: "The gateway refused the app key or the token for this API. Nothing reached bKash.",
		Advice: "Check Credentials.AppKey and that the credentials belong to the environment you call; ask bKash " +
			"whether your app may use this API.",
	},
	{
		Key: "400", Title: `400 {"message":"Invalid request body"}`,
		Means: "The gateway refused the body before bKash saw it: a definite refusal, nothing was done.",
		Advice: "The SDK builds every body itself, so look for something between you and bKash that changes " +
			"requests (a proxy, a wrong base URL pointing at another API version). Safe to send again once fixed.",
	},
	{
		Key: "400", Title: `400 {"externalCode":"20xx","errorMessageEn":...,"errorMessageBn":...} (v2 refund API)`,
		Means: "The v2 refund API refused the refund; externalCode is bKash's code (*APIError.Code), the " +
			"English and Bangla messages are Message and MessageBn.",
		Advice: "Look up the code: 2071 (refund window), 2072 (amount), 2073 and 2075 (SKU), 2076 and 2078 " +
			"(reason), 2077 (trxID), 2127 (payment not completed). Nothing was refunded.",
	},
	{
		Key: "400", Title: "v2 refund: an endpoint error or \"invalid parameters\" for correct fields",
		Means: "The v2 refund API is not enabled for this merchant (reported by merchants whose v1 refunds work).",
		Advice: "Use the v1 refund API, the SDK's default (WithRefundAPI(bkash.RefundV1); bkash refund --refund-api v1), " +
			"or ask bKash to enable v2 for your app.",
	},
	{
		Key: "429", Title: `429 {"message":"Too Many Requests"} (gateway)`,
		Means: "The gateway throttled the request; it did not reach bKash.",
		Advice: "Temporary: the error's Temporary() is true. Send again later with backoff; the SDK retries reads " +
			"itself.",
	},
	{
		Key: "503", Title: `503 {"message":...} (gateway)`,
		Means: "The gateway could not get an answer from bKash in time, or bKash is not taking requests. It " +
			"may come after bKash got the request, so on a call that moves money the outcome is unknown. " +
			"(bKash's own code 503, maintenance, is a different answer: see 503 above.)",
		Advice: "After a money call: never send it again; read the outcome (Payments.Query, Refunds.Status; " +
			"Payments.Finalize does it for an execute). After a read: temporary, the SDK retries it itself.",
	},
	{
		Key: "3xx", Title: "A redirect (301, 302, 307, 308)",
		Means: "bKash's API does not redirect; a redirect comes from a wrong base URL (http instead of https, " +
			"a portal URL) or a proxy. The SDK never follows one: net/http would re-send the body, credentials " +
			"included, to the new location.",
		Advice: "Fix the base URL. On a call that moves money the redirect is an unknown outcome " +
			"(*OutcomeUnknownError): query before anything else.",
	},
	{
		Key: "timeout", Title: "A timeout, a dropped connection, a 5xx or a body that is not bKash's",
		Means: "No definite answer: the request may or may not have reached bKash.",
		Advice: "Reads are retried by the SDK. A call that moves money (execute, capture, void, refund, " +
			"agreement execute) is never re-sent: the SDK returns *OutcomeUnknownError. Query the payment " +
			"(PaymentService.Query) or the refunds (RefundService.Status) before doing anything else, or let " +
			"the Reconciler do it.",
	},
}

// Lookup returns the entries a query names: a bKash code or gateway HTTP
// status exactly ("2056", "403"), else every entry whose title contains the
// query, ignoring case ("missing authentication token").
func Lookup(q string) []Entry {
	q = strings.TrimSpace(q)
	all := append(Codes(), Gateway()...)
	var out []Entry
	for _, e := range all {
		if e.Key == q {
			out = append(out, e)
		}
	}
	if len(out) > 0 || q == "" {
		return out
	}
	lq := strings.ToLower(q)
	for _, e := range all {
		if strings.Contains(strings.ToLower(e.Title), lq) {
			out = append(out, e)
		}
	}
	return out
}

// Markdown is the entry as docs/troubleshooting.md shows it.
func (e Entry) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", e.Title)
	if e.GoName != "" {
		fmt.Fprintf(&b, "- **In Go:** `errors.Is(err, bkash.%s)`; class `%s`\n", e.GoName, e.Class)
	}
	fmt.Fprintf(&b, "- **What it means:** %s\n", e.Means)
	fmt.Fprintf(&b, "- **What to do:** %s\n", e.Advice)
	return b.String()
}

// Document returns docs/troubleshooting.md.
func Document() []byte {
	var b bytes.Buffer
	b.WriteString(`# Troubleshooting bKash answers

<!-- Generated by "go generate ./internal/explain" from the SDK's code table
(errors.go, advice.go) and internal/explain. Do not edit: change those and
run go generate; a test fails when this file is stale. -->

Every bKash status code the SDK knows and every answer of bKash's API gateway a
user may meet, with what it means and what to do. The same entries are printed
by the command line tool:

    bkash explain 2056
    bkash explain 403
    bkash explain "missing authentication token"

In Go, an answer with a bKash code is an ` + "`*bkash.APIError`" + `: match codes with
` + "`errors.Is(err, bkash.CodeInvalidPaymentState)`" + `, classes with ` + "`err.Class()`" + `,
and read the advice with ` + "`err.Code.Advice()`" + `. A call whose outcome is unknown
returns ` + "`*bkash.OutcomeUnknownError`" + ` instead: query before doing anything else.

## Answers of the gateway and of the network

These carry no bKash code.

`)
	for _, e := range Gateway() {
		b.WriteString(e.Markdown())
		b.WriteByte('\n')
	}
	b.WriteString("## bKash status codes\n\nbKash's published table, in numeric order ([wire.md, \"Status codes\"](wire.md#status-codes)).\nbKash sends them as `statusCode` (or `errorCode`, or v2 refund's `externalCode`) with\nHTTP 200 or 400.\n\n")
	for _, e := range Codes() {
		b.WriteString(e.Markdown())
		b.WriteByte('\n')
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n')
}

// Names returns the Go source of names_gen.go, the map from a code to the
// name of its constant, read from errors.go's source.
func Names(errorsGo []byte) ([]byte, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", errorsGo, 0)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "ErrorCode" {
				continue
			}
			for i, n := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					return nil, err
				}
				names[v] = n.Name
			}
		}
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString("// Code generated by \"go generate ./internal/explain\" from errors.go; DO NOT EDIT.\n\npackage explain\n\n// goNames maps a bKash code to the name of its constant in package bkash.\nvar goNames = map[string]string{\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "\t%q: %q,\n", k, names[k])
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
