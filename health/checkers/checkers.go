// Package checkers provides ready-made health checks for a service's usual
// dependencies. Each returns a func(ctx) error for health.Check.Func, takes
// the client the application already uses (a *sql.DB pool, an *http.Client)
// so that a probe measures what the application will meet and opens no
// connection of its own, and honours the check's context.
package checkers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/metrics"
)

// Pinger is what SQL needs of a database handle; *sql.DB has it.
type Pinger interface {
	PingContext(ctx context.Context) error
}

// SQL checks a database through the application's own pool: PingContext
// reuses an idle connection, so a probe opens none.
func SQL(db Pinger) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("checkers: sql ping: %w", err)
		}
		return nil
	}
}

// HTTPOptions configure [HTTP]. The zero value sends GET and accepts any 2xx.
type HTTPOptions struct {
	// Method is the request method. Default: GET.
	Method string
	// Header is added to the request (an API key, a Host). Default: none.
	Header http.Header
	// OK reports whether the status is healthy. Default: 200-299.
	OK func(status int) bool
}

// HTTP checks an upstream with the application's client, so that its
// transport's keep-alive connections are reused: the body is read to the
// end and closed so the connection goes back to the pool.
func HTTP(client *http.Client, url string, opts HTTPOptions) func(context.Context) error {
	if client == nil {
		client = http.DefaultClient
	}
	method := opts.Method
	if method == "" {
		method = http.MethodGet
	}
	ok := opts.OK
	if ok == nil {
		ok = func(s int) bool { return s >= 200 && s < 300 }
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, method, url, nil)
		if err != nil {
			return fmt.Errorf("checkers: http: %w", err)
		}
		for k, vs := range opts.Header {
			req.Header[k] = vs
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("checkers: http: %w", err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		if !ok(resp.StatusCode) {
			return fmt.Errorf("checkers: http: %s %s answered %d", method, req.URL.Redacted(), resp.StatusCode)
		}
		return nil
	}
}

// TCP checks that addr accepts a TCP connection, and closes it at once.
func TCP(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("checkers: tcp: %w", err)
		}
		return conn.Close()
	}
}

// DNS checks that host resolves to at least one address. A nil resolver
// means net.DefaultResolver.
func DNS(r *net.Resolver, host string) func(context.Context) error {
	if r == nil {
		r = net.DefaultResolver
	}
	return func(ctx context.Context) error {
		addrs, err := r.LookupHost(ctx, host)
		if err != nil {
			return fmt.Errorf("checkers: dns: %w", err)
		}
		if len(addrs) == 0 {
			return fmt.Errorf("checkers: dns: %s has no address", host)
		}
		return nil
	}
}

// DiskFree checks that the file system holding path has at least minFree
// bytes available to unprivileged users.
func DiskFree(path string, minFree uint64) func(context.Context) error {
	return func(context.Context) error {
		free, err := diskFree(path)
		if err != nil {
			return fmt.Errorf("checkers: disk: %w", err)
		}
		if free < minFree {
			return fmt.Errorf("checkers: disk: %d bytes free under %s, want at least %d", free, path, minFree)
		}
		return nil
	}
}

// Goroutines checks that the process runs at most max goroutines: a steady
// climb is the usual sign of a leak.
func Goroutines(max int) func(context.Context) error {
	return func(context.Context) error {
		if n := runtime.NumGoroutine(); n > max {
			return fmt.Errorf("checkers: %d goroutines, more than %d", n, max)
		}
		return nil
	}
}

// heapMetric is the bytes of live and not-yet-swept heap objects.
const heapMetric = "/memory/classes/heap/objects:bytes"

// HeapBytes checks that the heap's objects take at most max bytes. It reads
// runtime/metrics, which does not stop the world.
func HeapBytes(max uint64) func(context.Context) error {
	return func(context.Context) error {
		s := []metrics.Sample{{Name: heapMetric}}
		metrics.Read(s)
		if s[0].Value.Kind() != metrics.KindUint64 {
			return errors.New("checkers: heap metric unavailable")
		}
		if n := s[0].Value.Uint64(); n > max {
			return fmt.Errorf("checkers: heap holds %d bytes, more than %d", n, max)
		}
		return nil
	}
}
