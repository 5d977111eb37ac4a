package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/operable-go/operable/secrets"
	"github.com/operable-go/operable/secrets/secretstest"
)

func TestProvidersKeepTheRules(t *testing.T) {
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "password"), []byte("file-s3cret\n"), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600)
	cases := map[string]func(*testing.T) (secrets.Provider, secretstest.Case){
		"env": func(*testing.T) (secrets.Provider, secretstest.Case) {
			return secrets.Env{Environ: map[string]string{"DB_PASSWORD": "env-s3cret", "EMPTY": ""}},
				secretstest.Case{Present: map[string]string{"DB_PASSWORD": "env-s3cret"}, Missing: []string{"NOPE", "EMPTY"}}
		},
		"files": func(*testing.T) (secrets.Provider, secretstest.Case) {
			return secrets.Files{Root: dir}, secretstest.Case{
				Present: map[string]string{filepath.Join(dir, "password"): "file-s3cret"},
				Missing: []string{filepath.Join(dir, "nope"), filepath.Join(dir, "empty")},
			}
		},
		"map": func(*testing.T) (secrets.Provider, secretstest.Case) {
			return secretstest.NewMapProvider(map[string]string{"kv/app#pw": "map-s3cret"}),
				secretstest.Case{Present: map[string]string{"kv/app#pw": "map-s3cret"}, Missing: []string{"kv/app#nope"}}
		},
	}
	for name, newProvider := range cases {
		t.Run(name, func(t *testing.T) { secretstest.Run(t, newProvider) })
	}
}

// leaky breaks two rules: it ignores its context and puts the value in
// its errors.
type leaky struct{}

func (leaky) Get(ctx context.Context, ref string) (secrets.Value, error) {
	if ref == "good" {
		time.Sleep(300 * time.Millisecond)
		return secrets.Value{Secret: secrets.New("leaky-value"), Version: "1"}, nil
	}
	return secrets.Value{}, fmt.Errorf("no %s, did you mean the one holding leaky-value", ref)
}

func TestKitCatchesABadProvider(t *testing.T) {
	err := secretstest.TestProvider(leaky{}, secretstest.Case{Present: map[string]string{"good": "leaky-value"}, Missing: []string{"bad"}})
	for _, rule := range []string{"missing", "cancelled", "no-leak"} {
		if err == nil || !strings.Contains(err.Error(), rule+":") {
			t.Errorf("TestProvider = %v, want it to name %s", err, rule)
		}
	}
	if err != nil && strings.Contains(err.Error(), "leaky-value") {
		t.Error("the kit's own report repeats the secret")
	}
	time.Sleep(400 * time.Millisecond) // let the slow calls end
}

// TestFilesSeeARotation: the kubelet swaps ..data to a new directory; the
// next Get reads the new value with a new version.
func TestFilesSeeARotation(t *testing.T) {
	dir := t.TempDir()
	write := func(i int, v string) {
		d := filepath.Join(dir, fmt.Sprintf("..v%d", i))
		_ = os.Mkdir(d, 0o700)
		_ = os.WriteFile(filepath.Join(d, "token"), []byte(v), 0o600)
		tmp := filepath.Join(dir, "..data_tmp")
		_ = os.Symlink(filepath.Base(d), tmp)
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	write(1, "token-one")
	_ = os.Symlink(filepath.Join("..data", "token"), filepath.Join(dir, "token"))
	ref := filepath.Join(dir, "token")
	a, err := secrets.Files{}.Get(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	write(2, "token-two")
	b, err := secrets.Files{}.Get(context.Background(), ref)
	if err != nil || b.Secret.Reveal() != "token-two" || a.Version == b.Version {
		t.Errorf("after rotation: %v, value two %v, versions %s %s", err, b.Secret.Reveal() == "token-two", a.Version, b.Version)
	}
}

func TestFilesRefusesPathsOutsideItsRoot(t *testing.T) {
	root := t.TempDir()
	for _, ref := range []string{"relative/path", filepath.Join(root, "..", "etc", "passwd"), "/etc/passwd"} {
		if _, err := (secrets.Files{Root: root}).Get(context.Background(), ref); err == nil || errors.Is(err, secrets.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want a refusal", ref, err)
		}
	}
}

func TestResolver(t *testing.T) {
	r := secrets.Resolver{
		"env":   secrets.Env{Environ: map[string]string{"API_KEY": "k-123456"}},
		"vault": secretstest.NewMapProvider(map[string]string{"kv/data/app#password": "v-654321"}),
	}
	for ref, want := range map[string]string{"env:API_KEY": "k-123456", "vault:kv/data/app#password": "v-654321"} {
		if v, err := r.Resolve(context.Background(), ref); err != nil || v.Secret.Reveal() != want {
			t.Errorf("Resolve(%q) = %v", ref, err)
		}
	}
	for _, ref := range []string{"aws:thing", "raw-password-no-scheme", "env:"} {
		_, err := r.Resolve(context.Background(), ref)
		if err == nil || strings.Contains(err.Error(), "raw-password") {
			t.Errorf("Resolve(%q) = %v, want an error that does not repeat it", ref, err)
		}
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestFilesAreReadWithABound: a secret file over MaxSize, and an endless
// one, is an error naming the file and the limit, read no further than the
// limit; a dangling link is not "not found", so a caller cannot take a
// broken mount for a missing one.
func TestFilesAreReadWithABound(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("s", 65)), 0o600); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "gone"), dangling); err != nil {
		t.Fatal(err)
	}
	files := secrets.Files{MaxSize: 64}
	for _, tc := range []struct{ ref, want string }{
		{big, "larger than the limit of 64 bytes"},
		{"/dev/zero", "larger than the limit of 64 bytes"},
		{dangling, "dangling symbolic link"},
	} {
		_, err := files.Get(context.Background(), tc.ref)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.ref) {
			t.Errorf("Get(%s) = %v, want an error naming the file with %q", tc.ref, err, tc.want)
		}
		if errors.Is(err, secrets.ErrNotFound) {
			t.Errorf("Get(%s) is ErrNotFound; the file is there", tc.ref)
		}
		if strings.Contains(fmt.Sprint(err), "sss") {
			t.Errorf("Get(%s) quotes the content: %v", tc.ref, err)
		}
	}
	if v, err := (secrets.Files{}).Get(context.Background(), big); err != nil || len(v.Secret.Reveal()) != 65 {
		t.Errorf("the default limit refused a 65-byte secret: %v", err)
	}
}
