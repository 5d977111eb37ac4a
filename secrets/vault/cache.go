package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/operable-go/operable/breaker"
	"github.com/operable-go/operable/secrets"
)

// ErrStale is wrapped by Get for a path whose last good value is older
// than Options.MaxStale, or whose lease has expired, while Vault cannot be
// reached.
var ErrStale = errors.New("vault: cached value too old")

// entry is one path's last good answer.
type entry struct {
	path    string
	fields  map[string]string
	version string
	// lease, for a dynamic secret.
	leaseID   string
	leaseTTL  time.Duration // as first granted
	renewable bool
	expires   time.Time // zero: no lease
	renewAt   time.Time // next lease renewal or re-read; zero: none
	good      time.Time // last successful read or renewal
	failures  int
	subs      []*subscription
}

type subscription struct {
	field string
	fn    func(secrets.Value)
}

// parseRef splits "path#field".
func parseRef(ref string) (path, field string, err error) {
	path, field, ok := strings.Cut(ref, "#")
	path = strings.Trim(path, "/")
	if !ok || path == "" || field == "" {
		return "", "", fmt.Errorf("vault: reference %q: want path#field, e.g. kv/data/app#password", ref)
	}
	return path, field, nil
}

// Get returns the field of a path: from the cache once the path was read,
// else from Vault (the first Get of a path waits for it; warm the paths at
// start-up so that requests never do). It keeps the secrets.Provider
// rules: ErrNotFound wrapped for a missing path or field, no value in any
// error.
func (c *Client) Get(ctx context.Context, ref string) (secrets.Value, error) {
	path, field, err := parseRef(ref)
	if err != nil {
		return secrets.Value{}, err
	}
	e, err := c.cached(ctx, path)
	if err != nil {
		return secrets.Value{}, err
	}
	return c.value(e, ref, field, time.Now())
}

// cached returns the path's entry, reading it first if need be: one read
// however many callers ask at once (a dynamic secret gets one lease).
func (c *Client) cached(ctx context.Context, path string) (*entry, error) {
	for {
		c.mu.Lock()
		if e := c.entries[path]; e != nil {
			c.mu.Unlock()
			return e, nil
		}
		wait, reading := c.reading[path]
		if !reading {
			wait = make(chan struct{})
			c.reading[path] = wait
		}
		c.mu.Unlock()
		if reading {
			select {
			case <-wait:
				continue // read, or failed: look again
			case <-ctx.Done():
				return nil, fmt.Errorf("vault: read %s: %w", path, ctx.Err())
			}
		}
		e, err := c.read(ctx, path)
		c.mu.Lock()
		delete(c.reading, path)
		c.mu.Unlock()
		close(wait)
		return e, err
	}
}

// value returns the field of e, unless e is too old to serve.
func (c *Client) value(e *entry, ref, field string, now time.Time) (secrets.Value, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(e.good) > c.opts.MaxStale {
		return secrets.Value{}, fmt.Errorf("vault: %s: last read %s ago: %w", ref, now.Sub(e.good).Round(time.Second), ErrStale)
	}
	if !e.expires.IsZero() && now.After(e.expires) {
		return secrets.Value{}, fmt.Errorf("vault: %s: lease expired: %w", ref, ErrStale)
	}
	v, ok := e.fields[field]
	if !ok {
		return secrets.Value{}, fmt.Errorf("vault: %s: no field %q: %w", ref, field, secrets.ErrNotFound)
	}
	s := secrets.New(v)
	if c.opts.Known != nil {
		c.opts.Known.AddSecret(s)
	}
	return secrets.Value{Secret: s, Version: e.version, Expires: e.expires}, nil
}

// read reads path from Vault and caches it (replacing what was there;
// subscribers of changed fields are told).
func (c *Client) read(ctx context.Context, path string) (*entry, error) {
	gen := c.session.gen()
	sec, err := breaker.Do(ctx, c.br, func(ctx context.Context) (*vaultapi.Secret, error) {
		return c.api.Logical().ReadWithContext(ctx, path)
	})
	if isPermissionDenied(err) {
		// The token may have expired under us: one shared login, one retry.
		if lerr := c.login(ctx, gen); lerr == nil {
			sec, err = breaker.Do(ctx, c.br, func(ctx context.Context) (*vaultapi.Secret, error) {
				return c.api.Logical().ReadWithContext(ctx, path)
			})
		}
	}
	if err != nil {
		if !isAnswer(err) {
			c.failed(err)
		}
		return nil, fmt.Errorf("vault: read %s: %w", path, err)
	}
	c.succeeded()
	fresh, err := parseSecret(path, sec)
	if err != nil {
		return nil, err
	}
	return c.store(fresh), nil
}

func isPermissionDenied(err error) bool {
	var re *vaultapi.ResponseError
	return errors.As(err, &re) && re.StatusCode == 403
}

// parseSecret turns an answer into an entry: KV v2 (data.data and
// data.metadata.version), a lease (a dynamic secret), or plain fields
// (KV v1).
func parseSecret(path string, sec *vaultapi.Secret) (*entry, error) {
	if sec == nil {
		return nil, fmt.Errorf("vault: %s: %w", path, secrets.ErrNotFound)
	}
	now := time.Now()
	e := &entry{path: path, good: now, fields: map[string]string{}}
	data := sec.Data
	if inner, ok := data["data"].(map[string]any); ok {
		if meta, ok := data["metadata"].(map[string]any); ok {
			data = inner
			e.version = fmt.Sprint(meta["version"])
		}
	} else if _, ok := data["metadata"]; ok && data["data"] == nil {
		// KV v2: the current version is deleted.
		return nil, fmt.Errorf("vault: %s: deleted: %w", path, secrets.ErrNotFound)
	}
	for k, v := range data {
		switch x := v.(type) {
		case string:
			e.fields[k] = x
		case json.Number:
			e.fields[k] = x.String()
		case bool, float64:
			e.fields[k] = fmt.Sprint(x)
		}
	}
	if e.version == "" {
		e.version = digestFields(e.fields)
	}
	if sec.LeaseID != "" {
		e.leaseID, e.renewable = sec.LeaseID, sec.Renewable
		e.leaseTTL = time.Duration(sec.LeaseDuration) * time.Second
		e.expires = now.Add(e.leaseTTL)
		e.renewAt = now.Add(e.leaseTTL * 2 / 3)
		e.version = sec.LeaseID
	}
	return e, nil
}

// digestFields is a one-way version of a KV v1 secret's fields.
func digestFields(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k + "\x00" + fields[k] + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// store caches fresh in place of the path's entry, keeping its
// subscribers, and tells those whose field changed.
func (c *Client) store(fresh *entry) *entry {
	c.mu.Lock()
	old := c.entries[fresh.path]
	var notify []func()
	if old != nil {
		fresh.subs = old.subs
		for _, s := range old.subs {
			if v, ok := fresh.fields[s.field]; ok && (old.fields[s.field] != v || old.version != fresh.version) {
				val := secrets.Value{Secret: secrets.New(v), Version: fresh.version, Expires: fresh.expires}
				fn := s.fn
				notify = append(notify, func() { fn(val) })
			}
		}
	}
	c.entries[fresh.path] = fresh
	c.mu.Unlock()
	if old != nil && old.version != fresh.version {
		c.log.Info("vault secret changed", slog.String("path", fresh.path),
			slog.String("version", fresh.version), slog.Int("subscribers", len(notify)))
	}
	for _, n := range notify {
		n()
	}
	return fresh
}

// Subscribe calls fn with every new value of ref (a new KV version, new
// credentials for a lease), from Run's goroutine; fn must not block. The
// path is read first if it was not yet. It returns a function that ends
// the subscription.
func (c *Client) Subscribe(ctx context.Context, ref string, fn func(secrets.Value)) (cancel func(), err error) {
	path, field, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	if _, err := c.Get(ctx, ref); err != nil {
		return nil, err
	}
	s := &subscription{field: field, fn: func(v secrets.Value) {
		if c.opts.Known != nil {
			c.opts.Known.AddSecret(v.Secret)
		}
		fn(v)
	}}
	c.mu.Lock()
	e := c.entries[path]
	e.subs = append(e.subs, s)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if e := c.entries[path]; e != nil {
			e.subs = slices.DeleteFunc(e.subs, func(x *subscription) bool { return x == s })
		}
	}, nil
}

// Run keeps the session and the cache alive until ctx is done: it renews
// or replaces the token, renews leases and reads new credentials before
// they expire, and reads the KV paths again every Options.Refresh. When
// ctx is done it closes the client (see [Client.Close]: the token it
// logged in for revoked) and returns nil.
func (c *Client) Run(ctx context.Context) error {
	defer func() { _ = c.Close(context.WithoutCancel(ctx)) }()
	nextRefresh := time.Now().Add(c.opts.Refresh)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		now := time.Now()
		c.maintainToken(ctx, now)
		c.maintainLeases(ctx, now)
		if !now.Before(nextRefresh) {
			c.refreshKV(ctx)
			nextRefresh = now.Add(c.opts.Refresh)
		}
		next := nextRefresh
		for _, t := range []time.Time{c.session.nextTokenWork(), c.nextLeaseWork()} {
			if !t.IsZero() && t.Before(next) {
				next = t
			}
		}
		timer.Reset(max(time.Until(next), 10*time.Millisecond))
	}
}

// refreshKV reads every KV path again; a failure keeps the cached value.
func (c *Client) refreshKV(ctx context.Context) {
	for _, path := range c.paths(func(e *entry) bool { return e.leaseID == "" }) {
		if _, err := c.read(ctx, path); err != nil && ctx.Err() == nil {
			c.log.Debug("vault refresh failed; keeping the cached value", slog.String("path", path), slog.Any("error", err))
		}
	}
}

func (c *Client) paths(keep func(*entry) bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for p, e := range c.entries {
		if keep(e) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (c *Client) nextLeaseWork() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var t time.Time
	for _, e := range c.entries {
		if !e.renewAt.IsZero() && (t.IsZero() || e.renewAt.Before(t)) {
			t = e.renewAt
		}
	}
	return t
}

// maintainLeases renews the leases that are due; a lease that renewal no
// longer extends (its max TTL is near) is replaced by new credentials.
func (c *Client) maintainLeases(ctx context.Context, now time.Time) {
	for _, path := range c.paths(func(e *entry) bool { return !e.renewAt.IsZero() && !now.Before(e.renewAt) }) {
		c.mu.Lock()
		e := c.entries[path]
		leaseID, ttl, renewable, expires := e.leaseID, e.leaseTTL, e.renewable, e.expires
		c.mu.Unlock()
		if renewable {
			sec, err := breaker.Do(ctx, c.br, func(ctx context.Context) (*vaultapi.Secret, error) {
				return c.api.Sys().RenewWithContext(ctx, leaseID, int(ttl.Seconds()))
			})
			if err == nil && sec != nil {
				c.succeeded()
				got := time.Duration(sec.LeaseDuration) * time.Second
				c.mu.Lock()
				e.good, e.failures = now, 0
				e.expires = now.Add(got)
				if got >= ttl {
					e.renewAt = now.Add(got * 2 / 3)
				} else {
					// Near the max TTL: new credentials before these expire.
					e.renewAt = now.Add(got * 2 / 3)
					e.renewable = false
				}
				c.mu.Unlock()
				c.log.Info("vault lease renewed", slog.String("path", path), slog.Duration("ttl", got),
					slog.Time("expires", e.expires))
				continue
			}
			if err != nil && !isAnswer(err) {
				c.failed(err)
				c.leaseRetry(e, now)
				c.log.Warn("vault lease renewal failed; retrying", slog.String("path", path), slog.Any("error", err),
					slog.Time("expires", expires))
				continue
			}
			// Vault refused the renewal (the lease is gone): read anew.
		}
		c.log.Info("vault lease near its end; reading new credentials", slog.String("path", path), slog.Time("expires", expires))
		if _, err := c.read(ctx, path); err != nil {
			c.leaseRetry(e, now)
			c.log.Warn("vault new credentials failed; retrying", slog.String("path", path), slog.Any("error", err),
				slog.Time("expires", expires))
		}
	}
}

func (c *Client) leaseRetry(e *entry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.failures++
	e.renewAt = now.Add(c.backoff(e.failures - 1))
}
