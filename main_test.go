package operable

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/shutdown"
)

// TestMainFlags: the flags print what they say and exit with the codes
// the contract gives; none of them starts the service.
func TestMainFlags(t *testing.T) {
	var app struct {
		Greeting string `env:"GREETING" envDefault:"hi" desc:"how to greet"`
	}
	cases := []struct {
		args     []string
		code     int
		out, err []string // present in stdout, stderr
	}{
		{[]string{"-h"}, 0, []string{"usage: svc", "-healthcheck", "SHUTDOWN_TIMEOUT", "GREETING"}, nil},
		{[]string{"--help"}, 0, []string{"usage: svc", "GREETING"}, nil},
		{[]string{"-help-config"}, 0, []string{"SHUTDOWN_TIMEOUT", "25s", "GREETING", "OTEL_EXPORTER_OTLP_ENDPOINT", "VAULT_ROLE_ID", "FLAG_<KEY>"}, nil},
		{[]string{"--help-config"}, 0, []string{"OTEL_TRACES_EXPORTER"}, nil},
		{[]string{"-help-config=markdown"}, 0, []string{"| `SHUTDOWN_TIMEOUT` |", "| `VAULT_CACERT` |"}, nil},
		{[]string{"-help-config=html"}, exitUsage, nil, []string{"-help-config=markdown", "usage: svc"}},
		{[]string{"-bogus"}, exitUsage, nil, []string{"flag provided but not defined: -bogus", "usage: svc"}},
		{[]string{"serve"}, exitUsage, nil, []string{`unexpected argument "serve"`}},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code, done := runFlags(Options{Config: &app, Environ: map[string]string{}}, "/bin/svc", c.args, &out, &errOut)
		if !done {
			t.Errorf("%v: no flag took effect", c.args)
		}
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", c.args, code, c.code, errOut.String())
		}
		for _, want := range c.out {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%v: stdout lacks %q:\n%s", c.args, want, out.String())
			}
		}
		for _, want := range c.err {
			if !strings.Contains(errOut.String(), want) {
				t.Errorf("%v: stderr lacks %q:\n%s", c.args, want, errOut.String())
			}
		}
	}
}

// TestHelpConfigNamesThePrefixedVariables: with Options.ConfigPrefix,
// -help-config lists the service's variables with the prefix and the
// SDK's without it.
func TestHelpConfigNamesThePrefixedVariables(t *testing.T) {
	var app struct {
		Greeting string `env:"GREETING" envDefault:"hi"`
	}
	var out bytes.Buffer
	runFlags(Options{Config: &app, ConfigPrefix: "SVC_", Environ: map[string]string{}}, "svc", []string{"-help-config"}, &out, io.Discard)
	if !strings.Contains(out.String(), "SVC_GREETING") || !strings.Contains(out.String(), "\nSHUTDOWN_TIMEOUT") {
		t.Errorf("-help-config lacks SVC_GREETING or SHUTDOWN_TIMEOUT:\n%s", out.String())
	}
}

// TestFlagsThatSayNothingRunTheService: "--" and a flag set to false take
// no effect, so the service runs rather than exiting 0.
func TestFlagsThatSayNothingRunTheService(t *testing.T) {
	for _, args := range [][]string{{"--"}, {"-healthcheck=false"}, {"-help-config=false"}} {
		if code, done := runFlags(Options{Environ: map[string]string{}}, "svc", args, io.Discard, io.Discard); done {
			t.Errorf("%v: ended the process with %d instead of running the service", args, code)
		}
	}
}

// TestHealthcheckFlagProbesTheAdminListener: -healthcheck exits 0 against
// a running service, 1 once it is gone, and 1 while /livez fails.
func TestHealthcheckFlagProbesTheAdminListener(t *testing.T) {
	probe := func(admin string) (int, string) {
		var errOut bytes.Buffer
		code, _ := runFlags(Options{Environ: map[string]string{"ADMIN_ADDR": admin}}, "svc", []string{"-healthcheck"}, io.Discard, &errOut)
		return code, errOut.String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin := ln.Addr().String()
	ln.Close()
	s, err := New(context.Background(), Options{Stdout: io.Discard, Environ: map[string]string{"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": admin}})
	if err != nil {
		t.Fatal(err)
	}
	failing := make(chan struct{})
	if err := s.AddCheck(healthCheckFailingOn(failing)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	for deadline := time.Now().Add(5 * time.Second); s.life.Phase() != shutdown.Ready; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not ready within 5s")
		}
	}
	_, port, _ := net.SplitHostPort(admin)
	if code, msg := probe(":" + port); code != 0 {
		t.Errorf("-healthcheck against a live service (ADMIN_ADDR :%s) = %d %s, want 0", port, code, msg)
	}
	close(failing)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if code, _ := probe(admin); code == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("-healthcheck still passes while /livez fails")
		}
	}
	s.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if code, msg := probe(admin); code != 1 || !strings.Contains(msg, "healthcheck:") {
		t.Errorf("-healthcheck against a stopped service = %d %q, want 1 and why", code, msg)
	}
}

// healthCheckFailingOn is a liveness check that fails once failing is
// closed.
func healthCheckFailingOn(failing <-chan struct{}) health.Check {
	return health.Check{Name: "switch", Groups: health.Liveness, Func: func(context.Context) error {
		select {
		case <-failing:
			return errors.New("switched off")
		default:
			return nil
		}
	}}
}

// TestTheLineOfAFailedStartCarriesTheIdentity: when New fails, on the
// configuration or otherwise, the one line that says why has the keys of
// every line: service and version (the environment's, else the build's)
// and env, which it reads from the environment only, and says it does not
// know rather than guess a default.
func TestTheLineOfAFailedStartCarriesTheIdentity(t *testing.T) {
	cases := []struct {
		name    string
		environ map[string]string
		want    map[string]any
	}{
		{"from the environment", map[string]string{"LOG_LEVEL": "loud", "ENVIRONMENT": "staging", "SERVICE_NAME": "orders", "SERVICE_VERSION": "1.2.3"},
			map[string]any{"msg": "invalid configuration", "service": "orders", "version": "1.2.3", "env": "staging"}},
		{"from the build", map[string]string{"LOG_LEVEL": "loud"},
			map[string]any{"msg": "invalid configuration", "service": "svc", "env": "unknown"}},
		{"an environment that is not one", map[string]string{"ENVIRONMENT": "prod"},
			map[string]any{"msg": "invalid configuration", "service": "svc", "env": "invalid"}},
		{"an empty environment, unset to the loader", map[string]string{"ENVIRONMENT": "", "LOG_LEVEL": "loud"},
			map[string]any{"msg": "invalid configuration", "service": "svc", "env": "unknown"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			code := run(context.Background(), Options{Name: "svc", Environ: c.environ, Stdout: &out}, nil)
			var line map[string]any
			if err := json.Unmarshal(out.Bytes(), &line); err != nil || code != 78 {
				t.Fatalf("exit %d, output %q: want 78 and one JSON line", code, out.String())
			}
			for k, v := range c.want {
				if line[k] != v {
					t.Errorf("%s = %v, want %v (line %s)", k, line[k], v, out.String())
				}
			}
			if v, _ := line["version"].(string); v == "" {
				t.Errorf("no version in %s", out.String())
			}
		})
	}
}
