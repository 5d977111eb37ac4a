package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/operable-go/operable/operabletest"
)

// TestSecondHour runs the service as a real process: it starts once its
// task is done, serves its prefixed setting, counts pages and stops cleanly.
func TestSecondHour(t *testing.T) {
	p := operabletest.Start(t, operabletest.Build(t, "."), "SECOND_PAGE_SIZE=3")
	if status, body := p.Get(p.AppURL, "/items"); status != 200 || body != "3 items\n" {
		t.Errorf("GET /items = %d %q, want 200 \"3 items\\n\"", status, body)
	}
	if _, metrics := p.Get(p.AdminURL, "/metrics"); !strings.Contains(metrics, "pages_served_total{") {
		t.Error("/metrics lacks pages_served_total")
	}
	task := p.WaitLog(time.Second, func(l map[string]any) bool { return l["msg"] == "start-up task done" })
	if task["task"] != "warm-up" {
		t.Errorf("start-up task line = %v, want task warm-up", task)
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
}
