package vault

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"go.opentelemetry.io/otel/metric"

	"github.com/operable-go/operable/breaker"
	"github.com/operable-go/operable/health"
	envpkg "github.com/operable-go/operable/internal/environ"
	"github.com/operable-go/operable/secrets"
)

// Options configure [New]. Where Vault is comes from the VAULT_ADDR,
// VAULT_CACERT and VAULT_NAMESPACE variables; how to log in, from Auth or
// the VAULT_* login variables (see [AuthFromEnv]).
type Options struct {
	// Environ replaces the process environment (for tests). Default: nil,
	// the process environment. (One process read remains: vault/api's
	// NewClient fails when a process VAULT_* variable it parses is
	// malformed, whatever Environ says.)
	Environ map[string]string
	// Auth is how to log in. Default: the zero Auth, read from Environ by
	// [AuthFromEnv].
	Auth Auth
	// Logger gets the session's events: logins, renewals, rotations,
	// outages and recoveries. Default: none.
	Logger *slog.Logger
	// Meter records the breaker's metrics. Default: none.
	Meter metric.Meter
	// Known, when set, gets every value the client hands out, so that the
	// log redactor masks it (a *logging.KnownValues). Default: nil.
	Known interface{ AddSecret(secrets.Secret) }
	// Refresh is how often Run reads the KV paths again to see new
	// versions. Default: 1m.
	Refresh time.Duration
	// MaxStale is how long the last good value of a path is served while
	// Vault cannot be reached. Default: 15m.
	MaxStale time.Duration
	// RequestTimeout bounds each call to Vault. Default: 5s.
	RequestTimeout time.Duration
	// Backoff is the first wait after a failed login or renewal; it
	// doubles, with jitter, up to 64 times itself. Default: 1s.
	Backoff time.Duration
	// Breaker configures the circuit breaker in front of Vault. Default:
	// MinCalls 3, FailureRatio 0.5, OpenTimeout 5s, CallTimeout as
	// RequestTimeout, the rest breaker's defaults.
	Breaker *breaker.Settings
}

func (o Options) withDefaults() Options {
	if o.Refresh <= 0 {
		o.Refresh = time.Minute
	}
	if o.MaxStale <= 0 {
		o.MaxStale = 15 * time.Minute
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Auth is how the client logs in, read from the environment by [AuthFromEnv].
type Auth struct {
	// Method is "token", "approle" or "kubernetes".
	Method string
	// Token is VAULT_TOKEN, for the token method: used as given, renewed
	// when renewable, never revoked by the client.
	Token secrets.Secret
	// RoleID (VAULT_ROLE_ID) and SecretIDFile (VAULT_SECRET_ID_FILE), for
	// AppRole at Mount (VAULT_APPROLE_MOUNT, default "approle").
	RoleID, SecretIDFile string
	// Role (VAULT_KUBERNETES_ROLE) and JWTFile (VAULT_KUBERNETES_TOKEN_FILE,
	// default the service account's token file), for Kubernetes at Mount
	// (VAULT_KUBERNETES_MOUNT, default "kubernetes").
	Role, JWTFile string
	// Mount is the auth method's mount path.
	Mount string
}

// DefaultJWTFile is where Kubernetes mounts the service account's token.
const DefaultJWTFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// AuthFromEnv picks the login method from environ (nil: the process
// environment): VAULT_AUTH_METHOD when set, else token when VAULT_TOKEN is
// set, AppRole when VAULT_ROLE_ID is, Kubernetes when VAULT_KUBERNETES_ROLE
// is. Every missing variable is named.
func AuthFromEnv(environ map[string]string) (Auth, error) {
	vars := envpkg.Or(environ)
	env := func(k string) string { return vars[k] }
	a := Auth{Method: env("VAULT_AUTH_METHOD")}
	if a.Method == "" {
		switch {
		case env("VAULT_TOKEN") != "":
			a.Method = "token"
		case env("VAULT_ROLE_ID") != "":
			a.Method = "approle"
		case env("VAULT_KUBERNETES_ROLE") != "":
			a.Method = "kubernetes"
		default:
			return a, errors.New("vault: no login: set VAULT_TOKEN, VAULT_ROLE_ID with VAULT_SECRET_ID_FILE, or VAULT_KUBERNETES_ROLE")
		}
	}
	var missing []string
	need := func(name string) string {
		v := env(name)
		if v == "" {
			missing = append(missing, name)
		}
		return v
	}
	orDefault := func(name, def string) string {
		if v := env(name); v != "" {
			return v
		}
		return def
	}
	switch a.Method {
	case "token":
		a.Token = secrets.New(need("VAULT_TOKEN"))
	case "approle":
		a.RoleID, a.SecretIDFile = need("VAULT_ROLE_ID"), need("VAULT_SECRET_ID_FILE")
		a.Mount = orDefault("VAULT_APPROLE_MOUNT", "approle")
	case "kubernetes":
		a.Role = need("VAULT_KUBERNETES_ROLE")
		a.JWTFile = orDefault("VAULT_KUBERNETES_TOKEN_FILE", DefaultJWTFile)
		a.Mount = orDefault("VAULT_KUBERNETES_MOUNT", "kubernetes")
	default:
		return a, fmt.Errorf("vault: VAULT_AUTH_METHOD %q: want token, approle or kubernetes", a.Method)
	}
	if len(missing) > 0 {
		return a, fmt.Errorf("vault: the %s login needs %s", a.Method, strings.Join(missing, ", "))
	}
	return a, nil
}

// Client is a secrets.Provider over a Vault session. It is safe for
// concurrent use. Make it with [New], start [Client.Run] for the life of
// the service.
type Client struct {
	api  *vaultapi.Client
	http *http.Client // the api client's, to close its idle connections
	auth Auth
	opts Options
	log  *slog.Logger
	br   *breaker.Breaker

	session session

	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	entries map[string]*entry        // by path
	reading map[string]chan struct{} // first reads in flight, by path
	outage  *outage                  // nil while Vault answers
}

// outage is the ongoing failure to reach Vault.
type outage struct {
	since time.Time
	err   error
}

// New reads the VAULT_* variables, logs in and returns the client. ctx
// bounds the login.
func New(ctx context.Context, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	vars := envpkg.Or(opts.Environ)
	env := func(k string) string { return vars[k] }
	addr := env("VAULT_ADDR")
	if addr == "" {
		return nil, errors.New("vault: VAULT_ADDR is not set")
	}
	auth := opts.Auth
	if auth.Method == "" {
		var err error
		if auth, err = AuthFromEnv(vars); err != nil {
			return nil, err
		}
	}
	cfg := apiConfig(addr, opts.RequestTimeout)
	if ca := env("VAULT_CACERT"); ca != "" {
		if err := cfg.ConfigureTLS(&vaultapi.TLSConfig{CACert: ca}); err != nil {
			return nil, fmt.Errorf("vault: VAULT_CACERT: %w", err)
		}
	}
	api, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	// NewClient reads VAULT_TOKEN, VAULT_NAMESPACE and VAULT_HEADERS from
	// the process environment itself; the client uses only what Environ
	// says (and keeps the SSRF guard header NewClient sets).
	api.ClearToken()
	api.ClearNamespace()
	api.SetHeaders(http.Header{vaultapi.RequestHeaderName: {"true"}})
	if ns := env("VAULT_NAMESPACE"); ns != "" {
		api.SetNamespace(ns)
	}
	bs := breaker.Settings{MinCalls: 3, FailureRatio: 0.5, OpenTimeout: 5 * time.Second, CallTimeout: opts.RequestTimeout}
	if opts.Breaker != nil {
		bs = *opts.Breaker
	}
	br, err := breaker.New("vault", bs, breaker.Options{Logger: opts.Logger, Meter: opts.Meter,
		// A missing secret or a refused login is an answer, not an outage.
		IsSuccessful: isAnswer})
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	c := &Client{api: api, http: cfg.HttpClient, auth: auth, opts: opts, log: opts.Logger, br: br, entries: map[string]*entry{}, reading: map[string]chan struct{}{}}
	if auth.Method == "token" {
		c.mask(auth.Token.Reveal())
	}
	if err := c.login(ctx, 0); err != nil {
		return nil, err
	}
	return c, nil
}

// apiConfig is what vaultapi.DefaultConfig sets up, without its reading of
// the process environment (VAULT_CACERT, VAULT_SKIP_VERIFY,
// VAULT_CLIENT_CERT, VAULT_RATE_LIMIT, VAULT_MAX_RETRIES, ...): the client
// takes only what Options.Environ says. No retries: the breaker and Run's
// backoff decide when to try again.
func apiConfig(addr string, timeout time.Duration) *vaultapi.Config {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return &vaultapi.Config{
		Address: addr,
		HttpClient: &http.Client{
			Transport: tr,
			// The api client follows Vault's redirects itself.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Timeout:    timeout,
		MaxRetries: 0,
	}
}

// mask registers a token or value with the redactor, when there is one.
func (c *Client) mask(v string) {
	if c.opts.Known != nil && v != "" {
		c.opts.Known.AddSecret(secrets.New(v))
	}
}

// isAnswer reports whether err is Vault answering (4xx), not failing.
func isAnswer(err error) bool {
	var re *vaultapi.ResponseError
	return errors.As(err, &re) && re.StatusCode >= 400 && re.StatusCode < 500
}

// Breaker returns the circuit breaker in front of Vault.
func (c *Client) Breaker() *breaker.Breaker { return c.br }

// Check returns a non-critical readiness check named "vault": it warns
// while Vault cannot be reached (values are being served from the cache),
// or while the client holds no valid token.
func (c *Client) Check() health.Check {
	return health.Check{
		Name: "vault", Groups: health.Readiness, NonCritical: true, ComponentType: "datastore",
		Func: func(context.Context) error {
			c.mu.Lock()
			o := c.outage
			c.mu.Unlock()
			if o != nil {
				return fmt.Errorf("vault unreachable since %s, %s: %w", o.since.UTC().Format(time.RFC3339), c.servingWhat(), o.err)
			}
			if !c.session.valid(time.Now()) {
				return errors.New("vault: no valid token")
			}
			return nil
		},
	}
}

// failed records a failed call to Vault: the start of an outage, logged once.
func (c *Client) failed(err error) {
	c.mu.Lock()
	started := c.outage == nil
	if started {
		c.outage = &outage{since: time.Now(), err: err}
	} else {
		// A new value, not a write into the one Check may be reading.
		c.outage = &outage{since: c.outage.since, err: err}
	}
	c.mu.Unlock()
	if started {
		c.log.Warn("vault unreachable; "+c.servingWhat(), slog.Any("error", err), slog.Duration("max_stale", c.opts.MaxStale))
	}
}

// servingWhat says what an outage leaves the service: the cached values,
// or nothing when no path was read yet (a Vault down at start-up).
func (c *Client) servingWhat() string {
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	switch n {
	case 0:
		return "no value cached yet"
	case 1:
		return "serving 1 cached path"
	}
	return fmt.Sprintf("serving %d cached paths", n)
}

// succeeded ends an outage, logged once.
func (c *Client) succeeded() {
	c.mu.Lock()
	o := c.outage
	c.outage = nil
	c.mu.Unlock()
	if o != nil {
		c.log.Info("vault reachable again", slog.Duration("outage", time.Since(o.since).Round(time.Millisecond)))
	}
}

// backoff returns the wait before attempt n (0 for the first retry):
// Backoff doubled n times, at most 64 times Backoff, with ±50% jitter so
// that many instances do not retry in step.
func (c *Client) backoff(n int) time.Duration {
	d := c.opts.Backoff << min(n, 6)
	return d/2 + rand.N(d)
}
