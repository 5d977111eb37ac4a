package vault

// Tests against a real Vault server (scripts/vault.sh builds it; make test
// sets VAULT_BIN) in dev mode on loopback, and, for dynamic secrets, a real
// Redis (scripts/redis.sh; REDIS_BIN) behind Vault's database engine.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"go.uber.org/goleak"

	"github.com/operable-go/operable/breaker"
	"github.com/operable-go/operable/internal/syncbuf"
	"github.com/operable-go/operable/internal/testserver"
	"github.com/operable-go/operable/secrets"
	"github.com/operable-go/operable/secrets/secretstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const rootToken = "root-token-for-tests"

// devVault is a Vault dev server and a root client to set it up.
type devVault struct {
	addr   string
	bin    string
	server *testserver.Server
	admin  *vaultapi.Client
}

func startVault(t *testing.T) *devVault {
	t.Helper()
	v := &devVault{bin: testserver.Tool(t, "VAULT_BIN"), addr: testserver.FreeAddr(t)}
	v.start(t)
	return v
}

// start runs the dev server on v.addr (again, after stop: a dev server
// keeps nothing, but the root token is the same).
func (v *devVault) start(t *testing.T) {
	t.Helper()
	v.server, v.admin = testserver.Vault(t, v.bin, v.addr, rootToken)
}

func (v *devVault) write(t *testing.T, path string, data map[string]any) *vaultapi.Secret {
	t.Helper()
	s, err := v.admin.Logical().WriteWithContext(t.Context(), path, data)
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return s
}

func (v *devVault) env(kv ...string) map[string]string {
	m := map[string]string{"VAULT_ADDR": "http://" + v.addr}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// approle enables AppRole with a role whose tokens live ttl and at most
// maxTTL, reading KV and database credentials; it returns the login
// variables, the secret id in a file.
func (v *devVault) approle(t *testing.T, ttl, maxTTL string) map[string]string {
	t.Helper()
	if err := v.admin.Sys().EnableAuthWithOptionsWithContext(t.Context(), "approle", &vaultapi.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	if err := v.admin.Sys().PutPolicyWithContext(t.Context(), "app", `
path "secret/data/*" { capabilities = ["read"] }
path "kv1/*" { capabilities = ["read"] }
path "database/creds/*" { capabilities = ["read"] }
`); err != nil {
		t.Fatal(err)
	}
	v.write(t, "auth/approle/role/app", map[string]any{"token_policies": "app", "token_ttl": ttl, "token_max_ttl": maxTTL})
	rid, err := v.admin.Logical().ReadWithContext(t.Context(), "auth/approle/role/app/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid := v.write(t, "auth/approle/role/app/secret-id", nil)
	file := filepath.Join(t.TempDir(), "secret-id")
	if err := os.WriteFile(file, []byte(sid.Data["secret_id"].(string)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return v.env("VAULT_ROLE_ID", rid.Data["role_id"].(string), "VAULT_SECRET_ID_FILE", file)
}

// logged is a logger into a buffer, checked at the end of the test for
// every secret value it must never hold.
func logged(t *testing.T, values ...*string) *slog.Logger {
	t.Helper()
	buf := &syncbuf.Buffer{}
	t.Cleanup(func() {
		out := buf.String()
		for _, v := range values {
			if *v != "" && strings.Contains(out, *v) {
				t.Errorf("a secret value reached the log:\n%s", out)
			}
		}
		if t.Failed() {
			t.Logf("client log:\n%s", out)
		}
	})
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// known records what the client registers for redaction.
type known struct {
	mu   sync.Mutex
	vals map[string]bool
}

func (k *known) AddSecret(s secrets.Secret) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.vals == nil {
		k.vals = map[string]bool{}
	}
	k.vals[s.Reveal()] = true
}

func (k *known) has(v string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.vals[v]
}

// newClient is New, with the client's idle connections closed at the end
// of the test (Run closes them; not every test runs it).
func newClient(t *testing.T, opts Options) (*Client, error) {
	t.Helper()
	c, err := New(t.Context(), opts)
	if c != nil {
		t.Cleanup(c.http.CloseIdleConnections)
	}
	return c, err
}

// run starts c.Run until the test ends, and returns a function that stops
// it and waits.
func run(t *testing.T, c *Client) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestKVv2ReadAndANewVersionReachesSubscribers(t *testing.T) {
	v := startVault(t)
	pw1, pw2 := "kv2-first-password-1", "kv2-second-password-2"
	v.write(t, "secret/data/app", map[string]any{"data": map[string]any{"password": pw1, "user": "app"}})
	env := v.approle(t, "1h", "2h")
	k := &known{}
	c, err := newClient(t, Options{Environ: env, Logger: logged(t, &pw1, &pw2), Refresh: 100 * time.Millisecond, Known: k})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(t.Context(), "secret/data/app#password")
	if err != nil || got.Secret.Reveal() != pw1 || got.Version != "1" {
		t.Fatalf("Get = version %q, value matches %v, err %v; want version 1", got.Version, got.Secret.Reveal() == pw1, err)
	}
	if !k.has(pw1) {
		t.Error("the value was not registered with the redactor")
	}
	changes := make(chan secrets.Value, 4)
	cancel, err := c.Subscribe(t.Context(), "secret/data/app#password", func(v secrets.Value) { changes <- v })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	run(t, c)
	v.write(t, "secret/data/app", map[string]any{"data": map[string]any{"password": pw2, "user": "app"}})
	select {
	case nv := <-changes:
		if nv.Secret.Reveal() != pw2 || nv.Version != "2" {
			t.Errorf("subscriber got version %q (value is the new one: %v), want version 2", nv.Version, nv.Secret.Reveal() == pw2)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change reached the subscriber within 10s")
	}
	if got, _ := c.Get(t.Context(), "secret/data/app#password"); got.Secret.Reveal() != pw2 {
		t.Error("Get does not return the new version after the change")
	}
	if !k.has(pw2) {
		t.Error("the new value was not registered with the redactor")
	}
}

// TestProviderRules runs the conformance kit against the client: KV v2 and
// KV v1 paths that exist, fields and paths that do not.
func TestProviderRules(t *testing.T) {
	v := startVault(t)
	pw, key := "kit-password-value", "kit-api-key-value"
	if err := v.admin.Sys().MountWithContext(t.Context(), "kv1", &vaultapi.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}); err != nil {
		t.Fatal(err)
	}
	v.write(t, "secret/data/kit", map[string]any{"data": map[string]any{"password": pw}})
	v.write(t, "kv1/kit", map[string]any{"api_key": key})
	env := v.approle(t, "1h", "2h")
	c, err := newClient(t, Options{Environ: env, Logger: logged(t, &pw, &key)})
	if err != nil {
		t.Fatal(err)
	}
	secretstest.Run(t, func(t *testing.T) (secrets.Provider, secretstest.Case) {
		// A client of its own per rule: each starts with an empty cache.
		c, err := newClient(t, Options{Environ: env, Logger: logged(t, &pw, &key)})
		if err != nil {
			t.Fatal(err)
		}
		return c, secretstest.Case{
			Present: map[string]string{"secret/data/kit#password": pw, "kv1/kit#api_key": key},
			Missing: []string{"secret/data/kit#nope", "secret/data/absent#password", "kv1/absent#x"},
		}
	})
	if _, err := c.Get(t.Context(), "secret/data/kit"); err == nil || !strings.Contains(err.Error(), "path#field") {
		t.Errorf("a reference without #field: %v, want an error saying the form", err)
	}
}

// TestTokenIsRenewedThenReplacedPastItsMaxTTL: AppRole tokens of 2s, at
// most 5s. The client renews the token, then logs in again before the max
// TTL, and reads keep working well past it.
func TestTokenIsRenewedThenReplacedPastItsMaxTTL(t *testing.T) {
	v := startVault(t)
	pw := "renewal-test-password"
	v.write(t, "secret/data/app", map[string]any{"data": map[string]any{"password": pw}})
	buf := &syncbuf.Buffer{}
	c, err := newClient(t, Options{Environ: v.approle(t, "2s", "5s"), Refresh: 200 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	first := c.api.Token()
	start := time.Now()
	// Past two max TTLs, the KV refresh every 200ms must keep succeeding.
	eventually(t, 20*time.Second, "two logins after the first", func() bool { return c.session.gen() >= 3 })
	if time.Since(start) < 5*time.Second {
		t.Errorf("two new logins within %s: sooner than the max TTL allows", time.Since(start))
	}
	if c.api.Token() == first {
		t.Error("the token is the first one still")
	}
	if strings.Count(buf.String(), `"msg":"vault token renewed"`) == 0 {
		t.Errorf("no renewal logged:\n%s", buf)
	}
	if _, err := v.admin.Auth().Token().LookupWithContext(t.Context(), first); err == nil {
		t.Error("the first token is still valid past its max TTL")
	}
	c.mu.Lock()
	o := c.outage
	c.mu.Unlock()
	if o != nil {
		t.Errorf("an outage was recorded: %v", o.err)
	}
	if got, err := c.Get(t.Context(), "secret/data/app#password"); err != nil || got.Secret.Reveal() != pw {
		t.Errorf("Get after the renewals: %v", err)
	}
	if strings.Contains(buf.String(), pw) || strings.Contains(buf.String(), c.api.Token()) {
		t.Errorf("the log holds a secret or the token:\n%s", buf)
	}
}

// TestTokenIsRevokedWhenRunEnds: the token the client logged in for dies
// with it.
func TestTokenIsRevokedWhenRunEnds(t *testing.T) {
	v := startVault(t)
	c, err := newClient(t, Options{Environ: v.approle(t, "1h", "2h"), Logger: logged(t)})
	if err != nil {
		t.Fatal(err)
	}
	token := c.api.Token()
	if _, err := v.admin.Auth().Token().LookupWithContext(t.Context(), token); err != nil {
		t.Fatalf("the login token is not valid: %v", err)
	}
	run(t, c)()
	if _, err := v.admin.Auth().Token().LookupWithContext(t.Context(), token); err == nil {
		t.Error("the token is still valid after Run returned")
	}
}

// TestLoginsAreSingleFlight: many readers that find the token refused at
// once share one login.
func TestLoginsAreSingleFlight(t *testing.T) {
	v := startVault(t)
	v.write(t, "secret/data/app", map[string]any{"data": map[string]any{"password": "single-flight-pw"}})
	c, err := newClient(t, Options{Environ: v.approle(t, "1h", "2h"), Logger: logged(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Revoke the token behind the client's back: every read gets 403.
	if err := v.admin.Auth().Token().RevokeTreeWithContext(t.Context(), c.api.Token()); err != nil {
		t.Fatal(err)
	}
	before := c.session.gen()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			c.mu.Lock()
			delete(c.entries, "secret/data/app") // each reader goes to Vault
			c.mu.Unlock()
			if _, err := c.Get(t.Context(), "secret/data/app#password"); err != nil {
				t.Errorf("Get: %v", err)
			}
		})
	}
	wg.Wait()
	if n := c.session.gen() - before; n != 1 {
		t.Errorf("%d logins for 20 readers refused at once, want 1", n)
	}
}

// TestOutageServesCachedValuesThenRecovers stops Vault mid-run: values are
// still served (until MaxStale), the breaker opens, the check warns; Vault
// comes back: the check passes and the breaker closes.
func TestOutageServesCachedValuesThenRecovers(t *testing.T) {
	v := startVault(t)
	pw := "outage-test-password"
	v.write(t, "secret/data/app", map[string]any{"data": map[string]any{"password": pw}})
	bs := breaker.Settings{MinCalls: 2, FailureRatio: 0.5, OpenTimeout: 300 * time.Millisecond, CallTimeout: time.Second}
	c, err := newClient(t, Options{Environ: v.env("VAULT_TOKEN", rootToken), Logger: logged(t, &pw),
		Refresh: 100 * time.Millisecond, MaxStale: 3 * time.Second, Breaker: &bs, RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(t.Context(), "secret/data/app#password"); err != nil {
		t.Fatal(err)
	}
	run(t, c)
	check := c.Check()
	if err := check.Func(t.Context()); err != nil {
		t.Fatalf("check before the outage: %v", err)
	}

	v.server.Stop()
	eventually(t, 10*time.Second, "the check warns", func() bool { return check.Func(t.Context()) != nil })
	eventually(t, 10*time.Second, "the breaker opens", func() bool { return c.Breaker().State() == breaker.Open })
	if err := check.Func(t.Context()); err == nil || !strings.Contains(err.Error(), "serving 1 cached path") {
		t.Errorf("check during the outage: %v, want it to say what is cached", err)
	}
	got, err := c.Get(t.Context(), "secret/data/app#password")
	if err != nil || got.Secret.Reveal() != pw {
		t.Fatalf("Get during the outage: %v; want the cached value", err)
	}
	// Past MaxStale, the value is no longer served.
	eventually(t, 10*time.Second, "the cached value goes stale", func() bool {
		_, err := c.Get(t.Context(), "secret/data/app#password")
		return errors.Is(err, ErrStale)
	})

	v.start(t) // a new dev server: same address, same root token, empty
	v.write(t, "secret/data/app", map[string]any{"data": map[string]any{"password": pw}})
	eventually(t, 15*time.Second, "the check passes again", func() bool { return check.Func(t.Context()) == nil })
	eventually(t, 5*time.Second, "the breaker closes", func() bool { return c.Breaker().State() == breaker.Closed })
	if got, err := c.Get(t.Context(), "secret/data/app#password"); err != nil || got.Secret.Reveal() != pw {
		t.Errorf("Get after recovery: %v", err)
	}
}

// TestOutageWithNothingCachedSaysSo: a Vault unreachable before any read
// (down at start-up) is not "serving cached values": the warning and the
// check say that nothing is cached.
func TestOutageWithNothingCachedSaysSo(t *testing.T) {
	var out bytes.Buffer
	c := &Client{log: slog.New(slog.NewJSONHandler(&out, nil)), entries: map[string]*entry{}}
	c.failed(errors.New("connection refused"))
	if !strings.Contains(out.String(), `"msg":"vault unreachable; no value cached yet"`) {
		t.Errorf("the outage warning = %s, want it to say nothing is cached", out.String())
	}
	if err := c.Check().Func(t.Context()); err == nil || !strings.Contains(err.Error(), "no value cached yet") || strings.Contains(err.Error(), "serving") {
		t.Errorf("check = %v, want it to say nothing is cached", err)
	}
}

// startRedis runs a real Redis whose default user has adminPW, and
// configures Vault's database engine on it with a role "app" whose leases
// last ttl, at most maxTTL.
func startRedis(t *testing.T, v *devVault, ttl, maxTTL string) (addr string) {
	t.Helper()
	bin := testserver.Tool(t, "REDIS_BIN")
	addr = testserver.FreeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	const adminPW = "redis-admin-password"
	testserver.Start(t, addr, bin, "--bind", host, "--port", port, "--save", "", "--appendonly", "no",
		"--requirepass", adminPW, "--dir", t.TempDir())
	if err := v.admin.Sys().MountWithContext(t.Context(), "database", &vaultapi.MountInput{Type: "database"}); err != nil {
		t.Fatal(err)
	}
	v.write(t, "database/config/redis", map[string]any{
		"plugin_name": "redis-database-plugin", "host": host, "port": port,
		"username": "default", "password": adminPW, "allowed_roles": "app",
	})
	v.write(t, "database/roles/app", map[string]any{
		"db_name": "redis", "creation_statements": `["+@read", "~*"]`, "default_ttl": ttl, "max_ttl": maxTTL,
	})
	return addr
}

// redisAuth logs in to Redis with the credentials: proof that Vault's
// dynamic credentials are real.
func redisAuth(addr, user, password string) error {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(conn, "*3\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(user), user, len(password), password)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+OK" {
		return errors.New("redis refused the credentials")
	}
	return nil
}

// TestDynamicLeaseIsRenewedThenReplaced: database credentials with leases
// of 2s, at most 6s. One lease serves both fields; it is renewed before it
// expires; near its max TTL new credentials are read and reach the
// subscriber; both work against Redis.
func TestDynamicLeaseIsRenewedThenReplaced(t *testing.T) {
	v := startVault(t)
	redis := startRedis(t, v, "2s", "6s")
	var user1, pw1, pw2 string
	buf := &syncbuf.Buffer{}
	c, err := newClient(t, Options{Environ: v.approle(t, "1h", "2h"),
		Logger: slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.Get(t.Context(), "database/creds/app#username")
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Get(t.Context(), "database/creds/app#password")
	if err != nil {
		t.Fatal(err)
	}
	user1, pw1 = u.Secret.Reveal(), p.Secret.Reveal()
	if u.Version != p.Version || p.Expires.IsZero() {
		t.Fatalf("username and password from different leases (%q, %q) or no expiry (%v)", u.Version, p.Version, p.Expires)
	}
	if err := redisAuth(redis, user1, pw1); err != nil {
		t.Fatalf("the first credentials: %v", err)
	}
	rotated := make(chan secrets.Value, 4)
	cancel, err := c.Subscribe(t.Context(), "database/creds/app#password", func(v secrets.Value) { rotated <- v })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	run(t, c)
	var nv secrets.Value
	select {
	case nv = <-rotated:
	case <-time.After(15 * time.Second):
		t.Fatalf("no new credentials within 15s:\n%s", buf)
	}
	pw2 = nv.Secret.Reveal()
	if pw2 == pw1 || nv.Version == p.Version {
		t.Errorf("the new value is the old one (version %q)", nv.Version)
	}
	if strings.Count(buf.String(), `"msg":"vault lease renewed"`) == 0 {
		t.Errorf("no lease renewal logged before the new credentials:\n%s", buf)
	}
	nu, err := c.Get(t.Context(), "database/creds/app#username")
	if err != nil {
		t.Fatal(err)
	}
	if err := redisAuth(redis, nu.Secret.Reveal(), pw2); err != nil {
		t.Errorf("the new credentials: %v", err)
	}
	for _, s := range []string{pw1, pw2} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("a password reached the log:\n%s", buf)
		}
	}
}

// TestTLSWithVAULT_CACERT: against a dev server with its own CA, the client
// trusts VAULT_CACERT and nothing else.
func TestTLSWithVAULT_CACERT(t *testing.T) {
	bin := testserver.Tool(t, "VAULT_BIN")
	addr := testserver.FreeAddr(t)
	certs := t.TempDir()
	testserver.Start(t, addr, bin, "server", "-dev", "-dev-tls", "-dev-tls-cert-dir="+certs,
		"-dev-root-token-id="+rootToken, "-dev-listen-address="+addr, "-dev-no-store-token")
	env := map[string]string{"VAULT_ADDR": "https://" + addr, "VAULT_TOKEN": rootToken}
	if _, err := newClient(t, Options{Environ: env, Logger: logged(t), RequestTimeout: 2 * time.Second}); err == nil ||
		!strings.Contains(err.Error(), "certificate") {
		t.Errorf("New without VAULT_CACERT: %v, want a certificate error", err)
	}
	env["VAULT_CACERT"] = filepath.Join(certs, "vault-ca.pem")
	var c *Client
	var err error
	deadline := time.Now().Add(30 * time.Second)
	for { // the listener accepts before the core is unsealed
		if c, err = newClient(t, Options{Environ: env, Logger: logged(t)}); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("New with VAULT_CACERT: %v", err)
	}
	if _, err := c.Get(t.Context(), "secret/data/none#x"); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("a read over TLS: %v, want ErrNotFound", err)
	}
}

// TestCloseRevokesTheLoginOfAClientNeverRun: a client given its login as an
// Auth (no VAULT_* login variable in its environment) logs in; Close
// revokes that token at once, without Run, and a second Close does not
// call Vault again.
func TestCloseRevokesTheLoginOfAClientNeverRun(t *testing.T) {
	v := startVault(t)
	env := v.approle(t, "1h", "2h")
	auth := Auth{Method: "approle", RoleID: env["VAULT_ROLE_ID"], SecretIDFile: env["VAULT_SECRET_ID_FILE"], Mount: "approle"}
	c, err := newClient(t, Options{Environ: v.env(), Auth: auth, Logger: logged(t)})
	if err != nil {
		t.Fatal(err)
	}
	token := c.api.Token()
	if token == "" {
		t.Fatal("no token after the login")
	}
	if _, err := v.admin.Auth().Token().LookupWithContext(t.Context(), token); err != nil {
		t.Fatalf("the new token does not look up: %v", err)
	}
	if err := c.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.admin.Auth().Token().LookupWithContext(t.Context(), token); err == nil {
		t.Error("the token still looks up after Close")
	}
	if err := c.Close(t.Context()); err != nil {
		t.Errorf("a second Close = %v", err)
	}
}
