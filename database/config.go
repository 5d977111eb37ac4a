package database

import (
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/operable-go/operable/secrets"
)

// Config is the database's configuration, meant to be a field of the
// service's own configuration struct, loaded from DATABASE_* variables and
// config files. A zero Config is the embedded default: a SQLite file under
// ./data, with the pool settings below. Every zero field means its default.
type Config struct {
	// URL says which database to open, and is a secret (never printed;
	// vault: and file: references work):
	//   - empty: the embedded SQLite database, the file database.sqlite
	//     under DataDir;
	//   - "postgres://user:pass@host:5432/db?sslmode=…" or "postgresql://…":
	//     PostgreSQL, through pgx (any pgx connection string of URL form);
	//   - "sqlite:PATH" (or "sqlite://PATH"): the SQLite file PATH;
	//     "sqlite::memory:", an in-memory database private to the pool,
	//     which then holds a single connection.
	// Default: empty.
	URL secrets.Secret `env:"DATABASE_URL" desc:"the database: postgres://… for PostgreSQL, sqlite:PATH, or empty for the embedded SQLite file under DATABASE_DIR"`
	// DataDir holds the embedded SQLite file when URL is empty; it is made
	// when missing. Default: "data", relative to the working directory (no
	// envDefault tag, so that a service can tell "not set" apart).
	DataDir string `env:"DATABASE_DIR" desc:"the directory of the embedded SQLite file, when DATABASE_URL is empty (default: data)"`
	// MaxOpenConns bounds the connections open at once, in use or idle.
	// Negative: no bound. Default: 10.
	MaxOpenConns int `env:"DATABASE_MAX_OPEN_CONNS" envDefault:"10" desc:"the most connections open at once (negative: no bound)"`
	// MaxIdleConns bounds the idle connections kept for reuse; never more
	// than MaxOpenConns. Negative: none kept. Default: 5.
	MaxIdleConns int `env:"DATABASE_MAX_IDLE_CONNS" envDefault:"5" desc:"the most idle connections kept (negative: none)"`
	// ConnMaxLifetime closes a connection this long after it was opened, so
	// that connections follow a database fail-over or a credential
	// rotation. Negative: never. Default: 30m.
	ConnMaxLifetime time.Duration `env:"DATABASE_CONN_MAX_LIFETIME" envDefault:"30m" desc:"a connection's longest life (negative: unbounded)"`
	// ConnMaxIdleTime closes a connection idle for this long. Negative:
	// never. Default: 5m.
	ConnMaxIdleTime time.Duration `env:"DATABASE_CONN_MAX_IDLE_TIME" envDefault:"5m" desc:"how long an idle connection is kept (negative: unbounded)"`
	// SlowQuery is the duration above which a query is logged (one warn
	// line, with the sanitized query text and never a parameter).
	// Negative: no slow-query log. Default: 500ms.
	SlowQuery time.Duration `env:"DATABASE_SLOW_QUERY" envDefault:"500ms" desc:"queries slower than this are logged, sanitized (negative: never)"`
	// PingTimeout bounds the ping of Open and of each health check.
	// Default: 2s.
	PingTimeout time.Duration `env:"DATABASE_PING_TIMEOUT" envDefault:"2s" desc:"bounds the ping at open and in the health check"`
	// CheckInterval is how often the root's database checks run in the
	// background. Default: 10s.
	CheckInterval time.Duration `env:"DATABASE_CHECK_INTERVAL" envDefault:"10s" desc:"how often the database health checks run"`
	// CheckCritical makes the root's "database" readiness check critical: a
	// failed ping then takes the replica out of the load balancer. Default:
	// false (a failed ping is a warning), because a database outage would
	// take every replica out at once, routes that do not need it included.
	CheckCritical bool `env:"DATABASE_CHECK_CRITICAL" desc:"a failed database ping fails readiness instead of warning"`
	// MigrateTimeout bounds the migrations, waiting for another replica's
	// lock included. Default: 5m.
	MigrateTimeout time.Duration `env:"DATABASE_MIGRATE_TIMEOUT" envDefault:"5m" desc:"bounds the start-up migrations, waiting for the lock included"`
}

// Defaults of [Config]'s fields.
const (
	DefaultDataDir         = "data"
	DefaultMaxOpenConns    = 10
	DefaultMaxIdleConns    = 5
	DefaultConnMaxLifetime = 30 * time.Minute
	DefaultConnMaxIdleTime = 5 * time.Minute
	DefaultSlowQuery       = 500 * time.Millisecond
	DefaultPingTimeout     = 2 * time.Second
	DefaultCheckInterval   = 10 * time.Second
	DefaultMigrateTimeout  = 5 * time.Minute
)

// SQLiteFile is the name of the embedded database's file under
// Config.DataDir.
const SQLiteFile = "database.sqlite"

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	setInt := func(v *int, d int) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0 // database/sql's "no bound" for open, "none" for idle
		}
	}
	setInt(&c.MaxOpenConns, DefaultMaxOpenConns)
	if c.MaxIdleConns == 0 {
		c.MaxIdleConns = DefaultMaxIdleConns
	}
	if c.MaxOpenConns > 0 && c.MaxIdleConns > c.MaxOpenConns {
		c.MaxIdleConns = c.MaxOpenConns
	}
	setDur := func(v *time.Duration, d time.Duration) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0 // database/sql's "never"
		}
	}
	setDur(&c.ConnMaxLifetime, DefaultConnMaxLifetime)
	setDur(&c.ConnMaxIdleTime, DefaultConnMaxIdleTime)
	if c.SlowQuery == 0 {
		c.SlowQuery = DefaultSlowQuery
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = DefaultPingTimeout
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = DefaultCheckInterval
	}
	if c.MigrateTimeout <= 0 {
		c.MigrateTimeout = DefaultMigrateTimeout
	}
	return c
}

// Options are the drivers [Open] may use and what it instruments the pool
// with. Drivers is required; with only it set, nothing is recorded or
// logged.
type Options struct {
	// Drivers open the databases the service may use, asked in turn for
	// Config.URL: sqlite.Driver (package database/sqlite, which also takes
	// an empty URL) and postgres.Driver (package database/postgres). Only
	// the drivers a service passes are linked into it. Required.
	Drivers []Driver
	// MeterProvider records the pool and operation metrics. Default: nil,
	// no metrics.
	MeterProvider metric.MeterProvider
	// TracerProvider makes a client span per query. Default: nil, no
	// spans.
	TracerProvider trace.TracerProvider
	// Logger receives the slow-query lines and the migrations' lines; give
	// the service's, which redacts. Default: nil, no log.
	Logger *slog.Logger
	// PoolName is the pool metrics' db.client.connection.pool.name, to tell
	// two pools of one service apart. Default: "default".
	PoolName string
}
