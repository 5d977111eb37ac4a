// Package shutdowntest checks that a running service drops no request when it
// is stopped: it keeps real clients sending requests, some of them slow,
// while the service receives its stop signal, and counts what happened to
// every request.
//
// A request the service accepted must complete with a normal status; a
// request refused at connect time, after the listener closed, was never
// accepted and is not a drop. Use it against the real process, as
// Kubernetes would stop it:
//
//	report, err := shutdowntest.Measure(ctx, shutdowntest.Load{URLs: urls}, func() error {
//		return cmd.Process.Signal(syscall.SIGTERM)
//	})
//	if err == nil {
//		err = report.Err()
//	}
package shutdowntest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	// URLs are requested with GET, in turn, by every client. Include slow
	// ones: they are the requests a careless stop cuts.
	URLs []string
	// Clients is the number of concurrent clients. Default: 8.
	Clients int
	// Warmup is how long the load runs before stop is called. Default:
	// 500ms.
	Warmup time.Duration
	// Timeout bounds the whole measurement. Default: 60s.
	Timeout time.Duration
	// Client sends the requests. Default: a client of its own, with
	// keep-alive connections as real clients have, and a 30 s timeout.
	Client *http.Client
	// Normal reports whether status is a normal answer for url. Default:
	// any status under 500.
	Normal func(url string, status int) bool
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
	// Refused were refused at connect time after stop: never accepted.
	Refused int
	// Failed were accepted (or refused before stop) and then failed or got
	// an abnormal status: these are the drops.
	Failed int
	// Failures describes the first failed requests, up to 20.
	Failures []string
}

// String summarises the counts on one line.
func (r Report) String() string {
	return fmt.Sprintf("sent %d, succeeded %d (%d sent after the stop signal), refused after close %d, failed %d",
		r.Sent, r.Succeeded, r.ServedAfterStop, r.Refused, r.Failed)
}

// Err returns nil when no request was dropped and some succeeded, else an
// error listing the failures.
func (r Report) Err() error {
	switch {
	case r.Failed > 0:
		return fmt.Errorf("shutdowntest: %d of %d requests dropped: %s\n%s", r.Failed, r.Sent, r, strings.Join(r.Failures, "\n"))
	case r.Succeeded == 0:
		return fmt.Errorf("shutdowntest: no request succeeded: %s", r)
	}
	return nil
}

const maxFailures = 20

// Measure sends load, calls stop after the warmup, and keeps sending until
// every client has been refused by the closed listener (or the timeout
// runs out). It returns an error only when the measurement itself could not
// be made (stop failed, the timeout ran out); judge the service with
// Report.Err.
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
	client := load.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = load.Clients
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	normal := load.Normal
	if normal == nil {
		normal = func(_ string, status int) bool { return status < 500 }
	}
	ctx, cancel := context.WithTimeout(ctx, load.Timeout)
	defer cancel()

	var (
		mu      sync.Mutex
		report  Report
		stopped atomic.Bool
	)
	record := func(f func(*Report)) {
		mu.Lock()
		f(&report)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for c := range load.Clients {
		wg.Go(func() {
			for i := c; ctx.Err() == nil; i++ {
				url := load.URLs[i%len(load.URLs)]
				afterStop := stopped.Load()
				status, err := get(ctx, client, url)
				switch {
				case err != nil && afterStop && errors.Is(err, syscall.ECONNREFUSED):
					record(func(r *Report) { r.Sent++; r.Refused++ })
					return // the listener is closed: this client is done
				case err != nil && ctx.Err() != nil:
					return // the measurement timed out; not the service's fault
				case err == nil && normal(url, status):
					record(func(r *Report) {
						r.Sent++
						r.Succeeded++
						if afterStop {
							r.ServedAfterStop++
						}
					})
				default:
					what := fmt.Sprintf("status %d", status)
					if err != nil {
						what = err.Error()
					}
					record(func(r *Report) {
						r.Sent++
						r.Failed++
						if len(r.Failures) < maxFailures {
							r.Failures = append(r.Failures, fmt.Sprintf("GET %s: %s", url, what))
						}
					})
				}
			}
		})
	}

	var stopErr error
	select {
	case <-time.After(load.Warmup):
		stopped.Store(true)
		stopErr = stop()
	case <-ctx.Done():
	}
	if stopErr != nil {
		cancel()
	}
	wg.Wait()
	switch {
	case stopErr != nil:
		return report, fmt.Errorf("shutdowntest: stop: %w", stopErr)
	case ctx.Err() != nil:
		return report, fmt.Errorf("shutdowntest: clients still served after %s: %w", load.Timeout, ctx.Err())
	}
	return report, nil
}

// get sends one GET and reads the whole body, so that a response cut short
// counts as a failure.
func get(ctx context.Context, client *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp.StatusCode, fmt.Errorf("reading the body: %w", err)
	}
	return resp.StatusCode, nil
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
