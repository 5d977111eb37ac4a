package shutdown_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/operable-go/operable/internal/syncbuf"
	"github.com/operable-go/operable/shutdown"
	"github.com/operable-go/operable/shutdown/shutdowntest"
)

// orders answers POST /orders at once, or after ?wait=, reading the body
// first as a real handler would.
func orders() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if d, err := time.ParseDuration(r.URL.Query().Get("wait")); err == nil {
			time.Sleep(d)
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":1}`)
	})
}

// TestKeptAliveClientsLoseNothingThroughAStop sends POSTs from 16 clients
// that keep their connections alive and never retry, through a stop with
// and without a drain delay: no request written on a kept-alive connection
// may go unanswered. Before the lifecycle turned connections over, every
// client lost one.
func TestKeptAliveClientsLoseNothingThroughAStop(t *testing.T) {
	for _, drain := range []time.Duration{0, 300 * time.Millisecond} {
		t.Run(fmt.Sprintf("drain delay %s", drain), func(t *testing.T) {
			ln := listen(t)
			l := shutdown.New(shutdown.Options{Timeout: 10 * time.Second, DrainDelay: drain})
			l.Serve("app", &http.Server{Handler: orders(), ReadHeaderTimeout: 5 * time.Second}, ln)
			done := runAsync(t, context.Background(), l)
			base := "http://" + ln.Addr().String()
			report := shutdowntest.Check(t, shutdowntest.Load{
				URLs:      []string{base + "/orders"},
				Clients:   16,
				KeptAlive: true,
				Body:      `{"item":"book"}`,
				Timeout:   20 * time.Second,
			}, func() error { l.Stop(); return nil })
			if report.Lost != 0 {
				t.Errorf("%d requests lost on kept-alive connections, want 0: %s", report.Lost, report)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return within 5s of the clients' end")
			}
		})
	}
}

// TestResponsesDuringTheDrainSayConnectionClose checks on one kept-alive
// connection that the response before the stop keeps it and the first
// one of the drain closes it.
func TestResponsesDuringTheDrainSayConnectionClose(t *testing.T) {
	ln := listen(t)
	l := shutdown.New(shutdown.Options{Timeout: 10 * time.Second, DrainDelay: 2 * time.Second})
	l.Serve("app", &http.Server{Handler: orders(), ReadHeaderTimeout: 5 * time.Second}, ln)
	done := runAsync(t, context.Background(), l)
	conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	post := func() *http.Response {
		t.Helper()
		if _, err := io.WriteString(conn, "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := post(); resp.Close {
		t.Fatalf("a response before the stop says Connection: close (%v)", resp.Header)
	}
	l.Stop()
	for l.Phase() < shutdown.Draining {
		time.Sleep(time.Millisecond)
	}
	if resp := post(); !resp.Close || resp.StatusCode != http.StatusCreated {
		t.Errorf("the first response of the drain: status %d, Connection: close %v, want 201 and true", resp.StatusCode, resp.Close)
	}
	// The server closes its side after that response.
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("after Connection: close the connection gave %v, want EOF", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// accessLog writes one "request" line once the handler returns, as the
// root's access log does.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		log.Info("request", slog.String("path", r.URL.Path))
	})
}

// TestTheLineOfARequestCutOffPrecedesShutdownComplete cuts a request off at
// the server timeout: its access-log line, written when its handler
// returns, must come before "shutdown complete", the last line of the stop.
func TestTheLineOfARequestCutOffPrecedesShutdownComplete(t *testing.T) {
	var logs syncbuf.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	l := shutdown.New(shutdown.Options{Timeout: 5 * time.Second, ServerTimeout: 300 * time.Millisecond, Logger: log})
	entered, handled := make(chan struct{}), make(chan struct{})
	logged := accessLog(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()              // cut off when the server is closed
		time.Sleep(20 * time.Millisecond) // the handler's own clean-up
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	ln := listen(t)
	l.Serve("app", &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(handled)
		logged.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}, ln)
	done := runAsync(t, context.Background(), l)
	client := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err == nil {
			resp.Body.Close()
		}
		client <- err
	}()
	<-entered
	l.Stop()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "server app") || strings.Contains(err.Error(), "workers") {
		t.Errorf("Run = %v, want the app server's timeout and nothing about workers: it has none", err)
	}
	<-client
	select {
	case <-handled:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler did not return within 5s of its cut-off")
	}
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "request" || m["msg"] == "shutdown complete" {
			order = append(order, m["msg"].(string))
		}
	}
	if strings.Join(order, ", ") != "request, shutdown complete" {
		t.Errorf("lines in order %v, want the request's line before shutdown complete:\n%s", order, logs.String())
	}
}

// TestHTTP2ConnectionsGetAGoawayDuringTheDrain checks that an HTTP/2
// connection (h2c here) that carries a request during the drain is told to
// go away: the client's next request opens a new connection.
func TestHTTP2ConnectionsGetAGoawayDuringTheDrain(t *testing.T) {
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	ln := listen(t)
	l := shutdown.New(shutdown.Options{Timeout: 10 * time.Second, DrainDelay: time.Second})
	l.Serve("app", &http.Server{Handler: orders(), ReadHeaderTimeout: 5 * time.Second, Protocols: &h2c}, ln)
	done := runAsync(t, context.Background(), l)
	var dials atomic.Int32
	tr := &http.Transport{Protocols: &h2c, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	post := func() {
		t.Helper()
		resp, err := client.Post("http://"+ln.Addr().String()+"/orders", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusCreated {
			t.Fatalf("response %s %d, want HTTP/2 201", resp.Proto, resp.StatusCode)
		}
	}
	post()
	post()
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d connections before the stop, want 1", n)
	}
	l.Stop()
	for l.Phase() < shutdown.Draining {
		time.Sleep(time.Millisecond)
	}
	post() // answered, with a GOAWAY
	post()
	if n := dials.Load(); n != 2 {
		t.Errorf("%d connections, want 2: the request after the drain's first answer should use a new one", n)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// TestARequestReadAsShutdownBeginsIsAnswered: net/http drops a request it
// has read if the server is shutting down by the time it looks, between
// reading the request and calling the handler (server.go: readRequest,
// then `if c.server.shuttingDown() { return }`): the client sees EOF on a
// fresh connection. The stop must not call Shutdown while a connection it
// accepted has a request not yet read, or read and not yet handed to its
// handler. Each case opens a connection before the stop and writes its
// first request once the listener is closed: just after it was accepted,
// with net/http's ConnState hook (called in that instant) made 200ms long
// so that the test does not depend on the scheduler; and long after
// (beyond IdleAfter), as a slow TLS handshake or first write would.
func TestARequestReadAsShutdownBeginsIsAnswered(t *testing.T) {
	for _, tc := range []struct {
		name       string
		drain      time.Duration
		slowActive bool
	}{
		{"read as Shutdown begins", 50 * time.Millisecond, true},
		{"accepted long before its request", shutdown.IdleAfter + 200*time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t)
			var slow atomic.Bool
			srv := &http.Server{Handler: orders(), ReadHeaderTimeout: 5 * time.Second,
				ConnState: func(_ net.Conn, st http.ConnState) {
					if st == http.StateActive && slow.Load() {
						time.Sleep(200 * time.Millisecond)
					}
				}}
			l := shutdown.New(shutdown.Options{Timeout: 10 * time.Second, DrainDelay: tc.drain})
			l.Serve("app", srv, ln)
			done := runAsync(t, context.Background(), l)
			conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			time.Sleep(20 * time.Millisecond) // the server's Accept
			l.Stop()
			<-l.Stopping() // the listener is closed from here
			slow.Store(tc.slowActive)
			if _, err := io.WriteString(conn, "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("the request written on a connection accepted before the stop got no answer: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated || !resp.Close {
				t.Errorf("status %d, Connection: close %v; want 201 and true", resp.StatusCode, resp.Close)
			}
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
		})
	}
}
