package shutdowntest_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/operable-go/operable/shutdown"
	"github.com/operable-go/operable/shutdown/shutdowntest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// slowAndFast answers /fast at once and /slow after 200ms.
func slowAndFast() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/fast", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
		_, _ = io.WriteString(w, "ok")
	})
	return mux
}

func urls(ln net.Listener) []string {
	base := "http://" + ln.Addr().String()
	return []string{base + "/fast", base + "/slow", base + "/fast"}
}

// TestGracefulStopDropsNothing runs the kit against the shutdown package's
// own lifecycle.
func TestGracefulStopDropsNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := shutdown.New(shutdown.Options{Timeout: 10 * time.Second, DrainDelay: 300 * time.Millisecond})
	l.Serve("app", &http.Server{Handler: slowAndFast(), ReadHeaderTimeout: time.Second}, ln)
	done := make(chan error, 1)
	go func() { done <- l.Run(context.Background()) }()

	report := shutdowntest.Check(t, shutdowntest.Load{URLs: urls(ln), Clients: 6}, func() error { l.Stop(); return nil })
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if report.ServedAfterStop == 0 {
		t.Errorf("no request was served during the drain delay: %s", report)
	}
}

// TestAbruptStopIsCaught proves the kit can fail: closing the server at once,
// as a service without graceful shutdown does, cuts the slow requests.
func TestAbruptStopIsCaught(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: slowAndFast(), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	report, err := shutdowntest.Measure(context.Background(), shutdowntest.Load{URLs: urls(ln), Clients: 6}, srv.Close)
	if err != nil {
		t.Fatal(err)
	}
	if report.Err() == nil || report.Failed == 0 {
		t.Errorf("an abrupt Close passed the check: %s", report)
	}
}

// created answers every POST with 201 once it has read the body.
func created() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	})
}

// TestKeptAliveModeThroughTheLifecycle runs the kept-alive mode against
// the shutdown package's own lifecycle: nothing is lost.
func TestKeptAliveModeThroughTheLifecycle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := shutdown.New(shutdown.Options{Timeout: 10 * time.Second, DrainDelay: 200 * time.Millisecond})
	l.Serve("app", &http.Server{Handler: created(), ReadHeaderTimeout: time.Second}, ln)
	done := make(chan error, 1)
	go func() { done <- l.Run(context.Background()) }()
	report := shutdowntest.Check(t, shutdowntest.Load{URLs: []string{"http://" + ln.Addr().String() + "/orders"}, Clients: 8, KeptAlive: true},
		func() error { l.Stop(); return nil })
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if report.Lost != 0 || report.Refused == 0 || report.ServedAfterStop == 0 {
		t.Errorf("want nothing lost, the clients refused at the end and served during the drain: %s", report)
	}
}

// TestKeptAliveModeCatchesLostRequests proves the mode can fail: a plain
// http.Server.Shutdown closes kept-alive connections under requests their
// clients have just written, which Go's client would have replayed.
func TestKeptAliveModeCatchesLostRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: created(), ReadHeaderTimeout: time.Second}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	report, err := shutdowntest.Measure(context.Background(), shutdowntest.Load{
		URLs:      []string{"http://" + ln.Addr().String() + "/orders"},
		Clients:   16,
		KeptAlive: true,
	}, func() error { return srv.Shutdown(context.Background()) })
	<-served
	if err != nil {
		t.Fatal(err)
	}
	if report.Lost == 0 || report.Err() == nil {
		t.Errorf("a plain Shutdown lost nothing on kept-alive connections: %s", report)
	}
}

func TestKeptAliveModeWantsHTTPURLs(t *testing.T) {
	_, err := shutdowntest.Measure(context.Background(), shutdowntest.Load{URLs: []string{"https://127.0.0.1:1/"}, KeptAlive: true},
		func() error { return nil })
	if err == nil || !strings.Contains(err.Error(), "shutdowntest: ") {
		t.Errorf("Measure with an https URL in the kept-alive mode = %v, want an error", err)
	}
}
