package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

// The systems Open speaks to, as db.system.name says them.
const (
	PostgreSQL = "postgresql"
	SQLite     = "sqlite"
)

// Errors of Open. They never quote the URL.
var (
	// ErrURL is returned for a DATABASE_URL that none of the drivers
	// takes, or that does not parse.
	ErrURL = errors.New("database: DATABASE_URL is of no driver given (postgres://, postgresql://, sqlite:)")
	// ErrNoDriver is returned by Open when Options.Drivers is empty.
	ErrNoDriver = errors.New("database: no driver: pass sqlite.Driver, postgres.Driver or both in Options.Drivers")
	// ErrPoolSaturated is the pool check's error when callers had to wait
	// for a connection since the check's last run.
	ErrPoolSaturated = errors.New("database: pool saturated")
	// ErrClosed is returned by Migrate after Close.
	ErrClosed = errors.New("database: closed")
)

// DB is an open, instrumented pool: its *sql.DB (SQL) is what the
// application queries through. Safe for concurrent use. The zero value is
// not usable; make one with [Open].
type DB struct {
	db      *sql.DB
	system  string
	cfg     Config
	in      *instruments
	reg     metric.Registration
	file    string // the SQLite file, "" for PostgreSQL and memory
	migrate migrateLock

	mu     sync.Mutex
	last   sql.DBStats // at the pool check's previous run
	closed bool

	closeOnce sync.Once
	closeDone chan struct{}
	closeErr  error
}

// Open opens the database cfg.URL names through the first of opts.Drivers
// that takes it (package database/sqlite's takes an empty URL: the
// embedded SQLite file), sets the pool's limits, instruments it with opts and pings it
// within cfg.PingTimeout and ctx: a database that cannot be reached fails
// Open. Every query through DB.SQL is then timed in
// db.client.operation.duration (by db.system.name, db.operation.name and
// db.collection.name, never the query text), traced in a client span named
// "OPERATION TABLE" with the sanitized text in db.query.text (literals
// replaced by "?", parameters never included), and logged as "slow query"
// above cfg.SlowQuery. The pool is observed as db.client.connection.count
// (by db.client.connection.state, idle or used), .max, .idle.max, .waits
// and .wait.duration (database/sql counts the waits and their total time,
// not each one; there is no pending-request or timeout count to read), and
// .closed (by db.client.connection.close.reason); .create_time is timed at
// each new connection.
func Open(ctx context.Context, cfg Config, opts Options) (*DB, error) {
	cfg = cfg.withDefaults()
	d := &DB{cfg: cfg, closeDone: make(chan struct{})}
	base, attrs, single, err := d.connector(cfg, opts.Drivers)
	if err != nil {
		return nil, err
	}
	d.in, err = newInstruments(opts, attrs, cfg.SlowQuery)
	if err != nil {
		return nil, fmt.Errorf("database: instruments: %w", err)
	}
	d.db = sql.OpenDB(&connector{base: base, in: d.in})
	d.db.SetMaxOpenConns(cfg.MaxOpenConns)
	d.db.SetMaxIdleConns(cfg.MaxIdleConns)
	d.db.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	d.db.SetConnMaxIdleTime(cfg.ConnMaxIdleTime)
	if single { // the database lives in its one connection: never closed
		d.db.SetMaxOpenConns(1)
		d.db.SetMaxIdleConns(1)
		d.db.SetConnMaxLifetime(0)
		d.db.SetConnMaxIdleTime(0)
		d.cfg.MaxOpenConns, d.cfg.MaxIdleConns = 1, 1
	}
	if err := d.observePool(opts); err != nil {
		_ = d.db.Close()
		return nil, fmt.Errorf("database: pool metrics: %w", err)
	}
	if err := d.Ping(ctx); err != nil {
		_ = d.Close(ctx)
		return nil, err
	}
	return d, nil
}

// connector asks opts.Drivers, in turn, for cfg.URL's connector.
func (d *DB) connector(cfg Config, drivers []Driver) (driver.Connector, []attribute.KeyValue, bool, error) {
	url := cfg.URL.Reveal()
	for _, drv := range drivers {
		t, ok, err := drv(url, cfg)
		if err != nil {
			return nil, nil, false, err
		}
		if !ok {
			continue
		}
		if t.Connector == nil || t.System == "" {
			return nil, nil, false, errors.New("database: a driver answered without a connector or a system")
		}
		d.system, d.file = t.System, t.LockFile
		attrs := append([]attribute.KeyValue{attribute.String("db.system.name", t.System)}, t.Attributes...)
		return t.Connector, attrs, t.Single, nil
	}
	if len(drivers) == 0 {
		return nil, nil, false, ErrNoDriver
	}
	scheme := ""
	if i := strings.Index(url, ":"); i > 0 && i < 16 && !strings.ContainsAny(url[:i], "@/") {
		scheme = url[:i]
	}
	if scheme != "" {
		return nil, nil, false, fmt.Errorf("%w (scheme %q)", ErrURL, scheme)
	}
	return nil, nil, false, ErrURL
}

// observePool registers the pool's asynchronous instruments, read from
// sql.DBStats at each collection.
func (d *DB) observePool(opts Options) error {
	mp := opts.MeterProvider
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	m := mp.Meter(scope)
	count, err := m.Int64ObservableUpDownCounter("db.client.connection.count", metric.WithUnit("{connection}"),
		metric.WithDescription("The number of connections that are currently in the state described by the state attribute."))
	if err != nil {
		return err
	}
	maxOpen, err := m.Int64ObservableUpDownCounter("db.client.connection.max", metric.WithUnit("{connection}"),
		metric.WithDescription("The maximum number of open connections allowed (0: no bound)."))
	if err != nil {
		return err
	}
	idleMax, err := m.Int64ObservableUpDownCounter("db.client.connection.idle.max", metric.WithUnit("{connection}"),
		metric.WithDescription("The maximum number of idle open connections allowed."))
	if err != nil {
		return err
	}
	waits, err := m.Int64ObservableCounter("db.client.connection.waits", metric.WithUnit("{wait}"),
		metric.WithDescription("The number of times a caller waited for a connection, all connections being in use."))
	if err != nil {
		return err
	}
	waited, err := m.Float64ObservableCounter("db.client.connection.wait.duration", metric.WithUnit("s"),
		metric.WithDescription("The total time callers waited for a connection."))
	if err != nil {
		return err
	}
	closed, err := m.Int64ObservableCounter("db.client.connection.closed", metric.WithUnit("{connection}"),
		metric.WithDescription("The connections closed by the pool's limits, by reason."))
	if err != nil {
		return err
	}
	pool := poolName(opts)
	set := func(kv ...attribute.KeyValue) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(append([]attribute.KeyValue{pool}, kv...)...))
	}
	var (
		poolOnly  = set()
		idle      = set(attribute.String("db.client.connection.state", "idle"))
		used      = set(attribute.String("db.client.connection.state", "used"))
		byIdle    = set(attribute.String("db.client.connection.close.reason", "max_idle"))
		byIdleT   = set(attribute.String("db.client.connection.close.reason", "max_idle_time"))
		byLife    = set(attribute.String("db.client.connection.close.reason", "max_lifetime"))
		idleLimit = int64(max(d.cfg.MaxIdleConns, 0))
	)
	if d.cfg.MaxOpenConns > 0 {
		idleLimit = min(idleLimit, int64(d.cfg.MaxOpenConns))
	}
	d.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := d.db.Stats()
		o.ObserveInt64(count, int64(st.Idle), idle)
		o.ObserveInt64(count, int64(st.InUse), used)
		o.ObserveInt64(maxOpen, int64(st.MaxOpenConnections), poolOnly)
		o.ObserveInt64(idleMax, idleLimit, poolOnly)
		o.ObserveInt64(waits, st.WaitCount, poolOnly)
		o.ObserveFloat64(waited, st.WaitDuration.Seconds(), poolOnly)
		o.ObserveInt64(closed, st.MaxIdleClosed, byIdle)
		o.ObserveInt64(closed, st.MaxIdleTimeClosed, byIdleT)
		o.ObserveInt64(closed, st.MaxLifetimeClosed, byLife)
		return nil
	}, count, maxOpen, idleMax, waits, waited, closed)
	return err
}

// SQL returns the pool, for the application's queries.
func (d *DB) SQL() *sql.DB { return d.db }

// System returns the database's db.system.name: [PostgreSQL] or [SQLite].
func (d *DB) System() string { return d.system }

// Config returns the configuration the pool was opened with, defaults
// filled in.
func (d *DB) Config() Config { return d.cfg }

// Ping checks the database through the pool within Config.PingTimeout
// (and ctx): it reuses an idle connection when there is one. It is the
// root's "database" check.
func (d *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.PingTimeout)
	defer cancel()
	if err := d.db.PingContext(ctx); err != nil {
		return fmt.Errorf("database: ping %s: %w", d.system, err)
	}
	return nil
}

// CheckPool reports [ErrPoolSaturated] when callers had to wait for a
// connection since its previous call (every connection was in use), with
// how many waited and for how long in all: the root's non-critical
// "database-pool" check, whose warning says the pool is too small for the
// load or that connections are held too long. Its first call compares with
// the pool's opening.
func (d *DB) CheckPool(context.Context) error {
	st := d.db.Stats()
	d.mu.Lock()
	prev := d.last
	d.last = st
	d.mu.Unlock()
	waits := st.WaitCount - prev.WaitCount
	if waits <= 0 {
		return nil
	}
	waited := (st.WaitDuration - prev.WaitDuration).Round(time.Millisecond)
	limit := "no bound"
	if st.MaxOpenConnections > 0 {
		limit = strconv.Itoa(st.MaxOpenConnections)
	}
	return fmt.Errorf("%w: %d waits for a connection (%s in all) since the last check; %d in use, limit %s",
		ErrPoolSaturated, waits, waited, st.InUse, limit)
}

// Close stops the pool metrics and closes the pool, waiting within ctx for
// the queries under way to end (database/sql's Close waits for them; past
// ctx, it is left to finish on its own and ctx's error returned). Closing
// twice returns the first close's error.
func (d *DB) Close(ctx context.Context) error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		go func() {
			defer close(d.closeDone)
			var errs []error
			if d.reg != nil {
				errs = append(errs, d.reg.Unregister())
			}
			errs = append(errs, d.db.Close())
			if err := errors.Join(errs...); err != nil {
				d.closeErr = fmt.Errorf("database: close: %w", err)
			}
		}()
	})
	select {
	case <-d.closeDone:
		return d.closeErr
	case <-ctx.Done():
		return fmt.Errorf("database: close: %w", ctx.Err())
	}
}
