// Package secretstest checks that a secrets.Provider keeps the rules every
// provider must keep, in the manner of testing/fstest.TestFS: one error
// listing every misbehaviour, or a Run form with a subtest per rule. It also
// ships MapProvider, an in-memory provider for tests of code that reads
// secrets.
package secretstest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/operable-go/operable/secrets"
)

// Grace is how soon Get must return once its context is done.
const Grace = 100 * time.Millisecond

// Case is what the kit needs to know of the provider under test: references
// that exist, with their values, and references that do not.
type Case struct {
	Present map[string]string
	Missing []string
}

type rule struct {
	name, explanation string
	check             func(secrets.Provider, Case) error
}

func withSource(s string) string {
	_, file, line, ok := runtime.Caller(1)
	if !ok {
		return s
	}
	return fmt.Sprintf("%s (%s:%d)", s, file[strings.LastIndex(file, "/")+1:], line)
}

var rules = []rule{
	{"present", withSource("Get returns the value of a reference that exists"), func(p secrets.Provider, c Case) error {
		var errs []error
		for ref, want := range c.Present {
			v, err := p.Get(context.Background(), ref)
			if err != nil || v.Secret.Reveal() != want {
				errs = append(errs, fmt.Errorf("Get(%q): err %v, value matches %v", ref, redact(err, c), err == nil && v.Secret.Reveal() == want))
			}
		}
		return errors.Join(errs...)
	}},
	{"version", withSource("a value has a Version, the same for the same value"), func(p secrets.Provider, c Case) error {
		for ref := range c.Present {
			a, err1 := p.Get(context.Background(), ref)
			b, err2 := p.Get(context.Background(), ref)
			if err1 != nil || err2 != nil || a.Version == "" || a.Version != b.Version {
				return fmt.Errorf("Get(%q) twice: versions %q and %q", ref, a.Version, b.Version)
			}
		}
		return nil
	}},
	{"missing", withSource("Get of a missing reference wraps secrets.ErrNotFound"), func(p secrets.Provider, c Case) error {
		var errs []error
		for _, ref := range c.Missing {
			if _, err := p.Get(context.Background(), ref); !errors.Is(err, secrets.ErrNotFound) {
				errs = append(errs, fmt.Errorf("Get(%q) = %v", ref, redact(err, c)))
			}
		}
		return errors.Join(errs...)
	}},
	{"cancelled", withSource("Get returns an error within Grace when its context is done"), func(p secrets.Provider, c Case) error {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for ref := range c.Present {
			done := make(chan error, 1)
			go func() { _, err := p.Get(ctx, ref); done <- err }()
			select {
			case err := <-done:
				if err == nil {
					return fmt.Errorf("Get(%q) with a cancelled context succeeded", ref)
				}
			case <-time.After(Grace):
				return fmt.Errorf("Get(%q) with a cancelled context still running after %s", ref, Grace)
			}
			break
		}
		return nil
	}},
	{"no-leak", withSource("no error text holds a secret's value"), func(p secrets.Provider, c Case) error {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		refs := append([]string(nil), c.Missing...)
		for ref := range c.Present {
			refs = append(refs, ref)
		}
		for _, ref := range refs {
			for _, cx := range []context.Context{context.Background(), ctx} {
				if _, err := p.Get(cx, ref); err != nil {
					for _, v := range c.Present {
						if strings.Contains(err.Error(), v) {
							return fmt.Errorf("Get(%q)'s error holds a secret value", ref)
						}
					}
				}
			}
		}
		return nil
	}},
	{"concurrent", withSource("Get is safe for concurrent use (run the kit with -race)"), func(p secrets.Provider, c Case) error {
		var wg sync.WaitGroup
		errs := make(chan error, 8*len(c.Present))
		for range 8 {
			for ref, want := range c.Present {
				wg.Go(func() {
					if v, err := p.Get(context.Background(), ref); err != nil || v.Secret.Reveal() != want {
						errs <- fmt.Errorf("concurrent Get(%q) failed", ref)
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		var all []error
		for err := range errs {
			all = append(all, err)
		}
		return errors.Join(all...)
	}},
}

// redact hides the case's values in an error's text before the kit prints it.
func redact(err error, c Case) string {
	if err == nil {
		return "<nil>"
	}
	s := err.Error()
	for _, v := range c.Present {
		s = strings.ReplaceAll(s, v, secrets.Redacted)
	}
	return s
}

// TestProvider checks p against every rule and returns nil or one error
// listing every broken one.
func TestProvider(p secrets.Provider, c Case) error {
	var errs []error
	for _, r := range rules {
		if err := r.check(p, c); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", r.name, r.explanation, err))
		}
	}
	return errors.Join(errs...)
}

// Run checks each rule as a subtest of t, on a provider made by newProvider
// for that subtest.
func Run(t *testing.T, newProvider func(*testing.T) (secrets.Provider, Case)) {
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			p, c := newProvider(t)
			if err := r.check(p, c); err != nil {
				t.Errorf("%s: %v", r.explanation, err)
			}
		})
	}
}

// MapProvider is an in-memory secrets.Provider: reference → value. It is
// safe for concurrent use; Set changes a value (and its version), as a
// rotation would.
type MapProvider struct {
	mu      sync.RWMutex
	values  map[string]string
	version map[string]int
}

// NewMapProvider returns a provider holding values.
func NewMapProvider(values map[string]string) *MapProvider {
	m := &MapProvider{values: map[string]string{}, version: map[string]int{}}
	for k, v := range values {
		m.Set(k, v)
	}
	return m
}

// Set stores value under ref and bumps its version.
func (m *MapProvider) Set(ref, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[ref] = value
	m.version[ref]++
}

// Get returns the value stored under ref.
func (m *MapProvider) Get(ctx context.Context, ref string) (secrets.Value, error) {
	if err := ctx.Err(); err != nil {
		return secrets.Value{}, fmt.Errorf("secretstest: %s: %w", ref, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.values[ref]
	if !ok {
		return secrets.Value{}, fmt.Errorf("secretstest: %s: %w", ref, secrets.ErrNotFound)
	}
	return secrets.Value{Secret: secrets.New(v), Version: fmt.Sprint(m.version[ref])}, nil
}
