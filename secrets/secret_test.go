package secrets_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/operable-go/operable/secrets"
)

const plain = "hunter2-s3cr3t"

type holder struct {
	Name     string
	Password secrets.Secret
	token    secrets.Secret // unexported: fmt cannot call its methods
	ptr      *secrets.Secret
}

func TestSecretNeverPrints(t *testing.T) {
	s := secrets.New(plain)
	h := holder{Name: "db", Password: s, token: s, ptr: &s}
	cases := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%q", "%x", "%X", "%10.3s", "%T"} {
		cases["Sprintf "+verb] = fmt.Sprintf(verb, s)
		cases["Sprintf struct "+verb] = fmt.Sprintf(verb, h)
		cases["Sprintf ptr struct "+verb] = fmt.Sprintf(verb, &h)
		cases["Sprintf slice "+verb] = fmt.Sprintf(verb, []secrets.Secret{s})
		cases["Sprintf map "+verb] = fmt.Sprintf(verb, map[string]any{"k": s})
	}
	cases["Sprint"] = fmt.Sprint(s, h)
	cases["Errorf %w"] = fmt.Errorf("wrap: %v: %w", s, errors.New("x")).Error()
	cases["String"] = s.String()
	cases["GoString"] = s.GoString()

	for name, newHandler := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		l := slog.New(newHandler(&buf))
		l.Info("m", "secret", s, "holder", h, slog.Group("g", "s", s), "any", any(s))
		cases[name] = buf.String()
	}
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	cases["json struct"] = string(j)
	j, _ = json.Marshal(map[secrets.Secret]string{s: "as map key"})
	cases["json map key"] = string(j)
	txt, _ := s.MarshalText()
	cases["MarshalText"] = string(txt)

	for name, out := range cases {
		if strings.Contains(out, plain) || strings.Contains(out, fmt.Sprintf("%x", plain)) {
			t.Errorf("%s leaks the value: %s", name, out)
		}
	}
	if !strings.Contains(cases["json struct"], `"Password":"[REDACTED]"`) {
		t.Errorf("json struct = %s, want Password [REDACTED]", cases["json struct"])
	}
}

func TestRevealAndZero(t *testing.T) {
	var zero secrets.Secret
	if !zero.IsZero() || zero.Reveal() != "" {
		t.Errorf("zero Secret: IsZero %v Reveal %q, want true and empty", zero.IsZero(), zero.Reveal())
	}
	if !secrets.New("").IsZero() {
		t.Error(`New("") is not zero`)
	}
	if got := secrets.New(plain).Reveal(); got != plain {
		t.Errorf("Reveal = %q, want %q", got, plain)
	}
}

func TestEqual(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"same", "same", true},
		{"same", "samE", false},
		{"short", "much longer value", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, c := range cases {
		if got := secrets.New(c.a).Equal(secrets.New(c.b)); got != c.want {
			t.Errorf("New(%q).Equal(New(%q)) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
