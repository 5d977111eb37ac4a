package secrets_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/operable-go/operable/secrets"
)

func ExampleSecret() {
	password := secrets.New("hunter2")
	fmt.Println(password)
	fmt.Printf("%+v\n", struct{ User, Password any }{"app", password})

	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	logger.Info("connecting", "password", password)

	// Reading the value is explicit.
	fmt.Println(len(password.Reveal()))
	// Output:
	// [REDACTED]
	// {User:app Password:[REDACTED]}
	// {"level":"INFO","msg":"connecting","password":"[REDACTED]"}
	// 7
}

func ExampleSecret_Equal() {
	configured := secrets.New("token-abc")
	offered := secrets.New("token-abd")
	fmt.Println(configured.Equal(offered))
	// Output: false
}

func ExampleResolver() {
	r := secrets.Resolver{
		"env":  secrets.Env{Environ: map[string]string{"DB_PASSWORD": "hunter2"}},
		"file": secrets.Files{Root: "/var/run/secrets"},
	}
	v, err := r.Resolve(context.Background(), "env:DB_PASSWORD")
	fmt.Println(v.Secret, err)
	// Output: [REDACTED] <nil>
}
