package main_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/operable-go/operable/shutdown/shutdowntest"
)

// TestKeptAliveClientsLoseNothingThroughSIGTERM sends POST /items from 16
// clients that keep their connections alive and never retry (any client
// but Go's), through SIGTERM, with no drain delay (the local default) and
// with one: no request written on a kept-alive connection may go
// unanswered, the process exits 0. Connections refused once the listener
// closed were never accepted and are not losses.
func TestKeptAliveClientsLoseNothingThroughSIGTERM(t *testing.T) {
	t.Parallel()
	for _, drain := range []string{"0s", "1s"} {
		t.Run("SHUTDOWN_DRAIN_DELAY="+drain, func(t *testing.T) {
			t.Parallel()
			// Room for every item the clients create.
			p := start(t, "SHUTDOWN_DRAIN_DELAY="+drain, "MAX_ITEMS=100000000")
			report := shutdowntest.Check(t, shutdowntest.Load{
				URLs:      []string{p.AppURL + "/items"},
				Clients:   16,
				KeptAlive: true,
				Body:      `{"name":"kept-alive"}`,
				Timeout:   30 * time.Second,
			}, p.SignalFunc(syscall.SIGTERM))
			if report.Lost != 0 {
				t.Errorf("%d POSTs written on kept-alive connections were never answered, want 0: %s", report.Lost, report)
			}
			if report.Refused == 0 {
				t.Errorf("no client saw the listener close: %s", report)
			}
			if code := p.Wait(10 * time.Second); code != 0 {
				t.Errorf("exit code = %d, want 0", code)
			}
		})
	}
}

// TestTheLineOfARequestCutOffPrecedesShutdownComplete cuts /work off at the
// end of the server drain (SHUTDOWN_TIMEOUT leaves it 2 s): its access-log
// line must be written before "shutdown complete", the stop's last line.
func TestTheLineOfARequestCutOffPrecedesShutdownComplete(t *testing.T) {
	t.Parallel()
	p := start(t, "SHUTDOWN_DRAIN_DELAY=0s", "SHUTDOWN_TIMEOUT=4s")
	done := make(chan error, 1)
	go func() {
		_, _, err := p.TryGet(t.Context(), p.AppURL, "/work?duration=20s", "X-Request-ID: cut-off")
		done <- err
	}()
	// The request is in flight once the active-requests gauge shows it.
	waitFor(t, 5*time.Second, func() bool {
		_, body := p.Get(p.AdminURL, "/metrics")
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "http_server_active_requests{") && strings.Contains(line, `http_request_method="GET"`) {
				return !strings.HasSuffix(line, " 0")
			}
		}
		return false
	})
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 1 {
		t.Errorf("exit code = %d, want 1: the server did not drain in time", code)
	}
	<-done
	var order []string
	for _, m := range p.Logs() {
		if m["msg"] == "shutdown complete" || (m["msg"] == "request" && m["request_id"] == "cut-off") {
			order = append(order, m["msg"].(string))
		}
	}
	if strings.Join(order, ", ") != "request, shutdown complete" {
		t.Errorf("lines in order %v, want the cut-off request's access-log line, then shutdown complete", order)
	}
}
