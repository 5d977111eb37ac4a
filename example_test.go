package operable_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/shutdown"
)

func ExampleMain() {
	// The service's own settings, loaded and validated with the SDK's.
	var cfg struct {
		Greeting string `env:"GREETING" envDefault:"hello"`
	}
	operable.Main(operable.Options{Name: "greeter", Config: &cfg}, func(ctx context.Context, s *operable.Service) error {
		s.HandleFunc("GET /greet/{name}", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s, %s\n", cfg.Greeting, r.PathValue("name"))
		})
		s.OnStop(shutdown.Hook{Name: "close db", Func: func(ctx context.Context) error { return nil }})
		return s.AddCheck(health.Check{Name: "db", Func: func(ctx context.Context) error { return nil }})
	})
}

func ExampleNew() {
	ctx := context.Background()
	s, err := operable.New(ctx, operable.Options{Name: "orders"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(operable.ExitCode(err)) // 78 for bad configuration
	}
	s.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {})
	os.Exit(operable.ExitCode(s.Run(ctx)))
}

func ExampleService_AppHandler() {
	s, err := operable.New(context.Background(), operable.Options{
		Name:    "orders",
		Stdout:  io.Discard, // the access-log line goes here
		Environ: map[string]string{},
	})
	if err != nil {
		panic(err)
	}
	defer s.Close(context.Background()) // never run: release it
	s.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "order %s\n", r.PathValue("id"))
	})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/orders/7", nil)
	req.Header.Set("X-Request-ID", "req-7")
	s.AppHandler().ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Header().Get("X-Request-ID"), " ", rec.Body.String())
	// Output: 200 req-7 order 7
}

// Close releases a service that is built but will not run, for instance
// when the service's own set-up fails after New: its telemetry is flushed
// and shut down, and a Vault token it logged in with is revoked.
func ExampleService_Close() {
	ctx := context.Background()
	s, err := operable.New(ctx, operable.Options{Name: "orders", Stdout: io.Discard, Environ: map[string]string{}})
	if err != nil {
		panic(err)
	}
	if err := s.AddCheck(health.Check{Name: ""}); err != nil { // a set-up that fails
		fmt.Println("setup failed:", err != nil, "close:", s.Close(ctx))
		return
	}
	_ = s.Run(ctx)
	// Output: setup failed: true close: <nil>
}

func ExampleEnvironments() {
	fmt.Println(operable.Environments())
	// Output: [local development staging production]
}
