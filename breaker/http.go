package breaker

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/operable-go/operable/health"
)

// Transport returns a RoundTripper that sends each request through the
// breaker to next (http.DefaultTransport when nil). A rejected request
// never reaches next and fails with a [*RejectedError]. An answer below
// 500 is a success (4xx is the dependency answering), 5xx and transport
// errors are failures, a request cancelled by its caller is neutral.
// CallTimeout bounds the request until its body is closed; the slot
// counted by MaxConcurrent is given back when the answer's headers
// arrive.
//
// To record the client RED metrics and spans too, put the breaker inside
// the telemetry transport, so that rejections show there as errors:
//
//	client := &http.Client{Transport: svc.Transport(b.Transport(nil))}
func (b *Breaker) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{b: b, next: next}
}

type transport struct {
	b    *Breaker
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.b.direct != nil {
		return t.roundTripDirect(req)
	}
	c, err := t.b.begin(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.roundTrip(c, req.WithContext(c))
	if err != nil {
		c.settle(err)
		c.cancel(context.Canceled)
		return nil, err
	}
	outcome := error(nil)
	if resp.StatusCode >= 500 {
		outcome = errFailure
	}
	c.settle(outcome)
	// The deadline covers reading the body: cancel when it is closed.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, c: c}
	return resp, nil
}

// roundTrip calls next; a panic in it is a failure, and goes on up.
func (t *transport) roundTrip(c *call, req *http.Request) (resp *http.Response, err error) {
	returned := false
	defer func() {
		if !returned {
			c.settle(errFailure)
			c.cancel(context.Canceled)
		}
	}()
	resp, err = t.next.RoundTrip(req)
	returned = true
	return resp, err
}

// roundTripDirect is RoundTrip without a call timeout.
func (t *transport) roundTripDirect(req *http.Request) (*http.Response, error) {
	resp, err := Do(req.Context(), t.b, func(context.Context) (*http.Response, error) {
		resp, err := t.next.RoundTrip(req)
		if err == nil && resp.StatusCode >= 500 {
			return resp, errFailure // counted as a failure, returned as an answer
		}
		return resp, err
	})
	switch {
	case t.b.isRejection(err):
		closeBody(req)
		return nil, err
	case err == errFailure:
		return resp, nil
	}
	return resp, err
}

// closeBody closes a rejected request's body: a RoundTripper closes it,
// even on error.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

type cancelOnClose struct {
	io.ReadCloser
	c *call
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.c.cancel(context.Canceled)
	return err
}

// Check returns a non-critical readiness check named "breaker-<name>": it
// warns while the breaker is open, half-open or held open, so that
// /readyz?verbose shows it without failing the probe.
func (b *Breaker) Check() health.Check {
	return health.Check{
		Name:          "breaker-" + b.name,
		Groups:        health.Readiness,
		NonCritical:   true,
		ComponentType: "component",
		Func: func(context.Context) error {
			switch s := b.State(); s {
			case Open, HalfOpen, ForcedOpen:
				return fmt.Errorf("breaker: %s is %s", b.name, s)
			}
			return nil
		},
	}
}
