package vault

// Tests that need no Vault server: the environment, references and the
// shapes of Vault's answers.

import (
	"errors"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/operable-go/operable/secrets"
)

func TestAuthFromEnv(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		method  string
		wantErr []string
	}{
		{"token", map[string]string{"VAULT_TOKEN": "hvs.x"}, "token", nil},
		{"approle", map[string]string{"VAULT_ROLE_ID": "r", "VAULT_SECRET_ID_FILE": "/s"}, "approle", nil},
		{"approle without the secret id file", map[string]string{"VAULT_ROLE_ID": "r"}, "approle", []string{"VAULT_SECRET_ID_FILE"}},
		{"kubernetes", map[string]string{"VAULT_KUBERNETES_ROLE": "app"}, "kubernetes", nil},
		{"explicit method wins", map[string]string{"VAULT_AUTH_METHOD": "kubernetes", "VAULT_TOKEN": "t", "VAULT_KUBERNETES_ROLE": "app"}, "kubernetes", nil},
		{"explicit method, nothing else", map[string]string{"VAULT_AUTH_METHOD": "approle"}, "approle", []string{"VAULT_ROLE_ID", "VAULT_SECRET_ID_FILE"}},
		{"unknown method", map[string]string{"VAULT_AUTH_METHOD": "ldap"}, "ldap", []string{"ldap", "token, approle or kubernetes"}},
		{"nothing", map[string]string{}, "", []string{"VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_KUBERNETES_ROLE"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := AuthFromEnv(c.env)
			if a.Method != c.method {
				t.Errorf("method %q, want %q", a.Method, c.method)
			}
			if (err != nil) != (c.wantErr != nil) {
				t.Fatalf("err = %v, want one naming %v", err, c.wantErr)
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not name %s", err, w)
				}
			}
			if tok := c.env["VAULT_TOKEN"]; err != nil && tok != "" && strings.Contains(err.Error(), tok) {
				t.Errorf("the error echoes the token: %q", err)
			}
		})
	}
	a, _ := AuthFromEnv(map[string]string{"VAULT_KUBERNETES_ROLE": "app"})
	if a.JWTFile != DefaultJWTFile || a.Mount != "kubernetes" {
		t.Errorf("kubernetes defaults: %+v", a)
	}
}

func TestNewNeedsAnAddressAndALogin(t *testing.T) {
	for env, want := range map[string]map[string]string{
		"VAULT_ADDR":  {"VAULT_TOKEN": "t"},
		"VAULT_TOKEN": {"VAULT_ADDR": "http://127.0.0.1:1"},
	} {
		if _, err := New(t.Context(), Options{Environ: want}); err == nil || !strings.Contains(err.Error(), env) {
			t.Errorf("New with %v: %v, want an error naming %s", want, err, env)
		}
	}
}

func TestParseRef(t *testing.T) {
	for ref, want := range map[string][2]string{
		"kv/data/app#password": {"kv/data/app", "password"},
		"/secret/app/#key":     {"secret/app", "key"},
	} {
		p, f, err := parseRef(ref)
		if err != nil || p != want[0] || f != want[1] {
			t.Errorf("parseRef(%q) = %q, %q, %v", ref, p, f, err)
		}
	}
	for _, bad := range []string{"kv/data/app", "#password", "kv/data/app#", ""} {
		if _, _, err := parseRef(bad); err == nil {
			t.Errorf("parseRef(%q) accepted", bad)
		}
	}
}

func secretFromJSON(t *testing.T, s string) *vaultapi.Secret {
	t.Helper()
	sec, err := vaultapi.ParseSecret(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

// TestParseSecret reads the three shapes of answer: KV v2 with its version,
// KV v1 (a digest as version), a lease; and a deleted KV v2 version.
func TestParseSecret(t *testing.T) {
	kv2 := secretFromJSON(t, `{"data":{"data":{"password":"p","port":5432},"metadata":{"version":7}}}`)
	e, err := parseSecret("kv/data/app", kv2)
	if err != nil || e.fields["password"] != "p" || e.fields["port"] != "5432" || e.version != "7" || !e.expires.IsZero() {
		t.Errorf("KV v2: %+v, %v", e, err)
	}
	kv1 := secretFromJSON(t, `{"data":{"api_key":"k"}}`)
	e1, err := parseSecret("kv1/app", kv1)
	e1b, _ := parseSecret("kv1/app", secretFromJSON(t, `{"data":{"api_key":"k2"}}`))
	if err != nil || e1.fields["api_key"] != "k" || e1.version == "" || e1.version == e1b.version {
		t.Errorf("KV v1: %+v, %v (other version %q)", e1, err, e1b.version)
	}
	lease := secretFromJSON(t, `{"lease_id":"database/creds/app/abc","lease_duration":60,"renewable":true,"data":{"username":"u","password":"p"}}`)
	before := time.Now()
	el, err := parseSecret("database/creds/app", lease)
	if err != nil || el.leaseID != "database/creds/app/abc" || !el.renewable || el.leaseTTL != time.Minute ||
		el.expires.Before(before.Add(time.Minute)) || el.renewAt.After(el.expires) || el.version != el.leaseID {
		t.Errorf("lease: %+v, %v", el, err)
	}
	deleted := secretFromJSON(t, `{"data":{"data":null,"metadata":{"version":3,"deletion_time":"2026-01-01T00:00:00Z"}}}`)
	if _, err := parseSecret("kv/data/app", deleted); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("deleted version: %v, want ErrNotFound", err)
	}
	if _, err := parseSecret("kv/data/none", nil); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("no answer: %v, want ErrNotFound", err)
	}
}

func TestBackoffGrowsWithJitterAndStops(t *testing.T) {
	c := &Client{opts: Options{Backoff: 100 * time.Millisecond}}
	for n, want := range []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 6400, 6400} {
		want *= time.Millisecond
		for range 20 {
			if d := c.backoff(n); d < want/2 || d >= want*3/2 {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v)", n, d, want/2, want*3/2)
			}
		}
	}
}
