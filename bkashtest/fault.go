package bkashtest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smartdairy/bkash-go"
)

// Fault describes how the server misbehaves for the next calls of an
// operation (see Server.Inject). The zero Fault with only Delay set answers
// normally, late. The fields that replace the answer are applied in this
// order of precedence: Drop, then HTTPStatus/Body, then Code.
type Fault struct {
	// Times is the number of calls to affect; 0 means 1.
	Times int
	// Code makes the server answer this bKash code in the endpoint's error
	// envelope: HTTP 200 {"statusCode","statusMessage"} on most endpoints,
	// {"errorCode","errorMessage"} on capture and void, and HTTP 400
	// {"internalCode","externalCode",...} on the v2 refund endpoints.
	Code string
	// Message is the text that goes with Code; by default bKash's text for it.
	Message string
	// HTTPStatus makes the server answer this status with Body, or with a
	// small gateway body {"message": "<status text>"} when Body is empty.
	HTTPStatus int
	// RetryAfter adds a Retry-After header (whole seconds) to HTTPStatus.
	RetryAfter time.Duration
	// Body is a raw body to send instead (an HTML page, malformed JSON, a
	// huge body ...), with HTTPStatus or 200.
	Body string
	// Delay sleeps before answering. Without AfterApply, a request whose
	// context ends during the delay is not processed at all.
	Delay time.Duration
	// Drop hijacks the connection and closes it without answering.
	Drop bool
	// AfterApply processes the request first (the payment is executed, the
	// refund made ...) and then delivers the fault, like a bKash that did the
	// work but whose answer was lost.
	AfterApply bool
}

// answers reports whether the fault replaces the answer (rather than only
// delaying it).
func (f *Fault) answers() bool {
	return f.Drop || f.HTTPStatus != 0 || f.Body != "" || f.Code != ""
}

type pendingFault struct {
	Fault
	left int
}

// Inject makes the next f.Times calls of op (one of Operations(), e.g.
// "payment.execute") misbehave as f describes. Faults injected for the same
// operation are used in the order they were injected. Inject panics on an
// unknown operation name, which would otherwise never fire.
func (s *Server) Inject(op string, f Fault) {
	if !slices.Contains(ops, op) {
		panic("bkashtest: Inject: unknown operation " + strconv.Quote(op) + " (see bkashtest.Operations)")
	}
	n := f.Times
	if n <= 0 {
		n = 1
	}
	s.mu.Lock()
	s.faults[op] = append(s.faults[op], &pendingFault{Fault: f, left: n})
	s.mu.Unlock()
}

// Received reports how many requests for op the server received, including
// refused and faulted ones.
func (s *Server) Received(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received[op]
}

// Applied reports how many requests for op were processed successfully: the
// state change was made (for reads: the answer was computed), whether or not
// an AfterApply fault then replaced the answer.
func (s *Server) Applied(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied[op]
}

// Grants reports how many tokens were granted (token.grant applied).
func (s *Server) Grants() int { return s.Applied(opGrant) }

// receive counts a request for op and takes the fault it must suffer, if any.
func (s *Server) receive(op string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received[op]++
	q := s.faults[op]
	if len(q) == 0 {
		return nil
	}
	pf := q[0]
	pf.left--
	if pf.left == 0 {
		s.faults[op] = q[1:]
	}
	f := pf.Fault
	return &f
}

// deliverFault writes (or withholds) the answer f asks for.
func (s *Server) deliverFault(w http.ResponseWriter, c *call, f *Fault) {
	switch {
	case f.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		// Not hijackable (HTTP/2): abort the response instead.
		panic(http.ErrAbortHandler)
	case f.HTTPStatus != 0 || f.Body != "":
		status := f.HTTPStatus
		if status == 0 {
			status = http.StatusOK
		}
		body := f.Body
		ctype := "application/json;charset=UTF-8"
		if body == "" {
			body = string(newObject().str("message", http.StatusText(status)).bytes())
		} else if strings.HasPrefix(strings.TrimSpace(body), "<") {
			ctype = "text/html; charset=UTF-8"
		}
		h := w.Header()
		h.Set("Content-Type", ctype)
		if f.RetryAfter > 0 {
			secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
			h.Set("Retry-After", strconv.FormatInt(secs, 10))
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	default:
		msg := f.Message
		if msg == "" {
			msg = codeMessage(bkash.ErrorCode(f.Code))
		}
		writeReply(w, errorReply(c.env, f.Code, msg))
	}
}
