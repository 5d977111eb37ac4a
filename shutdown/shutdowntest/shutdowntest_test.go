package shutdowntest_test

import (
	"context"
	"io"
	"net"
	"net/http"
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
