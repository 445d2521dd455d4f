package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The steps of bKash's sandbox validation, in the order the merchant
// integration portal asks for them (docs/wire.md, "Sandbox"): API title, URL, request body
// and response of each.
const (
	stepGrant        = "Grant Token"
	stepCreate       = "Create Payment"
	stepWait         = "Query Payment (waiting for the customer)"
	stepExecute      = "Execute Payment"
	stepQuery        = "Query Payment"
	stepSearch       = "Search Transaction"
	stepRefund       = "Refund Transaction"
	stepRefundStatus = "Refund Status"
)

var requiredSteps = []string{stepGrant, stepCreate, stepExecute, stepQuery, stepSearch, stepRefund, stepRefundStatus}

// report is the validation report; report.json is its JSON encoding and
// report.md renders the same content.
type report struct {
	Title       string       `json:"title"`
	GeneratedAt time.Time    `json:"generated_at"`
	Tool        string       `json:"tool"`
	Environment string       `json:"environment"`
	BaseURL     string       `json:"base_url"`
	PaymentID   string       `json:"payment_id,omitempty"`
	TrxID       string       `json:"trx_id,omitempty"`
	RefundTrxID string       `json:"refund_trx_id,omitempty"`
	Passed      bool         `json:"passed"`
	Failure     string       `json:"failure,omitempty"`
	Steps       []reportStep `json:"steps"`     // the required steps, in the portal's order
	Exchanges   []exchange   `json:"exchanges"` // every HTTP exchange, in the order it happened
}

// reportStep is one required step: its title and the exchange that answers
// it (Exchange is its 1-based position in the report's exchanges), or Missing.
type reportStep struct {
	Number   int       `json:"number"`
	Title    string    `json:"title"`
	Missing  bool      `json:"missing,omitempty"`
	Index    int       `json:"exchange_number,omitempty"`
	Exchange *exchange `json:"exchange,omitempty"`
}

// buildSteps picks the exchange of each required step: the first grant (the
// one every later call used), and for the other steps the last exchange
// recorded (the attempt that got bKash's answer when a read was retried).
func buildSteps(list []exchange) []reportStep {
	steps := make([]reportStep, len(requiredSteps))
	for i, title := range requiredSteps {
		steps[i] = reportStep{Number: i + 1, Title: title, Missing: true}
		is := func(e exchange) bool { return e.Step == title }
		j := slices.IndexFunc(list, is)
		if title != stepGrant {
			j = lastIndexFunc(list, is)
		}
		if j >= 0 {
			ex := list[j]
			steps[i].Missing, steps[i].Index, steps[i].Exchange = false, j+1, &ex
		}
	}
	return steps
}

func lastIndexFunc[T any](s []T, f func(T) bool) int {
	for i := len(s) - 1; i >= 0; i-- {
		if f(s[i]) {
			return i
		}
	}
	return -1
}

// markdown renders the report for a human reviewer and for pasting into
// bKash's portal.
func (r *report) markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", r.Title)
	result := fmt.Sprintf("PASSED: all %d steps", len(requiredSteps))
	if !r.Passed {
		result = "FAILED: " + r.Failure
	}
	b.WriteString("| | |\n|---|---|\n")
	for _, kv := range [][2]string{
		{"Result", result},
		{"Generated", r.GeneratedAt.Format(time.RFC3339)},
		{"Environment", r.Environment + " (" + r.BaseURL + ")"},
		{"Payment ID (create, execute, query)", r.PaymentID},
		{"Transaction ID", r.TrxID},
		{"Refund transaction ID", r.RefundTrxID},
		{"Tool", r.Tool},
	} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", kv[0], mdCell(kv[1]))
		}
	}
	b.WriteString("\nCredentials (username, password, app key, app secret) and tokens are shown as `" + redactedText + "`.\n")
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "\n## %d. %s\n\n", s.Number, s.Title)
		if s.Missing {
			b.WriteString("Not reached.\n")
			continue
		}
		writeExchange(&b, s.Title, s.Exchange)
	}
	b.WriteString("\n## Appendix: every request, in order\n\nRequests not shown above are printed after the table.\n\n")
	b.WriteString("| # | Step | Request | HTTP | Duration |\n|---|---|---|---|---|\n")
	for i, e := range r.Exchanges {
		status := fmt.Sprint(e.Status)
		if e.Error != "" {
			status = "error: " + e.Error
		}
		fmt.Fprintf(&b, "| %d | %s | `%s %s` | %s | %s |\n", i+1, mdCell(e.Step), e.Method, mdCell(e.URL), mdCell(status), e.Duration)
	}
	used := map[int]bool{}
	for _, s := range r.Steps {
		used[s.Index] = true
	}
	for i, e := range r.Exchanges {
		if !used[i+1] {
			fmt.Fprintf(&b, "\n### %d. %s\n\n", i+1, e.Step)
			writeExchange(&b, e.Step, &e)
		}
	}
	return b.Bytes()
}

func writeExchange(b *bytes.Buffer, title string, e *exchange) {
	fmt.Fprintf(b, "**API title:** %s\n\n", title)
	fmt.Fprintf(b, "**URL:** `%s %s`\n\n", e.Method, e.URL)
	b.WriteString("**Request headers:**\n\n```\n")
	keys := make([]string, 0, len(e.Header))
	for k := range e.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "%s: %s\n", k, e.Header[k])
	}
	b.WriteString("```\n\n**Request body:**\n\n")
	writeBody(b, e.Request, e.RequestRaw)
	switch {
	case e.Error != "":
		fmt.Fprintf(b, "**Response:** none (%s)\n", e.Error)
	default:
		fmt.Fprintf(b, "**Response** (HTTP %d):\n\n", e.Status)
		writeBody(b, e.Response, e.Text)
	}
}

func writeBody(b *bytes.Buffer, js json.RawMessage, text string) {
	switch {
	case len(js) > 0:
		var ind bytes.Buffer
		if json.Indent(&ind, js, "", "  ") != nil {
			ind.Reset()
			ind.Write(js)
		}
		fmt.Fprintf(b, "```json\n%s\n```\n\n", ind.String())
	case text != "":
		fmt.Fprintf(b, "```\n%s\n```\n\n", strings.TrimRight(text, "\n"))
	default:
		b.WriteString("(empty)\n\n")
	}
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// write renders the report as markdown at mdPath and as JSON next to it, after
// checking that neither contains any of secrets. Nothing is written when the
// check fails.
func (r *report) write(mdPath string, secrets []string) (jsonPath string, err error) {
	jsonPath = strings.TrimSuffix(mdPath, filepath.Ext(mdPath)) + ".json"
	if jsonPath == mdPath {
		jsonPath = mdPath + ".json"
	}
	md := r.markdown()
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	js = append(js, '\n')
	if err := checkLeaks(secrets, md, js); err != nil {
		return "", err
	}
	if err := os.WriteFile(mdPath, md, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(jsonPath, js, 0o644); err != nil {
		return "", err
	}
	return jsonPath, nil
}

// checkLeaks fails when any secret (raw or JSON-escaped) appears in docs.
func checkLeaks(secrets []string, docs ...[]byte) error {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		esc, _ := json.Marshal(s)
		forms := [][]byte{[]byte(s), esc[1 : len(esc)-1]}
		for _, d := range docs {
			for _, f := range forms {
				if bytes.Contains(d, f) {
					return errors.New("report not written: it would contain a credential or token (a redaction rule is missing; please report this)")
				}
			}
		}
	}
	return nil
}
