package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/smartdairy/bkash-go/internal/redact"
)

// redactedText replaces secrets and tokens in a recording.
const redactedText = redact.Redacted

// secretHeaders are request headers whose values never reach a report:
// bKash's grant credentials, the token and the app key.
var secretHeaders = map[string]bool{"authorization": true, "username": true, "password": true, "x-app-key": true}

// secretFields are JSON body fields whose values never reach a report.
var secretFields = map[string]bool{
	"app_key": true, "app_secret": true, "id_token": true, "refresh_token": true,
	"password": true, "username": true, "token": true,
}

// maxRecordedBody bounds what is kept of one body; bKash's bodies are a few
// hundred bytes.
const maxRecordedBody = 64 << 10

// maxPassedBody bounds what the recorder reads of a response before handing
// it on. It is above the SDK's own limit (1 MiB), so that an oversized body
// still looks oversized to the SDK.
const maxPassedBody = 2 << 20

// exchange is one recorded HTTP request and its response, already redacted.
type exchange struct {
	Step       string            `json:"step"`
	Method     string            `json:"method"`
	URL        string            `json:"url"`
	Header     map[string]string `json:"request_headers"`
	Request    json.RawMessage   `json:"request_body,omitempty"`
	RequestRaw string            `json:"request_text,omitempty"` // a body that is not JSON
	Status     int               `json:"http_status,omitempty"`
	Response   json.RawMessage   `json:"response_body,omitempty"`
	Text       string            `json:"response_text,omitempty"` // a body that is not JSON
	Error      string            `json:"error,omitempty"`
	Started    time.Time         `json:"started"`
	Duration   string            `json:"duration"`
}

// recorder is an http.RoundTripper that records every exchange, redacted,
// in the order they happen. It also remembers the raw tokens bKash issued,
// in memory only, so that the report can be checked for leaks before it is
// written.
type recorder struct {
	next http.RoundTripper

	mu      sync.Mutex
	step    string
	list    []exchange
	secrets []string // credentials and issued tokens, never written
}

func newRecorder(next http.RoundTripper, secrets ...string) *recorder {
	r := &recorder{next: next}
	for _, s := range secrets {
		r.addSecret(s)
	}
	return r
}

// setStep labels the exchanges that follow.
func (r *recorder) setStep(step string) {
	r.mu.Lock()
	r.step = step
	r.mu.Unlock()
}

func (r *recorder) addSecret(s string) {
	// Very short values would match innocent text; bKash's are long.
	if len(s) >= 4 {
		r.secrets = append(r.secrets, s)
	}
}

// exchanges returns a copy of the recording.
func (r *recorder) exchanges() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.list...)
}

// knownSecrets returns the credentials and tokens seen so far.
func (r *recorder) knownSecrets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.secrets...)
}

// RoundTrip implements http.RoundTripper.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		clone := req.Clone(req.Context())
		clone.Body = io.NopCloser(bytes.NewReader(b))
		clone.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		req = clone
	}
	start := time.Now()
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		r.record(req, body, nil, nil, err, start)
		return nil, err
	}
	respBody, readErr := io.ReadAll(io.LimitReader(resp.Body, maxPassedBody))
	resp.Body.Close()
	// Hand the SDK exactly what arrived, a read error included.
	rd := io.Reader(bytes.NewReader(respBody))
	if readErr != nil {
		rd = io.MultiReader(rd, errReader{readErr})
	}
	resp.Body = io.NopCloser(rd)
	r.record(req, body, resp, respBody, readErr, start)
	return resp, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (r *recorder) record(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte, err error, start time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Tokens issued by bKash are remembered (for the leak check) before
	// the response is redacted.
	if resp != nil {
		collectTokens(respBody, r.addSecret)
	}
	step := r.step
	switch {
	case strings.HasSuffix(req.URL.Path, "/token/grant"):
		step = stepGrant
	case strings.HasSuffix(req.URL.Path, "/token/refresh"):
		step = "Refresh Token"
	}
	ex := exchange{
		Step:     step,
		Method:   req.Method,
		URL:      req.URL.String(),
		Header:   redactHeaders(req.Header),
		Started:  start.UTC(),
		Duration: time.Since(start).Round(time.Millisecond).String(),
	}
	ex.Request, ex.RequestRaw = redactBody(reqBody, r.secrets)
	if resp != nil {
		ex.Status = resp.StatusCode
		if len(respBody) > maxRecordedBody {
			respBody = respBody[:maxRecordedBody]
		}
		ex.Response, ex.Text = redactBody(respBody, r.secrets)
	}
	if err != nil {
		ex.Error = scrub(err.Error(), r.secrets)
	}
	r.list = append(r.list, ex)
}

// collectTokens passes the values of id_token and refresh_token in a JSON
// body to add.
func collectTokens(body []byte, add func(string)) {
	var t struct {
		IDToken      string `json:"id_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if json.Unmarshal(body, &t) == nil {
		add(t.IDToken)
		add(t.RefreshToken)
	}
}

func redactHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		v := strings.Join(vs, ", ")
		if secretHeaders[strings.ToLower(k)] {
			v = redactedText
		}
		out[k] = v
	}
	return out
}

// redactBody returns a JSON body with everything below secretFields
// replaced, keeping the key order bKash used; or, for a body that is not
// JSON, its text with every known secret replaced.
func redactBody(b []byte, secrets []string) (json.RawMessage, string) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, ""
	}
	if out, ok := redact.JSON(b, redact.Rules{Secret: secretFields}); ok {
		return json.RawMessage(scrub(string(out), secrets)), ""
	}
	return nil, scrub(string(b), secrets)
}

// scrub replaces every known secret in s: a second line of defence for text
// that no field rule covers (an error message, an HTML page).
func scrub(s string, secrets []string) string {
	for _, v := range secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, redactedText)
		}
	}
	return s
}
