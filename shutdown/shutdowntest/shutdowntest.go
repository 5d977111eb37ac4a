// Package shutdowntest checks that a running service drops no request when it
// is stopped: it keeps real clients sending requests, some of them slow,
// while the service receives its stop signal, and counts what happened to
// every request.
//
// A request the service accepted must complete with a normal status; a
// request refused at connect time after the stop, or sent then on a fresh
// connection that was reset before any answer (it sat in the kernel's
// accept queue as the listener closed), was never accepted and is not a
// drop. Use it against the real process, as
// Kubernetes would stop it:
//
//	report, err := shutdowntest.Measure(ctx, shutdowntest.Load{URLs: urls}, func() error {
//		return cmd.Process.Signal(syscall.SIGTERM)
//	})
//	if err == nil {
//		err = report.Err()
//	}
//
// It has two modes. By default the clients are Go's [http.Client], which
// replays an idempotent request that a kept-alive connection lost (the
// server closed it as the request was written), so a service can pass
// while other clients would see failures. With [Load.KeptAlive] set, each
// client instead speaks HTTP/1.1 itself over a [net.Conn]: it keeps its
// connection alive, sends its requests (POST by default) back to back,
// never retries one, and opens a new connection only when the server said
// Connection: close or the connection failed. It keeps sending past the
// drain until the listener refuses it. A connection refused, or a fresh
// connection reset before any answer (it sat in the kernel's accept queue
// as the listener closed), after the stop counts in [Report.Refused]:
// nothing was accepted, and a load balancer retries elsewhere. A request
// written on a connection the server had already answered on and never
// answered counts in [Report.Lost]: the server closed the connection under
// a request its client had just written, and no client but one that
// replays requests gets it through. Any other request without a normal
// answer (a fresh connection closed with none, a 5xx, a body cut short)
// counts in [Report.Failed], as the lost ones do. Each request of the mode
// has 30 s; it speaks plain HTTP (no TLS) and never pipelines.
package shutdowntest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Load describes the traffic sent while the service stops. Only URLs is
// required.
type Load struct {
	// URLs are requested, in turn, by every client. Include slow ones: they
	// are the requests a careless stop cuts. In the kept-alive mode they
	// must be http URLs.
	URLs []string
	// Clients is the number of concurrent clients. Default: 8.
	Clients int
	// Warmup is how long the load runs before stop is called. Default:
	// 500ms.
	Warmup time.Duration
	// Timeout bounds the whole measurement. Default: 60s.
	Timeout time.Duration
	// Client sends the requests, except in the kept-alive mode. Default: a
	// client of its own, with keep-alive connections as real clients have,
	// and a 30 s timeout.
	Client *http.Client
	// Normal reports whether status is a normal answer for url. Default:
	// any status under 500.
	Normal func(url string, status int) bool
	// KeptAlive selects the kept-alive mode (see the package
	// documentation): raw HTTP/1.1 clients over net.Conn that keep their
	// connections alive and never retry a request. Default: false, Go's
	// http.Client.
	KeptAlive bool
	// Method is the requests' method. Default: GET, or POST in the
	// kept-alive mode (a request no client may replay).
	Method string
	// Body is every request's body, sent with a Content-Length. Default:
	// none, or "{}" in the kept-alive mode.
	Body string
	// Header is added to every request (Content-Type, Authorization, ...).
	// Default: none, with a Content-Type of application/json when there is
	// a body.
	Header http.Header
}

// Report counts what happened to the requests.
type Report struct {
	// Sent is the number of requests sent.
	Sent int
	// Succeeded were answered with a normal status.
	Succeeded int
	// ServedAfterStop is how many of those were sent after stop was called:
	// the traffic the drain delay exists for.
	ServedAfterStop int
	// Refused were refused at connect time after stop, or sent after stop
	// on a fresh connection that was reset before any answer: never
	// accepted.
	Refused int
	// Failed were accepted (or refused before stop) and then failed or got
	// an abnormal status: these are the drops. Lost ones count here too.
	Failed int
	// Lost, in the kept-alive mode, were written on a connection the
	// server had already answered on and never answered: the server closed
	// the connection under them.
	Lost int
	// Failures describes the first failed requests, up to 20.
	Failures []string
}

// String summarises the counts on one line.
func (r Report) String() string {
	return fmt.Sprintf("sent %d, succeeded %d (%d sent after the stop signal), refused after close %d, failed %d (lost on kept-alive connections %d)",
		r.Sent, r.Succeeded, r.ServedAfterStop, r.Refused, r.Failed, r.Lost)
}

// Err returns nil when no request was dropped and some succeeded, else an
// error listing the failures.
func (r Report) Err() error {
	switch {
	case r.Failed > 0:
		return fmt.Errorf("shutdowntest: %d of %d requests dropped (%d lost on kept-alive connections): %s\n%s",
			r.Failed, r.Sent, r.Lost, r, strings.Join(r.Failures, "\n"))
	case r.Succeeded == 0:
		return fmt.Errorf("shutdowntest: no request succeeded: %s", r)
	}
	return nil
}

const (
	maxFailures = 20
	// requestTimeout bounds one request of the kept-alive mode, as the
	// default client's timeout bounds one of the other mode.
	requestTimeout = 30 * time.Second
)

// measurement is the state the clients of one Measure share.
type measurement struct {
	load    Load
	normal  func(url string, status int) bool
	stopped atomic.Bool

	mu     sync.Mutex
	report Report
}

func (m *measurement) record(f func(*Report)) {
	m.mu.Lock()
	f(&m.report)
	m.mu.Unlock()
}

func (m *measurement) succeeded(afterStop bool) {
	m.record(func(r *Report) {
		r.Sent++
		r.Succeeded++
		if afterStop {
			r.ServedAfterStop++
		}
	})
}

func (m *measurement) refused() { m.record(func(r *Report) { r.Sent++; r.Refused++ }) }

func (m *measurement) failed(url, what string, lost bool) {
	m.record(func(r *Report) {
		r.Sent++
		r.Failed++
		if lost {
			r.Lost++
			what = "lost on a kept-alive connection: " + what
		}
		if len(r.Failures) < maxFailures {
			r.Failures = append(r.Failures, fmt.Sprintf("%s %s: %s", m.load.Method, url, what))
		}
	})
}

// Measure sends load, calls stop after the warmup, and keeps sending until
// every client has been refused by the closed listener (or the timeout
// runs out). It returns an error only when the measurement itself could not
// be made (a bad Load, stop failed, the timeout ran out); judge the service
// with Report.Err.
func Measure(ctx context.Context, load Load, stop func() error) (Report, error) {
	if len(load.URLs) == 0 {
		return Report{}, errors.New("shutdowntest: Load.URLs is empty")
	}
	if load.Clients <= 0 {
		load.Clients = 8
	}
	if load.Warmup <= 0 {
		load.Warmup = 500 * time.Millisecond
	}
	if load.Timeout <= 0 {
		load.Timeout = 60 * time.Second
	}
	if load.KeptAlive {
		if load.Method == "" {
			load.Method = http.MethodPost
		}
		if load.Body == "" {
			load.Body = "{}"
		}
	}
	if load.Method == "" {
		load.Method = http.MethodGet
	}
	m := &measurement{load: load, normal: load.Normal}
	if m.normal == nil {
		m.normal = func(_ string, status int) bool { return status < 500 }
	}
	var client func(ctx context.Context, c int)
	if load.KeptAlive {
		targets, err := rawTargets(load)
		if err != nil {
			return Report{}, err
		}
		client = func(ctx context.Context, c int) { m.keptAlive(ctx, c, targets) }
	} else {
		hc := load.Client
		if hc == nil {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = load.Clients
			defer tr.CloseIdleConnections()
			hc = &http.Client{Transport: tr, Timeout: 30 * time.Second}
		}
		client = func(ctx context.Context, c int) { m.httpClient(ctx, c, hc) }
	}
	ctx, cancel := context.WithTimeout(ctx, load.Timeout)
	defer cancel()

	var wg sync.WaitGroup
	for c := range load.Clients {
		wg.Go(func() { client(ctx, c) })
	}
	var stopErr error
	warmup := time.NewTimer(load.Warmup)
	defer warmup.Stop()
	select {
	case <-warmup.C:
		m.stopped.Store(true)
		stopErr = stop()
	case <-ctx.Done():
	}
	if stopErr != nil {
		cancel()
	}
	wg.Wait()
	report := m.report // every client is done: no lock needed
	switch {
	case stopErr != nil:
		return report, fmt.Errorf("shutdowntest: stop: %w", stopErr)
	case ctx.Err() != nil:
		return report, fmt.Errorf("shutdowntest: clients still served after %s: %w", load.Timeout, ctx.Err())
	}
	return report, nil
}

// httpClient is one client of the default mode: Go's http.Client, in a
// loop, until the listener refuses it.
func (m *measurement) httpClient(ctx context.Context, c int, client *http.Client) {
	for i := c; ctx.Err() == nil; i++ {
		url := m.load.URLs[i%len(m.load.URLs)]
		afterStop := m.stopped.Load()
		status, fresh, err := m.do(ctx, client, url)
		switch {
		// Sent before the stop, a refusal is Go's client replaying a
		// request that the stop cut: a drop. A fresh connection reset
		// sat in the accept queue as the listener closed.
		case err != nil && afterStop && (errors.Is(err, syscall.ECONNREFUSED) || (fresh && reset(err))):
			m.refused()
			return // the listener is closed: this client is done
		case err != nil && ctx.Err() != nil:
			return // the measurement timed out; not the service's fault
		case err == nil && m.normal(url, status):
			m.succeeded(afterStop)
		case err != nil:
			m.failed(url, err.Error(), false)
		default:
			m.failed(url, fmt.Sprintf("status %d", status), false)
		}
	}
}

// do sends one request and reads the whole body, so that a response cut
// short counts as a failure. fresh reports whether the last connection it
// was sent on was a new one (or none was had).
func (m *measurement) do(ctx context.Context, client *http.Client, url string) (status int, fresh bool, err error) {
	var body io.Reader
	if m.load.Body != "" {
		body = strings.NewReader(m.load.Body)
	}
	var reused atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { reused.Store(info.Reused) },
	})
	req, err := http.NewRequestWithContext(ctx, m.load.Method, url, body)
	if err != nil {
		return 0, true, err
	}
	for k, vs := range m.header() {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, !reused.Load(), err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp.StatusCode, !reused.Load(), fmt.Errorf("reading the body: %w", err)
	}
	return resp.StatusCode, !reused.Load(), nil
}

// header is Load.Header with a Content-Type when there is a body.
func (m *measurement) header() http.Header {
	h := m.load.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if m.load.Body != "" && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	return h
}

// rawTarget is one URL of the kept-alive mode, its request already encoded.
type rawTarget struct {
	url     string
	method  string
	addr    string // host:port to dial
	request []byte
}

func rawTargets(load Load) ([]rawTarget, error) {
	m := &measurement{load: load}
	var targets []rawTarget
	for _, s := range load.URLs {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("shutdowntest: Load.URLs: %w", err)
		}
		if u.Scheme != "http" || u.Host == "" {
			return nil, fmt.Errorf("shutdowntest: Load.URLs: %q: the kept-alive mode speaks plain HTTP/1.1: want an http URL with a host", s)
		}
		addr := u.Host
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: shutdowntest\r\n", load.Method, u.RequestURI(), u.Host)
		h := m.header()
		h.Del("Host")
		h.Del("Connection")
		h.Del("Content-Length")
		if err := h.Write(&b); err != nil {
			return nil, fmt.Errorf("shutdowntest: Load.Header: %w", err)
		}
		if load.Body != "" || load.Method == http.MethodPost || load.Method == http.MethodPut || load.Method == http.MethodPatch {
			fmt.Fprintf(&b, "Content-Length: %d\r\n", len(load.Body))
		}
		b.WriteString("\r\n")
		b.WriteString(load.Body)
		targets = append(targets, rawTarget{url: s, method: load.Method, addr: addr, request: b.Bytes()})
	}
	return targets, nil
}

// rawConn is a client connection of the kept-alive mode.
type rawConn struct {
	net.Conn
	r        *bufio.Reader
	answered int         // responses read on it
	stop     func() bool // ends the watch of the measurement's context
}

func (c *rawConn) close() {
	c.stop()
	_ = c.Close()
}

// keptAlive is one client of the kept-alive mode: requests back to back on
// one connection, none retried, a new connection only when the server
// closed the last one, until the listener refuses it.
func (m *measurement) keptAlive(ctx context.Context, c int, targets []rawTarget) {
	var dialer net.Dialer
	var conn *rawConn
	defer func() {
		if conn != nil {
			conn.close()
		}
	}()
	for i := c; ctx.Err() == nil; i++ {
		t := targets[i%len(targets)]
		afterStop := m.stopped.Load()
		if conn == nil {
			nc, err := dialer.DialContext(ctx, "tcp", t.addr)
			switch {
			case err != nil && m.stopped.Load() && (errors.Is(err, syscall.ECONNREFUSED) || reset(err)):
				m.refused()
				return // the listener is closed: this client is done
			case err != nil && ctx.Err() != nil:
				return
			case err != nil:
				m.failed(t.url, "connect: "+err.Error(), false)
				pause(ctx, 10*time.Millisecond) // a service not listening: do not spin
				continue
			}
			// Cut a request short when the measurement times out.
			stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
			conn = &rawConn{Conn: nc, r: bufio.NewReader(nc), stop: stop}
		}
		status, closed, err := conn.roundTrip(ctx, t)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && conn.answered == 0 && m.stopped.Load() && reset(err):
			m.refused() // it sat in the accept queue as the listener closed
			return
		case err != nil:
			m.failed(t.url, err.Error(), conn.answered > 0)
			closed = true // never reuse a connection that failed
		case m.normal(t.url, status):
			conn.answered++
			m.succeeded(afterStop)
		default:
			conn.answered++
			m.failed(t.url, fmt.Sprintf("status %d", status), false)
		}
		if closed {
			conn.close()
			conn = nil
		}
	}
}

// roundTrip writes t's request and reads the whole response. closed
// reports whether the server said it closes the connection.
func (c *rawConn) roundTrip(ctx context.Context, t rawTarget) (status int, closed bool, err error) {
	deadline := time.Now().Add(requestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.SetDeadline(deadline); err != nil {
		return 0, true, err
	}
	if _, err := c.Write(t.request); err != nil {
		return 0, true, fmt.Errorf("writing the request: %w", err)
	}
	resp, err := http.ReadResponse(c.r, &http.Request{Method: t.method})
	if err != nil {
		return 0, true, fmt.Errorf("reading the response: %w", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp.StatusCode, true, fmt.Errorf("reading the body: %w", err)
	}
	return resp.StatusCode, resp.Close, nil
}

// reset reports whether err is the peer resetting the connection.
func reset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// pause waits d or until ctx is done.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Check runs Measure and fails t when the measurement fails or a request was
// dropped. It logs the counts either way and returns the report.
func Check(t testing.TB, load Load, stop func() error) Report {
	t.Helper()
	report, err := Measure(context.Background(), load, stop)
	t.Logf("shutdowntest: %s", report)
	if err == nil {
		err = report.Err()
	}
	if err != nil {
		t.Error(err)
	}
	return report
}
