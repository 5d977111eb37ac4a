package secrets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/operable-go/operable/internal/boundedread"
	"github.com/operable-go/operable/internal/environ"
)

// Value is a secret fetched from a provider, with what the provider knows
// about it.
type Value struct {
	Secret Secret
	// Version identifies this value: a KV version, a hash of a file's
	// content. It changes when the value does.
	Version string
	// Expires is when a leased value stops being valid. Zero: no lease.
	Expires time.Time
}

// Provider fetches secrets by reference. The reference's form is the
// provider's (a variable name, a file path, "kv/data/app#password").
// Implementations are safe for concurrent use, return soon after ctx is
// done, wrap [ErrNotFound] for a secret that does not exist, and never put a
// secret's value in an error. secretstest checks these rules.
type Provider interface {
	Get(ctx context.Context, ref string) (Value, error)
}

// ErrNotFound is wrapped by providers for a reference that names nothing.
var ErrNotFound = errors.New("secrets: not found")

// Env reads secrets from environment variables: the reference is the
// variable's name. For local development; configuration policy refuses it
// in production. The zero value reads the process environment.
type Env struct {
	// Environ replaces the process environment (for tests). Default: nil,
	// the process environment.
	Environ map[string]string
}

// Get returns the variable's value; a missing or empty variable is
// ErrNotFound.
func (e Env) Get(ctx context.Context, ref string) (Value, error) {
	if err := ctx.Err(); err != nil {
		return Value{}, fmt.Errorf("secrets: env %s: %w", ref, err)
	}
	v := environ.Or(e.Environ)[ref]
	if v == "" {
		return Value{}, fmt.Errorf("secrets: env %s: %w", ref, ErrNotFound)
	}
	return Value{Secret: New(v), Version: digest(v)}, nil
}

// Files reads secrets from files, such as the ones Kubernetes mounts: the
// reference is an absolute path. Every Get reads the file again, so a
// rotated secret (the kubelet swaps a ..data symlink) is seen at once; the
// Version is a digest of the content. A trailing newline is removed. The
// zero value reads any absolute path, of at most 1 MiB.
type Files struct {
	// Root, when set, is the only directory references may point into.
	// Default: "", any absolute path.
	Root string
	// MaxSize bounds the size of a secret file: a larger one is an error
	// naming the file and the limit, and no more than MaxSize and one byte
	// is read of it, whatever it is (a mistaken /dev/zero included).
	// Default: 1 MiB, the most a Kubernetes Secret holds.
	MaxSize int64
}

// Get reads the file ref.
func (f Files) Get(ctx context.Context, ref string) (Value, error) {
	if err := ctx.Err(); err != nil {
		return Value{}, fmt.Errorf("secrets: file %s: %w", ref, err)
	}
	clean := filepath.Clean(ref)
	if !filepath.IsAbs(clean) {
		return Value{}, fmt.Errorf("secrets: file %s: the reference must be an absolute path", ref)
	}
	if f.Root != "" {
		root := filepath.Clean(f.Root)
		if clean != root && !strings.HasPrefix(clean, root+string(filepath.Separator)) {
			return Value{}, fmt.Errorf("secrets: file %s: outside %s", ref, root)
		}
	}
	data, err := boundedread.ReadFile(clean, f.MaxSize)
	if errors.Is(err, os.ErrNotExist) {
		return Value{}, fmt.Errorf("secrets: file %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		// os errors name the path and the cause, never the content.
		return Value{}, fmt.Errorf("secrets: %w", err)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if v == "" {
		return Value{}, fmt.Errorf("secrets: file %s is empty: %w", ref, ErrNotFound)
	}
	return Value{Secret: New(v), Version: digest(v)}, nil
}

// digest is a short, one-way version of a value: it changes when the value
// does and tells nothing about it.
func digest(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:8])
}

// Resolver fetches "scheme:reference" strings through the provider
// registered for the scheme: "env:DB_PASSWORD" through Resolver["env"],
// "file:/var/run/secrets/db/password" through Resolver["file"],
// "vault:kv/data/app#password" through Resolver["vault"].
type Resolver map[string]Provider

// Resolve fetches ref. An unknown scheme is an error naming it.
func (r Resolver) Resolve(ctx context.Context, ref string) (Value, error) {
	scheme, rest, ok := strings.Cut(ref, ":")
	if !ok || rest == "" {
		// The text is not quoted: a raw secret given where a reference was
		// expected must not reach a log.
		return Value{}, errors.New("secrets: a reference must be scheme:reference (env:, file:, vault:)")
	}
	p, ok := r[scheme]
	if !ok {
		return Value{}, fmt.Errorf("secrets: no provider for scheme %q", scheme)
	}
	return p.Get(ctx, rest)
}
