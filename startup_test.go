package operable

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"go.uber.org/goleak"

	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/internal/testserver"
	"github.com/operable-go/operable/shutdown"
)

// everyPart is an environment that makes every step build something that
// must be released: console exporters for all three signals (their batch
// processors and periodic reader run goroutines from the moment they are
// made), a flags file, and, with a real Vault, an AppRole login (a token of
// the service's own, which only revocation ends) and a vault: reference
// that the second load resolves.
func everyPart(t *testing.T) (env map[string]string, tokens func() []string) {
	t.Helper()
	flags := filepath.Join(t.TempDir(), "flags.json")
	if err := os.WriteFile(flags, []byte(`{"flags":{"f":{"state":"ENABLED","variants":{"on":true},"defaultVariant":"on"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env = map[string]string{
		"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0",
		"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "prometheus,console", "OTEL_LOGS_EXPORTER": "console",
		"FLAGS_FILE": flags,
	}
	if os.Getenv("VAULT_BIN") == "" && os.Getenv("OPERABLE_INTEGRATION") != "1" {
		t.Log("VAULT_BIN not set: the steps are checked without Vault")
		return env, func() []string { return nil }
	}
	admin := devVault(t)
	if err := admin.Sys().EnableAuthWithOptionsWithContext(t.Context(), "approle", &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if err := admin.Sys().PutPolicyWithContext(t.Context(), "app", `path "secret/data/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	write := func(path string, data map[string]any) *vaultapi.Secret {
		s, err := admin.Logical().WriteWithContext(t.Context(), path, data)
		if err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		return s
	}
	write("secret/data/svc", map[string]any{"data": map[string]any{"token": "admin-token-from-vault"}})
	write("auth/approle/role/app", map[string]any{"token_policies": "app", "token_ttl": "1h"})
	rid, err := admin.Logical().ReadWithContext(t.Context(), "auth/approle/role/app/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid := filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(sid, []byte(write("auth/approle/role/app/secret-id", nil).Data["secret_id"].(string)), 0o600); err != nil {
		t.Fatal(err)
	}
	env["VAULT_ADDR"] = admin.Address()
	env["VAULT_ROLE_ID"] = rid.Data["role_id"].(string)
	env["VAULT_SECRET_ID_FILE"] = sid
	env["ADMIN_TOKEN"] = "vault:secret/data/svc#token"
	return env, func() []string {
		t.Helper()
		defer admin.CloneConfig().HttpClient.CloseIdleConnections()
		s, err := admin.Logical().ListWithContext(t.Context(), "auth/token/accessors")
		if err != nil {
			t.Fatal(err)
		}
		var live []string
		for _, k := range s.Data["keys"].([]any) {
			live = append(live, k.(string))
		}
		slices.Sort(live)
		return live
	}
}

// devVault starts a real Vault dev server on loopback and returns a client
// holding its root token.
func devVault(t *testing.T) *vaultapi.Client {
	t.Helper()
	_, admin := testserver.Vault(t, testserver.Tool(t, "VAULT_BIN"), testserver.FreeAddr(t), "root-token-startup-test")
	return admin
}

// TestEveryStartupStepReleasesWhatCameBefore makes New fail right after
// each step in turn, and shows that nothing is left behind: no goroutine
// (the exporters' included) and, against a real Vault, no token of the
// service's still valid. Then the same for a service that is built and
// closed unrun, for one whose Run refuses to start (a listener that cannot
// bind, budgets that do not fit, a hook without a name: its listeners are
// closed too), and for one that runs and stops.
func TestEveryStartupStepReleasesWhatCameBefore(t *testing.T) {
	env, tokens := everyPart(t)
	before := tokens()
	// check runs f and shows that it left nothing behind.
	check := func(t *testing.T, f func(t *testing.T)) {
		t.Helper()
		baseline := goleak.IgnoreCurrent()
		f(t)
		if err := goleak.Find(baseline); err != nil {
			t.Errorf("goroutines left behind: %v", err)
		}
		if after := tokens(); !slices.Equal(before, after) {
			t.Errorf("tokens before %v, after %v: the service's login was not revoked", before, after)
		}
	}
	opts := Options{Environ: env, Stdout: io.Discard, Stderr: io.Discard}
	with := func(kv ...string) Options {
		o := opts
		o.Environ = maps.Clone(env)
		for i := 0; i+1 < len(kv); i += 2 {
			o.Environ[kv[i]] = kv[i+1]
		}
		return o
	}
	for _, st := range steps {
		t.Run("after "+st.name, func(t *testing.T) {
			check(t, func(t *testing.T) {
				s, err := build(t.Context(), opts, st.name)
				if !errors.Is(err, errInjected) || s != nil {
					t.Fatalf("build failing after %q = %v, %v", st.name, s, err)
				}
			})
		})
	}
	t.Run("built and closed", func(t *testing.T) {
		check(t, func(t *testing.T) {
			s, err := New(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if s.Vault() == nil && env["VAULT_ADDR"] != "" {
				t.Fatal("no Vault session")
			}
			if err := s.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(t.Context()); err != nil {
				t.Errorf("a second Close = %v", err)
			}
			if err := s.Run(t.Context()); !errors.Is(err, errClosed) {
				t.Errorf("Run after Close = %v, want errClosed", err)
			}
		})
	})
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	refusals := []struct {
		name  string
		opts  Options
		setup func(*Service)
		want  string
	}{
		{"a taken address", with("HTTP_ADDR", taken.Addr().String()), nil, "app listener"},
		{"budgets that do not fit", with("SHUTDOWN_TIMEOUT", "1s"), func(s *Service) {
			s.OnStop(shutdown.Hook{Name: "slow", Timeout: time.Minute, Func: func(context.Context) error { return nil }})
		}, "budgets"},
		{"a hook without a name", opts, func(s *Service) {
			s.OnStop(shutdown.Hook{Func: func(context.Context) error { return nil }})
		}, "Name"},
	}
	for _, c := range refusals {
		t.Run("run refused: "+c.name, func(t *testing.T) {
			check(t, func(t *testing.T) {
				s, err := New(t.Context(), c.opts)
				if err != nil {
					t.Fatal(err)
				}
				if c.setup != nil {
					c.setup(s)
				}
				err = s.Run(t.Context())
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("Run = %v, want an error saying %q", err, c.want)
				}
				for _, ln := range s.listeners {
					if again, err := net.Listen("tcp", ln.Addr().String()); err != nil {
						t.Errorf("%s still bound after the refused Run: %v", ln.Addr(), err)
					} else {
						_ = again.Close()
					}
				}
				if err := s.Run(t.Context()); !errors.Is(err, errClosed) {
					t.Errorf("a second Run = %v, want errClosed", err)
				}
				if err := s.Close(t.Context()); err != nil {
					t.Errorf("Close after a refused Run = %v", err)
				}
			})
		})
	}
	t.Run("run and stopped", func(t *testing.T) {
		check(t, func(t *testing.T) {
			s, err := New(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- s.Run(t.Context()) }()
			for deadline := time.Now().Add(5 * time.Second); s.life.Phase() != shutdown.Ready; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("not ready within 5s")
				}
			}
			s.Stop()
			if err := <-done; err != nil {
				t.Fatalf("Run = %v", err)
			}
		})
	})
}

// TestStepsAreNamedOnce: the step names are what the failure test and the
// error messages use.
func TestStepsAreNamedOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, st := range steps {
		if seen[st.name] || st.name == "" {
			t.Errorf("step name %q is empty or repeated", st.name)
		}
		seen[st.name] = true
	}
}

// TestStartupWaitsForTheFirstRunOfBackgroundChecks: /startupz stays 503,
// naming the check, until every background check has a first result, so
// that readiness never starts from a not-yet-run placeholder.
func TestStartupWaitsForTheFirstRunOfBackgroundChecks(t *testing.T) {
	s, err := New(context.Background(), Options{Environ: map[string]string{"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0"}, Stdout: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	if err := s.AddCheck(health.Check{Name: "db", Interval: time.Hour, NonCritical: true, Func: func(ctx context.Context) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		s.AdminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/startupz?verbose", nil))
		return rec.Code, rec.Body.String()
	}
	for deadline := time.Now().Add(5 * time.Second); s.life.Phase() < shutdown.Ready; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the service did not become ready")
		}
	}
	if code, body := get(); code != http.StatusServiceUnavailable {
		t.Errorf("/startupz = %d %s before the check's first run, want 503", code, body)
	}
	close(release)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if code, _ := get(); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/startupz did not pass after the check's first run")
		}
	}
	s.Stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
