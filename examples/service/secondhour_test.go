package main_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/operable-go/operable/operabletest"
)

// TestSeededItemsAndTheBusinessMetric: SEED_ITEMS are created by a
// start-up task before the service reports ready, and each item created
// through the API is counted in the example's own metric on /metrics.
func TestSeededItemsAndTheBusinessMetric(t *testing.T) {
	t.Parallel()
	p := start(t, "SEED_ITEMS=apple,pear")
	if code, body := p.Get(p.AppURL, "/items"); code != http.StatusOK || !strings.Contains(body, `"name":"apple"`) || !strings.Contains(body, `"name":"pear"`) {
		t.Errorf("GET /items once ready = %d %s, want the seeded items", code, body)
	}
	p.WaitLog(5*time.Second, func(m map[string]any) bool { return m["msg"] == "start-up task done" && m["task"] == "seed items" })
	req, _ := http.NewRequest(http.MethodPost, p.AppURL+"/items", strings.NewReader(`{"name":"fig"}`))
	resp, err := p.Client.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /items: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, m := p.Get(p.AdminURL, "/metrics"); !strings.Contains(m, "items_created_total{") || !strings.Contains(m, "} 1\n") {
		t.Errorf("/metrics lacks items_created_total 1:\n%s", grepLines(m, "items_created"))
	}
}

// TestTooManySeedItemsStopTheServiceNamingTheTask: a failing start-up task
// stops the service with exit code 1, and the log names the task.
func TestTooManySeedItemsStopTheServiceNamingTheTask(t *testing.T) {
	t.Parallel()
	code, lines := operabletest.Run(t, operabletest.Build(t, pkg), "MAX_ITEMS=1", "SEED_ITEMS=a,b")
	if code != 1 || !strings.Contains(strings.Join(lines, "\n"), `start-up task \"seed items\"`) {
		t.Errorf("exit %d, want 1 and the task named in:\n%s", code, strings.Join(lines, "\n"))
	}
}

// TestSIGHUPReloadsAndKeepsServing: SIGHUP is logged as a reload and the
// process keeps serving, then stops cleanly on SIGTERM.
func TestSIGHUPReloadsAndKeepsServing(t *testing.T) {
	t.Parallel()
	p := start(t)
	p.Signal(syscall.SIGHUP)
	p.WaitLog(5*time.Second, func(m map[string]any) bool {
		return m["msg"] == "SIGHUP: reloading the configuration and the flags file"
	})
	if code, _ := p.Get(p.AppURL, "/hello"); code != http.StatusOK {
		t.Errorf("GET /hello after SIGHUP = %d", code)
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
}

// TestFlagsOfTheBinary: -h prints the usage and exits 0; an unknown flag
// or an argument exits 64; none starts the service.
func TestFlagsOfTheBinary(t *testing.T) {
	t.Parallel()
	bin := operabletest.Build(t, pkg)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-h"}, 0, "usage:"},
		{[]string{"--help"}, 0, "GREETING"},
		{[]string{"-bogus"}, 64, "flag provided but not defined"},
		{[]string{"serve"}, 64, "unexpected argument"},
	} {
		out, err := exec.Command(bin, c.args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: exit %d, want %d with %q in:\n%s", c.args, code, c.code, c.want, out)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestLiveConfigCannotLie: MAX_WORK follows config/base.yaml with no
// restart, and the reload says it was applied; MAX_ITEMS, read once at
// start-up, is reported as needing a restart, in the log line and on
// /debug/config, and the store keeps its start-up bound.
func TestLiveConfigCannotLie(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := configWriter(t, dir)
	write("max_work: 1s\nmax_items: 1\n")
	const token = "live-config-admin-token"
	p := operabletest.StartIn(t, dir, operabletest.Build(t, pkg), "ADMIN_TOKEN="+token)
	if code, _ := p.Get(p.AppURL, "/work?duration=1500ms"); code != http.StatusBadRequest {
		t.Fatalf("GET /work?duration=1500ms with MAX_WORK 1s = %d, want 400", code)
	}
	write("max_work: 5s\nmax_items: 1000\n")
	p.WaitLog(10*time.Second, func(m map[string]any) bool {
		return m["msg"] == "config reloaded" && fmt.Sprint(m["applied"]) == "[MaxWork]" && fmt.Sprint(m["restart_needed"]) == "[MaxItems]"
	})
	if code, body := p.Get(p.AppURL, "/work?duration=1500ms"); code != http.StatusOK {
		t.Errorf("GET /work?duration=1500ms after MAX_WORK 5s = %d %s, want 200 with no restart", code, body)
	}
	for i, want := range []int{http.StatusCreated, http.StatusInsufficientStorage} {
		req, _ := http.NewRequest(http.MethodPost, p.AppURL+"/items", strings.NewReader(fmt.Sprintf(`{"name":"n%d"}`, i)))
		resp, err := p.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("POST /items #%d = %d, want %d: MAX_ITEMS keeps its start-up value 1", i+1, resp.StatusCode, want)
		}
	}
	_, body := p.Get(p.AdminURL, "/debug/config", "Authorization: Bearer "+token)
	var dump struct {
		Service []struct {
			Path          string `json:"path"`
			RestartNeeded bool   `json:"restart_needed"`
		} `json:"service"`
	}
	if err := json.Unmarshal([]byte(body), &dump); err != nil {
		t.Fatal(err)
	}
	marked := map[string]bool{}
	for _, f := range dump.Service {
		marked[f.Path] = f.RestartNeeded
	}
	if !marked["MaxItems"] || marked["MaxWork"] {
		t.Errorf("/debug/config restart_needed: MaxItems %v, MaxWork %v; want true, false", marked["MaxItems"], marked["MaxWork"])
	}
}

// TestABadOrVanishedConfigFileKeepsTheRunningConfig: an alias bomb dropped
// into config/ and then the deletion of base.yaml each fail the reload:
// the greeting stays, config-files warns, and the service keeps serving.
func TestABadOrVanishedConfigFileKeepsTheRunningConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgDir := filepath.Join(dir, "config")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(cfgDir, "base.yaml")
	if err := os.WriteFile(base, []byte("greeting: Hi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := operabletest.StartIn(t, dir, operabletest.Build(t, pkg))
	bomb := "a: &a [x, x, x, x, x, x, x, x, x]\n"
	for _, c := range "bcdefghi" {
		prev := string(c - 1)
		bomb += string(c) + ": &" + string(c) + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "local.yaml"), []byte(bomb), 0o600); err != nil {
		t.Fatal(err)
	}
	p.WaitLog(10*time.Second, func(m map[string]any) bool {
		return m["msg"] == "config reload failed; keeping the running configuration"
	})
	if err := os.Remove(filepath.Join(cfgDir, "local.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(base); err != nil {
		t.Fatal(err)
	}
	p.WaitLog(10*time.Second, func(m map[string]any) bool {
		return m["msg"] == "config reload failed; keeping the running configuration" && strings.Contains(fmt.Sprint(m["error"]), "base.yaml")
	})
	if _, body := p.Get(p.AppURL, "/hello"); !strings.Contains(body, "Hi, world") {
		t.Errorf("GET /hello after the bad files = %s, want the last good greeting", body)
	}
	for _, m := range p.Logs() {
		if m["msg"] == "config reloaded" {
			t.Errorf("a reload applied the bad files: %v", m)
		}
	}
}

// configWriter makes dir/config and returns a function that writes
// config/base.yaml aside and renames it into place, as editors and deploy
// tools do.
func configWriter(t *testing.T, dir string) func(content string) {
	t.Helper()
	cfgDir := filepath.Join(dir, "config")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return func(content string) {
		t.Helper()
		tmp := filepath.Join(cfgDir, ".base.yaml.tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(cfgDir, "base.yaml")); err != nil {
			t.Fatal(err)
		}
	}
}
