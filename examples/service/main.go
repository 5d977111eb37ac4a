// Command service is an example service built on operable: a greeting, an
// items API and a slow, context-aware /work route, with probes, metrics, logs
// and graceful shutdown from the SDK. Copy it to start a new service.
//
//	go run ./examples/service
//
// The app listens on :8080 (HTTP_ADDR), the admin listener on :9090
// (ADMIN_ADDR): /livez, /readyz, /startupz, /metrics, and /debug/ when
// ADMIN_TOKEN is set. With GRPC_ADDR (by convention :50051) the items are
// served over gRPC too (proto/items/v1, grpc.go). See CONTRACT.md for every
// variable.
package main

import (
	"context"
	"time"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/breaker"
	"github.com/operable-go/operable/database"
	"github.com/operable-go/operable/secrets"
)

// Config is the example's own configuration, loaded and validated together
// with the SDK's: a bad value in either stops start-up with exit code 78.
// Greeting and MaxWork follow config/ at run time (the handlers read them
// through operable.Live); the fields tagged reload:"restart" are read once,
// at start-up, and a reload that changes them says a restart is needed.
type Config struct {
	// Greeting is how GET /hello greets.
	Greeting string `env:"GREETING" envDefault:"Hello" desc:"how GET /hello greets; follows config/ at run time"`
	// MaxWork is the longest duration GET /work accepts.
	MaxWork time.Duration `env:"MAX_WORK" envDefault:"30s" desc:"the longest duration GET /work accepts; follows config/ at run time"`
	// Database is where the items are kept (DATABASE_URL, DATABASE_DIR,
	// DATABASE_MAX_OPEN_CONNS, ...): PostgreSQL for a postgres:// URL,
	// otherwise the embedded SQLite file under DATABASE_DIR (default: data).
	Database database.Config `reload:"restart"`
	// MaxItems is how many items the store holds.
	MaxItems int `env:"MAX_ITEMS" envDefault:"10000" reload:"restart" desc:"how many items the store holds"`
	// SeedItems are created by a start-up task, before the service reports
	// ready.
	SeedItems []string `env:"SEED_ITEMS" reload:"restart" desc:"item names created at start-up, before the service is ready (comma-separated)"`
	// AuditURL, when set, receives every item change, batched as a JSON
	// array in a POST.
	AuditURL string `env:"AUDIT_URL" reload:"restart" desc:"receives every item change, batched, as a JSON POST"`
	// AuditInterval is how often the batch is sent.
	AuditInterval time.Duration `env:"AUDIT_INTERVAL" envDefault:"10s" reload:"restart" desc:"how often the audit batch is sent"`
	// AuditFlushTimeout bounds the last send, at shutdown.
	AuditFlushTimeout time.Duration `env:"AUDIT_FLUSH_TIMEOUT" envDefault:"2s" reload:"restart" desc:"bounds the last audit send, at shutdown"`
	// AuditBreaker is the circuit breaker in front of the audit upstream
	// (AUDIT_BREAKER_MIN_CALLS, AUDIT_BREAKER_FAILURE_RATIO, ...).
	AuditBreaker breaker.Settings `envPrefix:"AUDIT_BREAKER_" reload:"restart"`
	// APIKey, when set, is required as "Authorization: Bearer <key>" on the
	// routes that change items. A secret: it never prints, and the logger
	// masks its value wherever it appears.
	APIKey secrets.Secret `env:"API_KEY" reload:"restart" desc:"required as a bearer token on the routes that change items"`
	// DrillPanicItem, when set, makes the gRPC GetItem of an item of this
	// name panic: a drill that shows a panic answered with INTERNAL, logged
	// with its stack and counted, while the service keeps serving.
	DrillPanicItem string `env:"DRILL_PANIC_ITEM" reload:"restart" desc:"a drill: the gRPC GetItem of an item of this name panics"`
}

func main() {
	var cfg Config
	operable.Main(operable.Options{Name: "example", Config: &cfg}, func(ctx context.Context, s *operable.Service) error {
		return routes(ctx, s, &cfg)
	})
}
