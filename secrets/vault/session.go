package vault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/operable-go/operable/breaker"
)

// session is the client's token and what is known of its lifetime.
type session struct {
	loginMu sync.Mutex // one login at a time: single flight

	mu         sync.Mutex
	generation int       // counts logins; a caller that saw an older one need not log in again
	issued     time.Time // when the token was obtained or last renewed
	ttl        time.Duration
	expires    time.Time // zero: the token does not expire
	renewable  bool
	ours       bool      // obtained by a login, so revoked at the end
	renewAt    time.Time // next renewal; zero: none
	reloginAt  time.Time // next login, once renewal no longer extends the token; zero: none
	failures   int       // consecutive failed logins or renewals, for the backoff
}

func (s *session) valid(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.generation > 0 && (s.expires.IsZero() || now.Before(s.expires))
}

func (s *session) gen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.generation
}

// login obtains a token, unless a login newer than seen (a generation)
// happened meanwhile: concurrent callers that found the token expired
// share one login.
func (c *Client) login(ctx context.Context, seen int) error {
	c.session.loginMu.Lock()
	defer c.session.loginMu.Unlock()
	if c.session.gen() > seen {
		return nil
	}
	sec, err := breaker.Do(ctx, c.br, c.loginOnce)
	if err != nil {
		c.session.mu.Lock()
		c.session.failures++
		c.session.mu.Unlock()
		if !isAnswer(err) {
			c.failed(err)
		}
		return fmt.Errorf("vault: %s login: %w", c.auth.Method, err)
	}
	c.succeeded()
	ttl := time.Duration(sec.Auth.LeaseDuration) * time.Second
	c.adopt(ttl, sec.Auth.Renewable, c.auth.Method != "token", true)
	c.log.Info("vault login", slog.String("method", c.auth.Method), slog.Duration("ttl", ttl),
		slog.Bool("renewable", sec.Auth.Renewable))
	return nil
}

// loginOnce performs one login and sets the client's token.
func (c *Client) loginOnce(ctx context.Context) (*vaultapi.Secret, error) {
	var (
		path string
		data map[string]any
	)
	switch c.auth.Method {
	case "token":
		// The token is given: learn its lifetime.
		c.api.SetToken(c.auth.Token.Reveal())
		sec, err := c.api.Auth().Token().LookupSelfWithContext(ctx)
		if err != nil {
			return nil, err
		}
		ttl, _ := sec.TokenTTL()
		renewable, _ := sec.TokenIsRenewable()
		return &vaultapi.Secret{Auth: &vaultapi.SecretAuth{LeaseDuration: int(ttl.Seconds()), Renewable: renewable}}, nil
	case "approle":
		secretID, err := readCredential(c.auth.SecretIDFile)
		if err != nil {
			return nil, err
		}
		path = "auth/" + c.auth.Mount + "/login"
		data = map[string]any{"role_id": c.auth.RoleID, "secret_id": secretID}
	case "kubernetes":
		// Read at every login: the kubelet rotates the token.
		jwt, err := readCredential(c.auth.JWTFile)
		if err != nil {
			return nil, err
		}
		path = "auth/" + c.auth.Mount + "/login"
		data = map[string]any{"role": c.auth.Role, "jwt": jwt}
	}
	// Readers keep using the current token meanwhile; Vault ignores a token
	// on a login request.
	sec, err := c.api.Logical().WriteWithContext(ctx, path, data)
	if err != nil {
		return nil, err
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return nil, errors.New("the login answer holds no token")
	}
	c.api.SetToken(sec.Auth.ClientToken)
	c.mask(sec.Auth.ClientToken)
	return sec, nil
}

// readCredential reads a login credential file; its errors name the file,
// never its content.
func readCredential(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

// adopt records a new or renewed token lifetime and plans the next
// renewal or login: renew at two thirds of the TTL; once a renewal gives
// less than asked (the max TTL is near), log in again at two thirds of
// what is left.
func (c *Client) adopt(ttl time.Duration, renewable, ours, fresh bool) {
	s := &c.session
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if fresh {
		s.generation++
		s.ttl, s.ours = ttl, ours
	}
	s.issued, s.renewable, s.failures = now, renewable, 0
	s.renewAt, s.reloginAt, s.expires = time.Time{}, time.Time{}, time.Time{}
	if ttl <= 0 {
		return // a token without expiry (a root token)
	}
	s.expires = now.Add(ttl)
	switch {
	case renewable && (fresh || ttl >= s.ttl):
		s.renewAt = now.Add(ttl * 2 / 3)
	case s.ours:
		s.reloginAt = now.Add(ttl * 2 / 3)
	}
}

// maintainToken renews the token, or logs in again, when either is due; a
// failure plans the next attempt with backoff (retryLater).
func (c *Client) maintainToken(ctx context.Context, now time.Time) {
	s := &c.session
	s.mu.Lock()
	renewAt, reloginAt, expires, ttl, gen, failures := s.renewAt, s.reloginAt, s.expires, s.ttl, s.generation, s.failures
	s.mu.Unlock()
	relogin := !reloginAt.IsZero() && !now.Before(reloginAt) ||
		!expires.IsZero() && !now.Before(expires) && c.auth.Method != "token"
	switch {
	case relogin:
		if err := c.login(ctx, gen); err != nil {
			c.log.Warn("vault login failed; retrying", slog.Any("error", err), slog.Int("attempt", failures+1))
			c.retryLater(now)
		}
	case !renewAt.IsZero() && !now.Before(renewAt):
		sec, err := breaker.Do(ctx, c.br, func(ctx context.Context) (*vaultapi.Secret, error) {
			return c.api.Auth().Token().RenewSelfWithContext(ctx, int(ttl.Seconds()))
		})
		if err != nil || sec == nil || sec.Auth == nil {
			if err == nil {
				err = errors.New("the renewal answer holds no token")
			}
			if !isAnswer(err) {
				c.failed(err)
			}
			c.log.Warn("vault token renewal failed; retrying", slog.Any("error", err))
			c.retryLater(now)
			return
		}
		c.succeeded()
		got := time.Duration(sec.Auth.LeaseDuration) * time.Second
		c.adopt(got, sec.Auth.Renewable, s.ours, false)
		if got < ttl {
			c.log.Info("vault token renewed up to its max TTL; will log in again", slog.Duration("ttl", got))
		} else {
			c.log.Debug("vault token renewed", slog.Duration("ttl", got))
		}
	}
}

// retryLater plans the next attempt after a failed login or renewal, with
// backoff, never later than the token's expiry.
func (c *Client) retryLater(now time.Time) {
	s := &c.session
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures++
	next := now.Add(c.backoff(s.failures - 1))
	if !s.renewAt.IsZero() {
		s.renewAt = next
	} else {
		s.reloginAt = next
	}
}

// nextTokenWork returns when the token next needs attention; zero: never.
func (s *session) nextTokenWork() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.renewAt
	if t.IsZero() || (!s.reloginAt.IsZero() && s.reloginAt.Before(t)) {
		t = s.reloginAt
	}
	return t
}

// Close ends the session of a client that will not run (or no longer
// does): it revokes the token the client logged in for (never a
// VAULT_TOKEN it was given) and closes its idle connections. ctx bounds the
// revocation, as does Options.RequestTimeout. Run does the same when its
// context is done; only the first of them does it, later calls return
// what it returned.
func (c *Client) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		c.closeErr = c.revoke(ctx)
		c.http.CloseIdleConnections()
	})
	return c.closeErr
}

// revoke revokes a token the client logged in for.
func (c *Client) revoke(ctx context.Context) error {
	s := &c.session
	s.mu.Lock()
	ours := s.ours && s.generation > 0
	s.mu.Unlock()
	if !ours {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	if err := c.api.Auth().Token().RevokeSelfWithContext(ctx, ""); err != nil {
		c.log.Warn("vault token revocation failed", slog.Any("error", err))
		return fmt.Errorf("vault: revoke the token: %w", err)
	}
	c.log.Info("vault token revoked")
	return nil
}
