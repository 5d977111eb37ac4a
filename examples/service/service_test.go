package main_test

// Black-box tests of the example service against CONTRACT.md: a real
// process on loopback ports, real HTTP, real signals, its real stdout.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/operable-go/operable/operabletest"
	"github.com/operable-go/operable/shutdown/shutdowntest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	operabletest.RemoveBuilds()
	os.Exit(code)
}

const pkg = "github.com/operable-go/operable/examples/service"

// start builds and starts the example; operabletest.Start returns once
// /startupz passes.
func start(t *testing.T, env ...string) *operabletest.Process {
	t.Helper()
	return operabletest.Start(t, operabletest.Build(t, pkg), env...)
}

func TestProbesAnswerAsTheContractSays(t *testing.T) {
	t.Parallel()
	p := start(t)
	for _, path := range []string{"/livez", "/readyz", "/startupz", "/readyz?verbose", "/livez?verbose"} {
		resp, body, err := p.TryGet(t.Context(), p.AdminURL, path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200; body %s", path, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/health+json" {
			t.Errorf("GET %s Content-Type = %q, want application/health+json", path, ct)
		}
		var h struct {
			Status string                      `json:"status"`
			Checks map[string][]map[string]any `json:"checks"`
		}
		if err := json.Unmarshal([]byte(body), &h); err != nil {
			t.Fatalf("GET %s: body %q is not health+json: %v", path, body, err)
		}
		if h.Status != "pass" {
			t.Errorf("GET %s status = %q, want pass; body %s", path, h.Status, body)
		}
		if strings.Contains(path, "verbose") && len(h.Checks) == 0 {
			t.Errorf("GET %s lists no checks", path)
		}
	}
	// ?exclude= leaves a check out of the verbose listing.
	_, body := p.Get(p.AdminURL, "/readyz?verbose&exclude=items-capacity")
	if strings.Contains(body, "items-capacity") {
		t.Errorf("/readyz?exclude=items-capacity still lists it: %s", body)
	}
	// /metrics is Prometheus text and carries the resource.
	code, body := p.Get(p.AdminURL, "/metrics")
	if code != http.StatusOK || !strings.Contains(body, "target_info{") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics = %d, want 200 with target_info and Go runtime metrics; got:\n%.500s", code, body)
	}
}

func TestEveryRequestGetsOneAccessLogLineWithItsRequestID(t *testing.T) {
	t.Parallel()
	p := start(t)
	requests := []struct {
		path, header string
		wantStatus   int
		wantRoute    string
	}{
		{"/hello?name=ops", "X-Request-ID: given-id-1", 200, "/hello"},
		{"/items/42", "X-Request-ID: given-id-2", 404, "/items/{id}"},
		{"/no/such/route", "X-Request-ID: given-id-3", 404, ""},
		// An id with a space is not printable ASCII: a new one is made.
		{"/items", "X-Request-ID: bad id", 200, "/items"},
	}
	for _, rq := range requests {
		resp, _, err := p.TryGet(t.Context(), p.AppURL, rq.path, rq.header)
		if err != nil {
			t.Fatal(err)
		}
		echoed := resp.Header.Get("X-Request-ID")
		given := strings.TrimSpace(strings.TrimPrefix(rq.header, "X-Request-ID:"))
		if rq.path == "/items" {
			if echoed == "" || echoed == given {
				t.Errorf("GET %s with a bad X-Request-ID echoed %q, want a new id", rq.path, echoed)
			}
		} else if echoed != given {
			t.Errorf("GET %s echoed X-Request-ID %q, want %q", rq.path, echoed, given)
		}
		line := p.WaitLog(5*time.Second, func(m map[string]any) bool { return m["msg"] == "request" && m["request_id"] == echoed })
		if line["route"] != rq.wantRoute || line["status"] != float64(rq.wantStatus) || line["method"] != "GET" {
			t.Errorf("access log for %s = %v, want route %q status %d method GET", rq.path, line, rq.wantRoute, rq.wantStatus)
		}
		for _, k := range []string{"time", "level", "service", "version", "env", "duration", "bytes"} {
			if _, ok := line[k]; !ok {
				t.Errorf("access log for %s has no %q: %v", rq.path, k, line)
			}
		}
	}
	// Exactly one line per request.
	count := map[any]int{}
	for _, m := range p.Logs() {
		if m["msg"] == "request" {
			count[m["request_id"]]++
		}
	}
	if len(count) != len(requests) {
		t.Errorf("access log lines for %d request ids, want %d: %v", len(count), len(requests), count)
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("request %v has %d access log lines, want 1", id, n)
		}
	}
}

func TestMetricsLabelRequestsWithTheRoutePattern(t *testing.T) {
	t.Parallel()
	p := start(t)
	for _, path := range []string{"/items/42", "/items/43", "/items/abc"} {
		p.Get(p.AppURL, path)
	}
	_, body := p.Get(p.AdminURL, "/metrics")
	var found bool
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "http_server_request_duration_seconds_count{") && strings.Contains(line, `http_route="/items/{id}"`) &&
			strings.Contains(line, `http_response_status_code="404"`) {
			found = true
			if !strings.HasSuffix(line, " 2") {
				t.Errorf("want 2 requests counted under /items/{id} 404: %s", line)
			}
		}
		if strings.Contains(line, "/items/42") || strings.Contains(line, "/items/abc") {
			t.Errorf("a raw path reached the metrics: %s", line)
		}
	}
	if !found {
		t.Errorf("no http_server_request_duration_seconds_count with http_route=\"/items/{id}\" in:\n%s", body)
	}
}

func TestSIGTERMLetsInFlightRequestFinishWhileReadinessFails(t *testing.T) {
	t.Parallel()
	p := start(t, "SHUTDOWN_DRAIN_DELAY=1s")

	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, body, err := p.TryGet(t.Context(), p.AppURL, "/work?duration=2s")
		r := result{body: body, err: err}
		if resp != nil {
			r.code = resp.StatusCode
		}
		done <- r
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
	sent := time.Now()

	// Readiness fails during the drain, while the admin listener still answers.
	p.WaitStatus(p.AdminURL, "/readyz", http.StatusServiceUnavailable, 900*time.Millisecond)
	if waited := time.Since(sent); waited > 900*time.Millisecond {
		t.Errorf("/readyz took %s to fail after SIGTERM", waited)
	}
	// The app still serves new requests during the drain delay.
	if code, _ := p.Get(p.AppURL, "/hello"); code != http.StatusOK {
		t.Errorf("GET /hello during drain = %d, want 200", code)
	}

	r := <-done
	if r.err != nil || r.code != http.StatusOK {
		t.Errorf("in-flight /work: code %d err %v body %q, want 200", r.code, r.err, r.body)
	}
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	p.WaitLog(time.Second, func(m map[string]any) bool { return m["msg"] == "shutdown complete" && m["outcome"] == "clean" })
	for _, phase := range []string{"draining", "stopping", "hooks"} {
		p.WaitLog(time.Second, func(m map[string]any) bool { return m["msg"] == "shutdown phase done" && m["phase"] == phase })
	}
}

func TestSecondSignalExitsAtOnceWith130(t *testing.T) {
	t.Parallel()
	for _, second := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(second.String(), func(t *testing.T) {
			t.Parallel()
			p := start(t, "SHUTDOWN_DRAIN_DELAY=10s", "SHUTDOWN_TIMEOUT=20s")
			p.Signal(syscall.SIGTERM)
			p.WaitLog(5*time.Second, func(m map[string]any) bool { return m["msg"] == "shutdown started" })
			sent := time.Now()
			p.Signal(second)
			if code := p.Wait(5 * time.Second); code != 130 {
				t.Errorf("exit code = %d, want 130", code)
			}
			if d := time.Since(sent); d > 2*time.Second {
				t.Errorf("exit took %s after the second signal, want at once", d)
			}
			line := p.WaitLog(time.Second, func(m map[string]any) bool { return m["msg"] == "second signal: exiting at once" })
			if line["phase"] != "draining" {
				t.Errorf("forced exit names phase %v, want draining", line["phase"])
			}
		})
	}
}

// TestNoRequestIsDroppedWhileTheServiceStops keeps clients sending fast and
// slow requests while SIGTERM arrives: every accepted request completes, the
// drain delay serves new ones, and the process exits 0.
func TestNoRequestIsDroppedWhileTheServiceStops(t *testing.T) {
	t.Parallel()
	p := start(t, "SHUTDOWN_DRAIN_DELAY=1s")
	report := shutdowntest.Check(t, shutdowntest.Load{
		URLs: []string{
			p.AppURL + "/hello", p.AppURL + "/work?duration=300ms", p.AppURL + "/items",
			p.AppURL + "/items/1", p.AppURL + "/work?duration=50ms",
		},
		Clients: 16,
	}, p.SignalFunc(syscall.SIGTERM))
	if report.ServedAfterStop == 0 {
		t.Errorf("no request was served during the drain delay: %s", report)
	}
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
}

// auditSink is a real HTTP upstream for the example's audit log. When hang
// is set it never answers, until the client gives up.
func auditSink(t *testing.T, hang bool) (*httptest.Server, func() []map[string]any) {
	t.Helper()
	var mu sync.Mutex
	var events []map[string]any
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hang {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		var batch []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		events = append(events, batch...)
		mu.Unlock()
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv, func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		return append([]map[string]any(nil), events...)
	}
}

func createItem(t *testing.T, p *operabletest.Process, name string) {
	t.Helper()
	resp, err := p.Client.Post(p.AppURL+"/items", "application/json", strings.NewReader(`{"name":"`+name+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /items = %d", resp.StatusCode)
	}
}

func TestStopHookFlushesTheLastChanges(t *testing.T) {
	t.Parallel()
	sink, received := auditSink(t, false)
	p := start(t, "AUDIT_URL="+sink.URL, "AUDIT_INTERVAL=1h")
	createItem(t, p, "a")
	createItem(t, p, "b")
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 0 {
		t.Errorf("exit code = %d, want 0", code)
	}
	if got := received(); len(got) != 2 || got[0]["action"] != "create" {
		t.Errorf("the sink received %v, want the two creations flushed at shutdown", got)
	}
}

func TestAHangingHookMakesTheExitCode1AndTheLaterHooksStillRun(t *testing.T) {
	t.Parallel()
	sink, _ := auditSink(t, true)
	p := start(t, "AUDIT_URL="+sink.URL, "AUDIT_INTERVAL=1h", "AUDIT_FLUSH_TIMEOUT=500ms")
	createItem(t, p, "stuck")
	sent := time.Now()
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if d := time.Since(sent); d < 500*time.Millisecond || d > 5*time.Second {
		t.Errorf("the stop took %s, want the hook's 500ms timeout and little more", d)
	}
	var order []string
	for _, m := range p.Logs() {
		switch m["msg"] {
		case "stop hook failed", "stop hook done":
			order = append(order, fmt.Sprint(m["msg"], ": ", m["hook"]))
		case "shutdown complete":
			if m["outcome"] != "with errors" {
				t.Errorf("final line %v, want outcome with errors", m)
			}
		}
	}
	want := []string{"stop hook failed: audit flush", "stop hook done: database", "stop hook done: telemetry"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("hooks logged %v, want %v", order, want)
	}
}

func TestBadConfigurationExits78WithEveryProblemAndNoValue(t *testing.T) {
	t.Parallel()
	bin := operabletest.Build(t, pkg)
	code, lines := operabletest.Run(t, bin,
		"SHUTDOWN_TIMEOUT=s3cr3t-not-a-duration",
		"LOG_LEVEL=loud",
		"MAX_ITEMS=-5",
		"ADMIN_TOKEN=tok-s3cr3t",
	)
	if code != 78 {
		t.Fatalf("exit code = %d, want 78; output %q", code, lines)
	}
	if len(lines) != 1 {
		t.Fatalf("want one message, got %d lines: %q", len(lines), lines)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("the message is not JSON: %q", lines[0])
	}
	msg, _ := m["error"].(string)
	for _, want := range []string{"SHUTDOWN_TIMEOUT", "LOG_LEVEL", "MAX_ITEMS"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message does not name %s: %s", want, msg)
		}
	}
	for _, secret := range []string{"s3cr3t", "loud"} {
		if strings.Contains(lines[0], secret) {
			t.Errorf("the message echoes the value %q: %s", secret, lines[0])
		}
	}
}

func TestDebugPagesNeedTheAdminToken(t *testing.T) {
	t.Parallel()
	const token = "test-admin-token-123"
	// MAX_ITEMS=1 and one item make the non-critical capacity check warn,
	// so that /readyz?verbose has error text to show or hide.
	withoutToken := start(t, "MAX_ITEMS=1")
	withToken := start(t, "MAX_ITEMS=1", "ADMIN_TOKEN="+token)
	for _, p := range []*operabletest.Process{withoutToken, withToken} {
		resp, err := p.Client.Post(p.AppURL+"/items", "application/json", strings.NewReader(`{"name":"only"}`))
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /items: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	cases := []struct {
		name       string
		p          *operabletest.Process
		header     string
		want       int
		wantOutput bool
	}{
		{"no token configured", withoutToken, "Authorization: Bearer " + token, http.StatusNotFound, false},
		{"no credentials", withToken, "", http.StatusUnauthorized, false},
		{"wrong token", withToken, "Authorization: Bearer nope", http.StatusUnauthorized, false},
		{"wrong scheme", withToken, "Authorization: Basic " + token, http.StatusUnauthorized, false},
		{"right token", withToken, "Authorization: Bearer " + token, http.StatusOK, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			for _, path := range []string{"/debug/info", "/debug/pprof/"} {
				resp, body, err := p.TryGet(t.Context(), p.AdminURL, path, tc.header)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tc.want {
					t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, tc.want)
				}
				if strings.Contains(body, token) {
					t.Errorf("GET %s leaks the admin token", path)
				}
				if path == "/debug/info" && tc.want == http.StatusOK {
					var info map[string]any
					if err := json.Unmarshal([]byte(body), &info); err != nil {
						t.Fatalf("/debug/info is not JSON: %q", body)
					}
					for _, k := range []string{"service", "version", "go_version", "start_time"} {
						if info[k] == nil || info[k] == "" {
							t.Errorf("/debug/info has no %s: %s", k, body)
						}
					}
				}
			}
			// A warning check keeps readiness at 200; its error text is for
			// token holders only, its name and status for everyone.
			resp, body, err := p.TryGet(t.Context(), p.AdminURL, "/readyz?verbose", tc.header)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"warn"`) || !strings.Contains(body, "items-capacity") {
				t.Errorf("/readyz?verbose = %d %s, want 200 with items-capacity warning", resp.StatusCode, body)
			}
			if got := strings.Contains(body, "100% full"); got != tc.wantOutput {
				t.Errorf("/readyz?verbose shows check output = %v, want %v: %s", got, tc.wantOutput, body)
			}
		})
	}
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestVerboseProbesShowTheServicesOwnChecks: the example's real checks, over
// its real dependencies, appear in ?verbose, and each has a sub-path.
func TestVerboseProbesShowTheServicesOwnChecks(t *testing.T) {
	t.Parallel()
	sink, _ := auditSink(t, false)
	p := start(t, "AUDIT_URL="+sink.URL)
	want := map[string][]string{
		"/readyz?verbose": {"lifecycle", "items-capacity", "audit-sink", "audit-upstream"},
		"/livez?verbose":  {"ping", "goroutines"},
	}
	for path, checks := range want {
		// The upstream check runs in the background: wait for its first
		// result, which the probe then reads without waiting.
		waitFor(t, 5*time.Second, func() bool {
			_, body := p.Get(p.AdminURL, path)
			return strings.Contains(body, `"status":"pass"`) && !strings.Contains(body, `"status":"fail"`)
		})
		_, body := p.Get(p.AdminURL, path)
		for _, c := range checks {
			if !strings.Contains(body, `"`+c+`":[{`) {
				t.Errorf("%s does not list %s: %s", path, c, body)
			}
		}
	}
	for _, sub := range []string{"/readyz/audit-upstream", "/livez/goroutines"} {
		if code, body := p.Get(p.AdminURL, sub); code != http.StatusOK {
			t.Errorf("GET %s = %d %s", sub, code, body)
		}
	}
	// Every check's status and last duration are metrics.
	_, metrics := p.Get(p.AdminURL, "/metrics")
	var statusSeen, durationSeen bool
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "health_check_status{") && strings.Contains(line, `check="audit-upstream"`) &&
			strings.Contains(line, `status="pass"`) && strings.HasSuffix(line, " 1") {
			statusSeen = true
		}
		if strings.HasPrefix(line, "health_check_duration_seconds{") && strings.Contains(line, `check="audit-upstream"`) {
			durationSeen = true
		}
	}
	if !statusSeen || !durationSeen {
		t.Errorf("/metrics lacks audit-upstream's status (%v) or duration (%v)", statusSeen, durationSeen)
	}
	// The upstream passed from its first result: no change, so no line,
	// however many probes.
	for _, m := range p.Logs() {
		if m["msg"] == "health check status changed" && m["check"] == "audit-upstream" {
			t.Errorf("audit-upstream passed from the start, yet logged a change: %v", m)
		}
	}
}

// TestNoSecretReachesStdout gives the service a secret through its config
// and sends requests carrying credentials in headers and query strings, at
// debug level, where the example logs rejected requests with their headers.
func TestNoSecretReachesStdout(t *testing.T) {
	t.Parallel()
	const (
		apiKey = "k3y-0f-the-example-service"
		jwt    = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
		admin  = "admin-t0ken-for-debug"
	)
	p := start(t, "API_KEY="+apiKey, "ADMIN_TOKEN="+admin, "LOG_LEVEL=debug")
	send := func(method, path string, header ...string) int {
		req, _ := http.NewRequest(method, p.AppURL+path, strings.NewReader(`{"name":"x"}`))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := p.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cases := []struct {
		method, path string
		header       []string
		want         int
	}{
		{"POST", "/items?access_token=" + jwt, []string{"Authorization", "Bearer wrong-" + apiKey}, 401},
		{"POST", "/items?key=" + apiKey, []string{"Authorization", "Basic " + apiKey, "Cookie", "session=" + apiKey}, 401},
		{"POST", "/items", []string{"Authorization", "Bearer " + apiKey, "X-Api-Key", apiKey}, 201},
		{"DELETE", "/items/1?token=" + jwt, []string{"Authorization", "Bearer " + apiKey}, 204},
		{"GET", "/hello?name=" + apiKey, nil, 200},
	}
	for _, c := range cases {
		if code := send(c.method, c.path, c.header...); code != c.want {
			t.Errorf("%s %s = %d, want %d", c.method, c.path, code, c.want)
		}
	}
	p.Get(p.AdminURL, "/debug/info", "Authorization: Bearer "+admin)
	p.WaitLog(5*time.Second, func(m map[string]any) bool { return m["msg"] == "rejected credentials" })
	p.Signal(syscall.SIGTERM)
	p.Wait(10 * time.Second)
	rejected := 0
	for _, m := range p.Logs() {
		line := fmt.Sprint(m)
		for _, secret := range []string{apiKey, jwt, admin} {
			if strings.Contains(line, secret) {
				t.Errorf("stdout holds a secret: %s", line)
			}
		}
		if m["msg"] == "rejected credentials" {
			rejected++
		}
	}
	if rejected != 2 {
		t.Errorf("%d rejected-credentials lines, want 2: the debug lines must be written, masked", rejected)
	}
}

func TestLogLevelChangesAtRunTime(t *testing.T) {
	t.Parallel()
	const admin = "admin-t0ken-for-level"
	p := start(t, "ADMIN_TOKEN="+admin)
	auth := "Authorization: Bearer " + admin
	if code, body := p.Get(p.AdminURL, "/debug/loglevel", auth); code != 200 || !strings.Contains(body, `"info"`) {
		t.Fatalf("GET /debug/loglevel = %d %s", code, body)
	}
	req, _ := http.NewRequest(http.MethodPut, p.AdminURL+"/debug/loglevel", strings.NewReader(`{"level":"debug"}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := p.Client.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT /debug/loglevel: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, body := p.Get(p.AdminURL, "/debug/loglevel", auth); !strings.Contains(body, `"debug"`) {
		t.Errorf("level after PUT: %s", body)
	}
	p.WaitLog(2*time.Second, func(m map[string]any) bool { return m["msg"] == "log level changed" && m["to"] == "debug" })
	req, _ = http.NewRequest(http.MethodPut, p.AdminURL+"/debug/loglevel", strings.NewReader("loud"))
	req.Header.Set("Authorization", "Bearer "+admin)
	if resp, err := p.Client.Do(req); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("PUT a bad level: %v %v, want 400", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestDebugConfigShowsLayersAndNoSecret: /debug/config lists every field with
// the layer that set it, secrets as [REDACTED] by type, and masks a password
// inside a URL field.
func TestDebugConfigShowsLayersAndNoSecret(t *testing.T) {
	t.Parallel()
	const (
		admin   = "admin-t0ken-for-config"
		apiKey  = "k3y-shown-nowhere-123"
		urlPass = "url-pa55word"
	)
	sink, _ := auditSink(t, false)
	auditURL := strings.Replace(sink.URL, "http://", "http://audit:"+urlPass+"@", 1)
	p := start(t, "ADMIN_TOKEN="+admin, "API_KEY="+apiKey, "AUDIT_URL="+auditURL, "GREETING=Hi")
	code, body := p.Get(p.AdminURL, "/debug/config", "Authorization: Bearer "+admin)
	if code != http.StatusOK {
		t.Fatalf("GET /debug/config = %d %s", code, body)
	}
	for _, secret := range []string{admin, apiKey, urlPass} {
		if strings.Contains(body, secret) {
			t.Errorf("/debug/config shows %q", secret)
		}
	}
	var cfg struct {
		SDK, Service []struct{ Var, Source, Value string }
	}
	if err := json.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range append(cfg.SDK, cfg.Service...) {
		got[f.Var] = f.Source + " " + f.Value
	}
	for v, want := range map[string]string{
		"GREETING":         "env:GREETING Hi",
		"MAX_ITEMS":        "default 10000",
		"ADMIN_TOKEN":      "env:ADMIN_TOKEN [REDACTED]",
		"API_KEY":          "env:API_KEY [REDACTED]",
		"SHUTDOWN_TIMEOUT": "default 25s",
		"ENVIRONMENT":      "default local",
	} {
		if got[v] != want {
			t.Errorf("%s = %q, want %q", v, got[v], want)
		}
	}
	if !strings.Contains(got["AUDIT_URL"], "audit:[REDACTED]@") {
		t.Errorf("AUDIT_URL = %q, want its password masked", got["AUDIT_URL"])
	}
	if code, _ := p.Get(p.AdminURL, "/debug/config"); code != http.StatusUnauthorized {
		t.Errorf("GET /debug/config without the token = %d, want 401", code)
	}
}

// TestFlagsFileIsWatched: the example's greeting follows a flag of
// FLAGS_FILE, reloaded when the file changes; a corrupt file keeps the last
// good flags and shows as a warning in readiness.
func TestFlagsFileIsWatched(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "flags.json")
	write := func(content string) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	flag := func(variant string) string {
		return `{"flags":{"loud-greeting":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"` + variant + `"}}}`
	}
	write(flag("off"))
	p := start(t, "FLAGS_FILE="+path)
	if _, body := p.Get(p.AppURL, "/hello"); !strings.Contains(body, "Hello, world") {
		t.Fatalf("GET /hello = %s", body)
	}
	write(flag("on"))
	waitFor(t, 5*time.Second, func() bool {
		_, body := p.Get(p.AppURL, "/hello")
		return strings.Contains(body, "HELLO, WORLD")
	})
	p.WaitLog(time.Second, func(m map[string]any) bool {
		return m["msg"] == "feature flags reloaded" && fmt.Sprint(m["changed"]) == "[loud-greeting]"
	})

	write(`{"flags": {"loud-greeting": `)
	waitFor(t, 5*time.Second, func() bool {
		_, body := p.Get(p.AdminURL, "/readyz?verbose")
		return strings.Contains(body, `"flags-file":[{"componentType":"component","status":"warn"`)
	})
	if code, body := p.Get(p.AppURL, "/hello"); code != 200 || !strings.Contains(body, "HELLO, WORLD") {
		t.Errorf("after a corrupt write GET /hello = %d %s, want the last good flags", code, body)
	}
	p.WaitLog(time.Second, func(m map[string]any) bool { return m["msg"] == "feature flags not reloaded" })
}

// TestAuditBreakerOpensOnAFailingUpstreamAndObeysTheOperator: the audit
// upstream fails; after AUDIT_BREAKER_MIN_CALLS failed sends the breaker
// opens, stops the calls, shows on /metrics and in /readyz?verbose (warn,
// the probe still passes), and an operator holds it closed through
// /debug/breakers.
func TestAuditBreakerOpensOnAFailingUpstreamAndObeysTheOperator(t *testing.T) {
	t.Parallel()
	const token = "breaker-admin-token"
	var hits atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(sink.Close)
	p := start(t, "AUDIT_URL="+sink.URL, "AUDIT_INTERVAL=50ms", "AUDIT_BREAKER_MIN_CALLS=2",
		"AUDIT_BREAKER_OPEN_TIMEOUT=10m", "ADMIN_TOKEN="+token)
	createItem(t, p, "kept") // a pending event: every interval tries to send it
	opened := p.WaitLog(10*time.Second, func(m map[string]any) bool {
		return m["msg"] == "circuit breaker state changed" && m["breaker"] == "audit" && m["to"] == "open"
	})
	if opened["calls"] != 2.0 || opened["failures"] != 2.0 || opened["level"] != "WARN" {
		t.Errorf("transition log = %v, want calls 2, failures 2 at WARN", opened)
	}
	metric := func(name, match string) bool {
		_, body := p.Get(p.AdminURL, "/metrics")
		for _, line := range strings.Split(body, "\n") {
			// A series at 0 has counted nothing yet: the breaker's
			// counters show every outcome and reason from the start.
			if strings.HasPrefix(line, name+"{") && strings.Contains(line, `breaker="audit"`) && strings.Contains(line, match) &&
				!strings.HasSuffix(line, "} 0") {
				return true
			}
		}
		return false
	}
	if !metric("circuit_breaker_state", `state="open"} 1`) {
		t.Error(`/metrics lacks circuit_breaker_state{breaker="audit",state="open"} 1`)
	}
	if !metric("circuit_breaker_calls_total", `outcome="failure"`) || !metric("circuit_breaker_transitions_total", `to="open"`) {
		t.Error("/metrics lacks the breaker's calls or transitions")
	}
	code, body := p.Get(p.AdminURL, "/readyz?verbose")
	if code != http.StatusOK || !strings.Contains(body, `"breaker-audit":[{`) || !strings.Contains(body, `"status":"warn"`) {
		t.Errorf("/readyz?verbose = %d %s, want 200 with breaker-audit at warn", code, body)
	}
	// Open: the upstream is left alone, the rejections are counted.
	before := hits.Load()
	waitFor(t, 10*time.Second, func() bool { return metric("circuit_breaker_rejections_total", `reason="open"`) })
	if got := hits.Load(); got != before {
		t.Errorf("the upstream got %d calls while the breaker was open", got-before)
	}
	// The client telemetry around the breaker records the rejections as
	// failed calls.
	_, body = p.Get(p.AdminURL, "/metrics")
	if !strings.Contains(body, `error_type="*breaker.RejectedError"`) {
		t.Error(`/metrics has no client request with error_type="*breaker.RejectedError"`)
	}

	// The operator holds it closed: the sends reach the upstream again.
	auth := "Authorization: Bearer " + token
	put := func(mode string, headers ...string) int {
		req, _ := http.NewRequest(http.MethodPut, p.AdminURL+"/debug/breakers/audit", strings.NewReader(`{"mode":"`+mode+`"}`))
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ": ")
			req.Header.Set(k, v)
		}
		resp, err := p.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put("closed"); code != http.StatusUnauthorized {
		t.Errorf("PUT /debug/breakers/audit without the token = %d, want 401", code)
	}
	if code := put("closed", auth); code != http.StatusOK {
		t.Fatalf("PUT /debug/breakers/audit = %d, want 200", code)
	}
	waitFor(t, 10*time.Second, func() bool { return hits.Load() > before })
	code, body = p.Get(p.AdminURL, "/debug/breakers", auth)
	if code != http.StatusOK || !strings.Contains(body, `"state": "forced_closed"`) || !strings.Contains(body, `"mode": "closed"`) {
		t.Errorf("GET /debug/breakers = %d %s, want audit forced_closed", code, body)
	}
	if !metric("circuit_breaker_state", `state="forced_closed"} 1`) {
		t.Error("/metrics does not show the forced state")
	}
	p.WaitLog(5*time.Second, func(m map[string]any) bool {
		return m["msg"] == "circuit breaker mode set by operator" && m["breaker"] == "audit" && m["to_mode"] == "closed"
	})
	if code := put("sideways", auth); code != http.StatusBadRequest {
		t.Errorf("PUT an unknown mode = %d, want 400", code)
	}
}

// TestConfigFilesAreLayeredAndBadOnesNamedByLine: config/base.yaml and
// config/<ENVIRONMENT>.yaml in the working directory, under the
// environment; /debug/config says which layer set each value; a bad file
// stops start-up with exit code 78, naming file, line and column.
func TestConfigFilesAreLayeredAndBadOnesNamedByLine(t *testing.T) {
	t.Parallel()
	const token = "config-admin-token"
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, "config", name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("base.yaml", "GREETING: Hi\nMAX_ITEMS: 50\nAUDIT_BREAKER:\n  MIN_CALLS: 7\n")
	write("development.yaml", "GREETING: Howdy\n")
	bin := operabletest.Build(t, pkg)
	p := operabletest.StartIn(t, dir, bin, "ENVIRONMENT=development", "MAX_ITEMS=60", "ADMIN_TOKEN="+token)
	if _, body := p.Get(p.AppURL, "/hello?name=x"); !strings.Contains(body, "Howdy, x") {
		t.Errorf("GET /hello = %s, want the development file's greeting", body)
	}
	_, body := p.Get(p.AdminURL, "/debug/config", "Authorization: Bearer "+token)
	var page struct {
		Service []struct {
			Var, Source, Value string
			Shadowed           []string
		}
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("/debug/config: %v: %s", err, body)
	}
	want := map[string]string{
		"GREETING":                "file:config/development.yaml:1:11",
		"MAX_ITEMS":               "env:MAX_ITEMS",
		"AUDIT_BREAKER_MIN_CALLS": "file:config/base.yaml:4:14",
		"AUDIT_INTERVAL":          "default",
	}
	for _, f := range page.Service {
		if w, ok := want[f.Var]; ok {
			if f.Source != w {
				t.Errorf("%s: source %q, want %q (shadowed %v)", f.Var, f.Source, w, f.Shadowed)
			}
			delete(want, f.Var)
		}
	}
	if len(want) > 0 {
		t.Errorf("/debug/config lacks %v", want)
	}

	write("base.yaml", "GREETING: Hi\nMAX_ITEMS: lots\nGRETING: typo\n")
	code, lines := operabletest.RunIn(t, dir, bin)
	out := strings.Join(lines, "\n")
	if code != 78 || !strings.Contains(out, "config/base.yaml:2:12: MAX_ITEMS (field MaxItems): not a valid int") ||
		!strings.Contains(out, "config/base.yaml:3:1: unknown key GRETING (did you mean GREETING?)") {
		t.Errorf("exit %d, output %s; want 78 naming the file positions", code, out)
	}
}

// TestConfigFilesAreReloadedAtRunTime: a change to config/base.yaml
// reaches the running service (its greeting follows); a corrupt write is
// kept out, and warns in readiness and on /metrics; a change to a setting
// the running service cannot take (the shutdown budget) is reported as
// needing a restart.
func TestConfigFilesAreReloadedAtRunTime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := configWriter(t, dir)
	write("GREETING: Hi\n")
	p := operabletest.StartIn(t, dir, operabletest.Build(t, pkg))
	greets := func(want string) bool {
		_, body := p.Get(p.AppURL, "/hello?name=x")
		return strings.Contains(body, want+", x")
	}
	if !greets("Hi") {
		t.Fatal("the file's greeting is not used")
	}
	write("GREETING: Yo\n")
	waitFor(t, 10*time.Second, func() bool { return greets("Yo") })
	p.WaitLog(5*time.Second, func(m map[string]any) bool {
		return m["msg"] == "config reloaded" && fmt.Sprint(m["changed"]) == "[Greeting]"
	})

	write("GREETING: [broken\n")
	// The check may still show its start-up warn: wait for the reload's
	// own line first.
	p.WaitLog(10*time.Second, func(m map[string]any) bool {
		return m["msg"] == "config reload failed; keeping the running configuration"
	})
	waitFor(t, 10*time.Second, func() bool {
		_, body := p.Get(p.AdminURL, "/readyz?verbose")
		return strings.Contains(body, `"config-files":[{`) && strings.Contains(body, `"status":"warn"`)
	})
	if !greets("Yo") {
		t.Error("a corrupt file changed the greeting")
	}
	if _, m := p.Get(p.AdminURL, "/metrics"); !strings.Contains(m, `config_reloads_total{`) || !strings.Contains(m, `result="failure"`) {
		t.Error("/metrics does not count the failed reload")
	}

	write("GREETING: Hey\nSHUTDOWN_TIMEOUT: 20s\n")
	waitFor(t, 10*time.Second, func() bool { return greets("Hey") })
	p.WaitLog(5*time.Second, func(m map[string]any) bool {
		return m["msg"] == "config reloaded" && fmt.Sprint(m["restart_needed"]) == "[ShutdownTimeout]"
	})
	if code, _ := p.Get(p.AdminURL, "/readyz/config-files"); code != http.StatusOK {
		t.Errorf("/readyz/config-files = %d after the fix", code)
	}
}

// TestHelpConfigPrintsTheReference: the binary documents every variable
// it reads, the SDK's and its own, and exits 0 without starting.
func TestHelpConfigPrintsTheReference(t *testing.T) {
	t.Parallel()
	bin := operabletest.Build(t, pkg)
	for arg, want := range map[string][]string{
		"-help-config": {"VARIABLE", "SHUTDOWN_TIMEOUT", "GREETING", "AUDIT_BREAKER_MIN_CALLS", "SEED_ITEMS",
			"HTTP_READ_TIMEOUT", "ADMIN_MAX_HEADER_BYTES", "TLS_CERT_FILE", "OTEL_EXPORTER_OTLP_ENDPOINT", "VAULT_ROLE_ID", "FLAG_<KEY>"},
		"-help-config=markdown": {"| `GREETING` | string | `Hello` |  | how GET /hello greets; follows config/ at run time |"},
	} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		if arg == "-help-config" && !regexp.MustCompile(`(?m)^API_KEY +secrets\.Secret +secret `).Match(out) {
			t.Errorf("%s does not mark API_KEY a secret:\n%s", arg, out)
		}
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s output lacks %q:\n%s", arg, w, out)
			}
		}
	}
}

// TestGreetingRolloutFollowsTheShippedFlagFile: with the example's own
// flags.yaml, a fifth of the users get the new greeting, each user always
// the same one; the evaluations are counted on /metrics by flag, variant
// and reason, and /debug/flags shows the rollout's source.
func TestGreetingRolloutFollowsTheShippedFlagFile(t *testing.T) {
	t.Parallel()
	file, err := filepath.Abs("flags.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const token = "flags-admin-token"
	p := start(t, "FLAGS_FILE="+file, "ADMIN_TOKEN="+token)
	warm := 0
	const users = 200
	for i := range users {
		name := fmt.Sprintf("user-%d", i)
		_, first := p.Get(p.AppURL, "/hello?name="+name)
		_, again := p.Get(p.AppURL, "/hello?name="+name)
		if first != again {
			t.Fatalf("%s got %s, then %s: a user must keep one greeting", name, first, again)
		}
		if strings.Contains(first, "Welcome back") {
			warm++
		}
	}
	if warm < users/10 || warm > users*3/10 {
		t.Errorf("%d of %d users got the new greeting, want about a fifth", warm, users)
	}
	_, metrics := p.Get(p.AdminURL, "/metrics")
	if !strings.Contains(metrics, `feature_flag_evaluations_total{`) || !strings.Contains(metrics, `feature_flag_key="greeting-style"`) ||
		!strings.Contains(metrics, `feature_flag_result_reason="TARGETING_MATCH"`) || !strings.Contains(metrics, `feature_flag_result_variant="warm"`) {
		t.Error("/metrics lacks the greeting-style evaluations by variant and reason")
	}
	if strings.Contains(metrics, "user-1") {
		t.Error("/metrics exports a targeting key")
	}
	_, flags := p.Get(p.AdminURL, "/debug/flags", "Authorization: Bearer "+token)
	if !strings.Contains(flags, `"key": "greeting-style"`) || !strings.Contains(flags, `"targeting": true`) || !strings.Contains(flags, `"source": "file"`) {
		t.Errorf("/debug/flags = %s", flags)
	}
}
