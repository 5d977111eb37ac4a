package operable_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/breaker"
	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/featureflags"
	"github.com/operable-go/operable/health/healthtest"
	"github.com/operable-go/operable/internal/syncbuf"
	"github.com/operable-go/operable/shutdown"
	"github.com/operable-go/operable/telemetry/telemetrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func loopbackEnv(kv ...string) map[string]string {
	env := map[string]string{"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0"}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

func TestNewReportsTheSDKsAndTheServicesProblemsTogether(t *testing.T) {
	var app struct {
		Workers int `env:"WORKERS"`
	}
	_, err := operable.New(context.Background(), operable.Options{
		Config:  &app,
		Environ: loopbackEnv("ENVIRONMENT", "prod", "LOG_FORMAT", "xml", "WORKERS", "many"),
	})
	var cerr *config.Error
	if !errors.As(err, &cerr) || len(cerr.Problems) != 3 {
		t.Fatalf("New = %v, want 3 configuration problems", err)
	}
	if code := operable.ExitCode(err); code != 78 {
		t.Errorf("ExitCode = %d, want 78", code)
	}
	for _, want := range []string{"ENVIRONMENT", "LOG_FORMAT", "WORKERS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestDrainDelayDefaultsByEnvironment(t *testing.T) {
	cases := []struct {
		env  []string
		want time.Duration
	}{
		{nil, 0},
		{[]string{"ENVIRONMENT", "production"}, operable.DefaultDrainDelay},
		{[]string{"ENVIRONMENT", "production", "SHUTDOWN_DRAIN_DELAY", "0s"}, 0},
		{[]string{"SHUTDOWN_DRAIN_DELAY", "2s"}, 2 * time.Second},
	}
	for _, c := range cases {
		s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(c.env...), Stdout: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Config().DrainDelay(); got != c.want {
			t.Errorf("%v: drain delay %s, want %s", c.env, got, c.want)
		}
	}
	_, err := operable.New(context.Background(), operable.Options{
		Environ: loopbackEnv("SHUTDOWN_DRAIN_DELAY", "30s", "SHUTDOWN_TIMEOUT", "10s"),
	})
	if err == nil || !strings.Contains(err.Error(), "shorter than SHUTDOWN_TIMEOUT") {
		t.Errorf("a drain delay longer than the timeout: %v", err)
	}
}

func TestExitCode(t *testing.T) {
	cases := map[int]error{
		0:  nil,
		1:  errors.New("boom"),
		78: &config.Error{Problems: []config.Problem{{Var: "X", Reason: "bad"}}},
	}
	for want, err := range cases {
		if got := operable.ExitCode(err); got != want {
			t.Errorf("ExitCode(%v) = %d, want %d", err, got, want)
		}
	}
}

// TestRunServesAndStops runs a whole service in process: it serves a route
// and the probes, then stops cleanly on Stop, running the service's hook.
func TestRunServesAndStops(t *testing.T) {
	var out syncbuf.Buffer
	s, err := operable.New(context.Background(), operable.Options{Name: "t", Environ: loopbackEnv(), Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	s.HandleFunc("GET /hi", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hi") })
	hookRan := make(chan struct{})
	s.OnStop(shutdown.Hook{Name: "mine", Func: func(context.Context) error { close(hookRan); return nil }})
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()

	addrs := map[string]string{}
	re := regexp.MustCompile(`"listener":"(\w+)","addr":"([^"]+)"`)
	for deadline := time.Now().Add(5 * time.Second); len(addrs) < 2; time.Sleep(5 * time.Millisecond) {
		for _, m := range re.FindAllStringSubmatch(out.String(), -1) {
			addrs[m[1]] = m[2]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening lines: %s", out.String())
		}
	}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("http://" + addrs["app"] + "/hi"); code != 200 || body != "hi" {
		t.Errorf("GET /hi = %d %q", code, body)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if code, _ := get("http://" + addrs["admin"] + "/startupz"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/startupz never passed")
		}
	}
	if code, _ := get("http://" + addrs["admin"] + "/debug/info"); code != http.StatusNotFound {
		t.Errorf("/debug/info without ADMIN_TOKEN = %d, want 404", code)
	}
	s.Stop()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	<-hookRan
	if !strings.Contains(out.String(), `"msg":"shutdown complete"`) {
		t.Errorf("no final shutdown line in:\n%s", out.String())
	}
}

func TestRunFailsWhenTheAddressIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv("ADMIN_ADDR", taken.Addr().String()), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Run(context.Background())
	if err == nil || operable.ExitCode(err) != 1 || !strings.Contains(err.Error(), "admin listener") {
		t.Errorf("Run on a taken address = %v, want an admin listener error with exit code 1", err)
	}
}

func TestHandleDebugServesBehindTheToken(t *testing.T) {
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv("ADMIN_TOKEN", "t0k"), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	s.HandleDebug("GET /debug/mine", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "mine") }))
	admin := s.AdminHandler()
	for auth, want := range map[string]string{"": "401 unauthorized\n", "Bearer nope": "401 unauthorized\n", "Bearer t0k": "200 mine"} {
		req := httptest.NewRequest(http.MethodGet, "/debug/mine", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		admin.ServeHTTP(rec, req)
		if got := fmt.Sprint(rec.Code, " ", rec.Body.String()); got != want {
			t.Errorf("GET /debug/mine with %q = %q, want %q", auth, got, want)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("HandleDebug outside /debug/ did not panic")
			}
		}()
		s.HandleDebug("GET /mine", http.NotFoundHandler())
	}()
}

func TestAdminProbesPassTheHealthKit(t *testing.T) {
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/livez", "/readyz", "/startupz", "/readyz/lifecycle"} {
		if err := healthtest.TestProbe(healthtest.Probe{Handler: s.AdminHandler(), Path: path}); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

func TestFlagsFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "flags.json")
	_ = os.WriteFile(good, []byte(`{"flags":{"new-checkout":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}}}`), 0o600)
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv("FLAGS_FILE", good, "ADMIN_TOKEN", "t0k3n-flags"), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Flags().Bool("new-checkout", false, featureflags.EvalContext{}) {
		t.Error("the flag from FLAGS_FILE is not on")
	}
	// FLAG_<KEY> overrides a flag for a local run, and says so.
	o, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv("FLAGS_FILE", good, "FLAG_NEW_CHECKOUT", "off"), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if d := o.Flags().BoolDetails("new-checkout", true, featureflags.EvalContext{}); d.Value || d.Variant != "off" {
		t.Errorf("with FLAG_NEW_CHECKOUT=off: %+v", d)
	}
	if info := o.Flags().Flags(); info[0].Source != "env:FLAG_NEW_CHECKOUT" {
		t.Errorf("the override's source = %q", info[0].Source)
	}
	req := httptest.NewRequest("GET", "/debug/flags", nil)
	req.Header.Set("Authorization", "Bearer t0k3n-flags")
	rec := httptest.NewRecorder()
	s.AdminHandler().ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"key": "new-checkout"`) {
		t.Errorf("/debug/flags = %d %s", rec.Code, rec.Body)
	}

	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"flags":{"x":{"state":"MAYBE"}}}`), 0o600)
	for _, env := range [][]string{{"FLAGS_FILE", bad}, {"FLAGS_FILE", filepath.Join(dir, "missing.json")},
		{"FLAGS_FILE", good, "FLAG_NEW_CHECKOUT", "sideways"}} {
		_, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(env...), Stdout: io.Discard})
		if operable.ExitCode(err) != 78 || !strings.Contains(fmt.Sprint(err), "FLAGS_FILE") {
			t.Errorf("%v: %v, want a configuration error naming FLAGS_FILE", env, err)
		}
	}
}

func TestBreakersAreListedAndForcedThroughTheAdminEndpoint(t *testing.T) {
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv("ADMIN_TOKEN", "t0k-br"), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"zeta", "alpha"} {
		if _, err := s.Breaker(name, breaker.Settings{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Breaker("alpha", breaker.Settings{}, nil); err == nil {
		t.Error("a second breaker named alpha was accepted")
	}
	if _, err := s.Breaker("bad", breaker.Settings{FailureRatio: 2}, nil); err == nil {
		t.Error("a breaker with FailureRatio 2 was accepted")
	}
	do := func(method, path, body string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t0k-br")
		rec := httptest.NewRecorder()
		s.AdminHandler().ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	code, body := do(http.MethodGet, "/debug/breakers", "")
	var list struct{ Breakers []breaker.Info }
	if err := json.Unmarshal([]byte(body), &list); err != nil || code != 200 || len(list.Breakers) != 2 ||
		list.Breakers[0].Name != "alpha" || list.Breakers[1].Name != "zeta" {
		t.Fatalf("GET /debug/breakers = %d %s, want alpha and zeta", code, body)
	}
	for _, c := range []struct {
		path, body string
		want       int
		state      breaker.State
	}{
		{"/debug/breakers/alpha", "open", 200, breaker.ForcedOpen},
		{"/debug/breakers/alpha", `{"mode":"auto"}`, 200, breaker.Closed},
		{"/debug/breakers/alpha", `{"mode":"ajar"}`, 400, breaker.Closed},
		{"/debug/breakers/nope", "open", 404, breaker.Closed},
	} {
		if code, body := do(http.MethodPut, c.path, c.body); code != c.want {
			t.Errorf("PUT %s %s = %d %s, want %d", c.path, c.body, code, body, c.want)
		}
		_, body := do(http.MethodGet, "/debug/breakers", "")
		_ = json.Unmarshal([]byte(body), &list)
		if got := list.Breakers[0].State; got != c.state {
			t.Errorf("after PUT %s %s: alpha is %s, want %s", c.path, c.body, got, c.state)
		}
	}
	// Its health check is registered, non-critical.
	if _, ok := s.Health().Lookup(context.Background(), "breaker-alpha"); !ok {
		t.Error("no breaker-alpha check")
	}
}

// TestBadOTELVariablesAreOneProblemEach: bad OTEL_* values are
// configuration problems (exit code 78), one per variable, named, and a
// header's value never printed.
func TestBadOTELVariablesAreOneProblemEach(t *testing.T) {
	_, err := operable.New(context.Background(), operable.Options{Stdout: io.Discard, Environ: loopbackEnv(
		"OTEL_PROPAGATORS", "bogus", "OTEL_TRACES_EXPORTER", "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318", "OTEL_EXPORTER_OTLP_HEADERS", "api-key=s3cr3t%zz")})
	var cerr *config.Error
	if !errors.As(err, &cerr) || operable.ExitCode(err) != 78 {
		t.Fatalf("New = %v, want a configuration error", err)
	}
	var vars []string
	for _, p := range cerr.Problems {
		vars = append(vars, p.Var)
	}
	want := []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_PROPAGATORS"}
	if slices.Sort(vars); !slices.Equal(vars, want) {
		t.Errorf("problems name %v, want %v", vars, want)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("the header's value is in the error: %v", err)
	}
}

// TestServiceOwnTelemetryIsObservedWithTheSDKs: a service's own meter and
// tracer, observed through Options.Telemetry on the real wiring: the
// counter is collected with the SDK's request metrics, and the handler's
// span is a child of the request's server span.
func TestServiceOwnTelemetryIsObservedWithTheSDKs(t *testing.T) {
	obs := telemetrytest.NewObserver()
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(), Stdout: io.Discard, Telemetry: obs.Attach})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	orders, err := s.Meter("orders").Int64Counter("orders.placed")
	if err != nil {
		t.Fatal(err)
	}
	tracer := s.Tracer("orders")
	s.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracer.Start(r.Context(), "reserve stock")
		defer span.End()
		orders.Add(ctx, 1)
		w.WriteHeader(http.StatusCreated)
	})
	rec := httptest.NewRecorder()
	s.AppHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/orders", nil))
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /orders = %d", rec.Code)
	}
	if p := obs.Points(t, "orders.placed"); len(p) != 1 || p[0].Value != 1 {
		t.Errorf("orders.placed points = %+v, want one of 1", p)
	}
	if p := obs.Points(t, "http.server.request.duration"); len(p) != 1 || p[0].Attrs["http.route"] != "/orders" {
		t.Errorf("the SDK's request metric beside it = %+v", p)
	}
	spans := obs.Spans()
	byName := map[string]int{}
	for i, sp := range spans {
		byName[sp.Name()] = i
	}
	child, okc := byName["reserve stock"]
	server, oks := byName["POST /orders"]
	if !okc || !oks {
		t.Fatalf("spans %v, want the handler's and the server's", byName)
	}
	if spans[child].Parent().SpanID() != spans[server].SpanContext().SpanID() {
		t.Error("the handler's span is not a child of the request's server span")
	}
}

// TestShortAdminTokenIsAProblemOutsideLocal: a guessable ADMIN_TOKEN opens
// pprof and the configuration; outside local it must be 16 bytes or more.
func TestShortAdminTokenIsAProblemOutsideLocal(t *testing.T) {
	for _, c := range []struct {
		env, token string
		ok         bool
	}{
		{"local", "t0k", true},
		{"development", "t0k", false},
		{"development", "fifteen-bytes!!", false},
		{"development", "sixteen-bytes!!!", true},
	} {
		_, err := operable.New(context.Background(), operable.Options{Stdout: io.Discard,
			Environ: loopbackEnv("ENVIRONMENT", c.env, "ADMIN_TOKEN", c.token)})
		if (err == nil) != c.ok || (err != nil && (operable.ExitCode(err) != 78 || strings.Contains(err.Error(), c.token))) {
			t.Errorf("%s with a %d-byte token: %v", c.env, len(c.token), err)
		}
	}
}

// TestLogLevelTakesPOSTAsPUT: POST /debug/loglevel changes the level as PUT
// does.
func TestLogLevelTakesPOSTAsPUT(t *testing.T) {
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv("ADMIN_TOKEN", "t0k"), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	for method, level := range map[string]string{http.MethodPost: "debug", http.MethodPut: "warn"} {
		req := httptest.NewRequest(method, "/debug/loglevel", strings.NewReader(level))
		req.Header.Set("Authorization", "Bearer t0k")
		rec := httptest.NewRecorder()
		s.AdminHandler().ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"level":"`+level+`"`) {
			t.Errorf("%s /debug/loglevel %s = %d %s", method, level, rec.Code, rec.Body)
		}
	}
}

// TestLiveNeedsTheTypeOfOptionsConfig: Live[T] refuses a T that is not
// what Options.Config points to, and Load gives the loaded values.
func TestLiveNeedsTheTypeOfOptionsConfig(t *testing.T) {
	type appConfig struct {
		Workers int `env:"WORKERS" envDefault:"3"`
	}
	var cfg appConfig
	s, err := operable.New(context.Background(), operable.Options{Config: &cfg, Environ: loopbackEnv("WORKERS", "7"), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if _, err := operable.Live[struct{ Other int }](s); err == nil {
		t.Error("Live of another type was accepted")
	}
	live, err := operable.Live[appConfig](s)
	if err != nil {
		t.Fatal(err)
	}
	if got := live.Load().Workers; got != 7 || cfg.Workers != 7 {
		t.Errorf("Load().Workers = %d, Options.Config's = %d; want 7", got, cfg.Workers)
	}
}

// TestDebugConfigSaysWhereTheNameCameFrom: a SERVICE_NAME no layer set
// shows Options.Name as its source, not "unset".
func TestDebugConfigSaysWhereTheNameCameFrom(t *testing.T) {
	s, err := operable.New(context.Background(), operable.Options{Name: "orders", Environ: loopbackEnv("ADMIN_TOKEN", "t0k"), Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	req := httptest.NewRequest(http.MethodGet, "/debug/config", nil)
	req.Header.Set("Authorization", "Bearer t0k")
	rec := httptest.NewRecorder()
	s.AdminHandler().ServeHTTP(rec, req)
	var dump struct {
		SDK []config.Field `json:"sdk"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &dump); err != nil {
		t.Fatal(err)
	}
	for _, f := range dump.SDK {
		if f.Path == "ServiceName" && (f.Source != "Options.Name" || f.Value != "orders") {
			t.Errorf("ServiceName on /debug/config: %+v, want orders from Options.Name", f)
		}
	}
}

// TestTypoedVariablesWarnLocallyAndFailInProduction: SHUTDOWN_TIMOUT is a
// warning in local and a configuration error (exit 78) in production, and
// a variable far from every known name is left alone.
func TestTypoedVariablesWarnLocallyAndFailInProduction(t *testing.T) {
	var app struct {
		Greeting string `env:"GREETING"`
	}
	var out syncbuf.Buffer
	s, err := operable.New(context.Background(), operable.Options{Config: &app, Stdout: &out,
		Environ: loopbackEnv("SHUTDOWN_TIMOUT", "10s", "GREETNG", "x", "UNRELATED_THING", "y")})
	if err != nil {
		t.Fatal(err)
	}
	s.Close(context.Background())
	for _, want := range []string{`"variable":"SHUTDOWN_TIMOUT","reason":"unknown variable (did you mean SHUTDOWN_TIMEOUT?)"`,
		`"variable":"GREETNG","reason":"unknown variable (did you mean GREETING?)"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the start-up log lacks %s:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "UNRELATED_THING") {
		t.Error("a variable far from every known name was reported")
	}
	_, err = operable.New(context.Background(), operable.Options{Stdout: io.Discard,
		Environ: loopbackEnv("ENVIRONMENT", "production", "SHUTDOWN_TIMOUT", "10s")})
	if operable.ExitCode(err) != 78 || !strings.Contains(fmt.Sprint(err), "did you mean SHUTDOWN_TIMEOUT?") {
		t.Errorf("in production: %v, want exit 78 naming SHUTDOWN_TIMEOUT", err)
	}
}

// TestConfigPrefixMakesEveryUnknownPrefixedVariableAnError: with
// Options.ConfigPrefix the service's fields are read with the prefix, the
// SDK's keep their names, and an unknown prefixed variable is exit 78 even
// in local, naming the closest known one.
func TestConfigPrefixMakesEveryUnknownPrefixedVariableAnError(t *testing.T) {
	type orders struct {
		MaxWork int `env:"MAX_WORK" envDefault:"2"`
	}
	var app orders
	s, err := operable.New(context.Background(), operable.Options{Config: &app, ConfigPrefix: "ORDERS_", Stdout: io.Discard,
		Environ: loopbackEnv("ORDERS_MAX_WORK", "9", "SHUTDOWN_TIMEOUT", "12s")})
	if err != nil {
		t.Fatal(err)
	}
	if app.MaxWork != 9 || s.Config().ShutdownTimeout != 12*time.Second {
		t.Errorf("MaxWork = %d, SHUTDOWN_TIMEOUT = %v; want 9 and 12s", app.MaxWork, s.Config().ShutdownTimeout)
	}
	s.Close(context.Background())
	app = orders{}
	_, err = operable.New(context.Background(), operable.Options{Config: &app, ConfigPrefix: "ORDERS_", Stdout: io.Discard,
		Environ: loopbackEnv("ORDERS_MAX_WROK", "9")})
	if operable.ExitCode(err) != 78 || !strings.Contains(fmt.Sprint(err), "ORDERS_MAX_WROK: unknown variable (did you mean ORDERS_MAX_WORK?)") {
		t.Errorf("New() = %v, want exit 78 naming ORDERS_MAX_WORK", err)
	}
}
