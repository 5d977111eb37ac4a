package operable

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"time"

	"github.com/operable-go/operable/database"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/shutdown"
)

// databaseCloseTimeout is the "database" stop hook's budget: the pool's
// Close waits for the queries under way, which the servers' and workers'
// stop has already ended.
const databaseCloseTimeout = time.Second

// OpenDatabase opens the service's database through the first of drivers
// that takes cfg.URL (see [database.Open]; sqlite.Driver of package
// database/sqlite takes an empty URL, the embedded SQLite file under
// cfg.DataDir, and postgres.Driver of package database/postgres a
// postgres:// one; a service links only the drivers it passes) with the
// service's meter, tracer and logger, and wires it in:
//   - migrations, when not nil, is linted at once ([database.Lint]: a
//     destructive change not marked as a contract step fails setup) and
//     applied by the "migrations" start-up task ([database.DB.Migrate]),
//     after the tasks added before this call and before the service reports
//     ready; a failed migration stops the service (exit code 1), naming its
//     file;
//   - the "database" readiness check pings the pool every
//     cfg.CheckInterval in the background, within cfg.PingTimeout;
//     non-critical (a warning in /readyz?verbose) unless cfg.CheckCritical;
//   - the non-critical "database-pool" readiness check warns while callers
//     wait for a connection ([database.DB.CheckPool]);
//   - liveness never depends on the database;
//   - the "database" stop hook closes the pool after the servers and
//     workers have stopped, within 1s, before the hooks registered earlier
//     (the telemetry flush among them); a service closed unrun closes it
//     too.
//
// The returned pool is the application's for its queries. Call it in
// setup, before Run, once per service (the check names are unique).
func (s *Service) OpenDatabase(ctx context.Context, cfg database.Config, migrations fs.FS, drivers ...database.Driver) (*sql.DB, error) {
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	if state != built {
		return nil, fmt.Errorf("operable: OpenDatabase after Run or Close")
	}
	if migrations != nil {
		if err := database.Lint(migrations); err != nil {
			return nil, err
		}
	}
	db, err := database.Open(ctx, cfg, database.Options{
		Drivers:        drivers,
		MeterProvider:  s.tel.MeterProvider(),
		TracerProvider: s.tel.TracerProvider(),
		Logger:         s.logger,
	})
	if err != nil {
		return nil, err
	}
	cfg = db.Config() // defaults filled in
	fail := func(err error) (*sql.DB, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), databaseCloseTimeout)
		defer cancel()
		_ = db.Close(cctx)
		return nil, err
	}
	checks := []health.Check{
		{Name: "database", Groups: health.Readiness, ComponentType: "datastore", Func: db.Ping,
			Interval: cfg.CheckInterval, Timeout: cfg.PingTimeout + time.Second, NonCritical: !cfg.CheckCritical},
		{Name: "database-pool", Groups: health.Readiness, ComponentType: "datastore", Func: db.CheckPool,
			Interval: cfg.CheckInterval, NonCritical: true},
	}
	for _, c := range checks {
		if err := s.checks.Add(c); err != nil {
			return fail(fmt.Errorf("operable: database: %w", err))
		}
	}
	if migrations != nil {
		if err := s.AddStartupTask(StartupTask{Name: "migrations", Timeout: cfg.MigrateTimeout + time.Second,
			Func: func(ctx context.Context) error {
				if err := db.Migrate(ctx, migrations); err != nil {
					return err
				}
				// The migration held the pool's connections while the first
				// checks ran: their waits are the migration's, not a pool
				// too small for the load. The pool check starts from here.
				_ = db.CheckPool(ctx)
				return nil
			}}); err != nil {
			return fail(err)
		}
	}
	s.mu.Lock()
	s.release.push("database", db.Close)
	s.mu.Unlock()
	s.life.OnStop(shutdown.Hook{Name: "database", Timeout: databaseCloseTimeout, Func: db.Close})
	return db.SQL(), nil
}
