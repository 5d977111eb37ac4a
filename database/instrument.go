package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// scope is the instrumentation scope of the metrics and spans.
const scope = "github.com/operable-go/operable/database"

// maxSummaries bounds the queries whose summary is kept: past it, a new
// query is summarized at each call and recorded without db.collection.name,
// so that the metric's series stay bounded when an application builds its
// SQL at run time.
const maxSummaries = 1000

// durationBuckets are the operation histogram's boundaries, in seconds, as
// the semantic conventions advise for db.client.operation.duration.
var durationBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}

// instruments is what every wrapped connection shares: the tracer, the
// operation histogram, the slow-query logger and the cache of query
// summaries. Safe for concurrent use.
type instruments struct {
	tracer   trace.Tracer
	spans    bool
	duration metric.Float64Histogram
	create   metric.Float64Histogram
	poolOpts []metric.RecordOption
	logger   *slog.Logger
	slow     time.Duration
	base     []attribute.KeyValue // db.system.name, server.address, server.port

	summaries sync.Map // query text → *entry
	count     atomic.Int64

	// The transactions' operations, named by the SQL keyword as the
	// semantic conventions name an operation: the driver runs the
	// statement, so its text is not known and not recorded.
	txBegin, txCommit, txRollback *entry
}

// entry is a query's summary with what recording it takes, computed once:
// the attribute set of the histogram, the span's name and start options.
type entry struct {
	summary
	attrs    []attribute.KeyValue
	record   []metric.RecordOption
	spanName string
	start    []trace.SpanStartOption
}

func newInstruments(opts Options, base []attribute.KeyValue, slow time.Duration) (*instruments, error) {
	mp := opts.MeterProvider
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	tp := opts.TracerProvider
	_, noSpans := tp.(tracenoop.TracerProvider)
	if tp == nil {
		tp, noSpans = tracenoop.NewTracerProvider(), true
	}
	in := &instruments{tracer: tp.Tracer(scope), spans: !noSpans, logger: opts.Logger, slow: slow, base: base}
	m := mp.Meter(scope)
	var err error
	in.duration, err = m.Float64Histogram("db.client.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of database client operations."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, err
	}
	in.create, err = m.Float64Histogram("db.client.connection.create_time", metric.WithUnit("s"),
		metric.WithDescription("The time it took to create a new connection."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		return nil, err
	}
	in.poolOpts = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(poolName(opts)))}
	in.txBegin, in.txCommit, in.txRollback = in.txEntry("BEGIN"), in.txEntry("COMMIT"), in.txEntry("ROLLBACK")
	return in, nil
}

// txEntry is the entry of a transaction's operation op: no collection, and
// no db.query.text on its span (the driver writes the statement).
func (in *instruments) txEntry(op string) *entry {
	attrs := append(in.base[:len(in.base):len(in.base)], attribute.String("db.operation.name", op))
	return &entry{
		summary:  summary{text: op, operation: op},
		attrs:    attrs,
		record:   []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))},
		spanName: op,
		start:    []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...)},
	}
}

func poolName(opts Options) attribute.KeyValue {
	name := opts.PoolName
	if name == "" {
		name = "default"
	}
	return attribute.String("db.client.connection.pool.name", name)
}

// lookup returns query's entry, from the cache when it was seen before.
func (in *instruments) lookup(query string) *entry {
	if e, ok := in.summaries.Load(query); ok {
		return e.(*entry)
	}
	s := summarize(query)
	keep := in.count.Load() < maxSummaries
	if !keep {
		s.collection = ""
	}
	attrs := make([]attribute.KeyValue, 0, len(in.base)+2)
	attrs = append(attrs, in.base...)
	attrs = append(attrs, attribute.String("db.operation.name", s.operation))
	if s.collection != "" {
		attrs = append(attrs, attribute.String("db.collection.name", s.collection))
	}
	name := s.operation
	if s.collection != "" {
		name += " " + s.collection
	}
	spanAttrs := append(attrs[:len(attrs):len(attrs)], attribute.String("db.query.text", s.text))
	e := &entry{
		summary:  s,
		attrs:    attrs,
		record:   []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))},
		spanName: name,
		start:    []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(spanAttrs...)},
	}
	if keep {
		if prev, loaded := in.summaries.LoadOrStore(query, e); loaded {
			return prev.(*entry)
		}
		in.count.Add(1)
	}
	return e
}

// call is one instrumented operation, begun by begin and ended by end.
type call struct {
	ctx   context.Context
	span  trace.Span
	begin time.Time
}

func (in *instruments) begin(ctx context.Context, e *entry) call {
	c := call{ctx: ctx}
	if in.spans {
		c.ctx, c.span = in.tracer.Start(ctx, e.spanName, e.start...)
	}
	c.begin = time.Now()
	return c
}

func (in *instruments) end(c call, e *entry, err error) {
	d := time.Since(c.begin)
	if errors.Is(err, driver.ErrSkip) { // database/sql falls back to another path, which records
		if c.span != nil {
			c.span.End()
		}
		return
	}
	var kind string
	if err != nil {
		var code string
		kind, code = classifyError(err)
		attrs := make([]attribute.KeyValue, 0, len(e.attrs)+2)
		attrs = append(attrs, e.attrs...)
		attrs = append(attrs, attribute.String("error.type", kind))
		if code != "" {
			attrs = append(attrs, attribute.String("db.response.status_code", code))
		}
		in.duration.Record(c.ctx, d.Seconds(), metric.WithAttributes(attrs...))
		if c.span != nil {
			c.span.SetAttributes(attrs[len(e.attrs):]...)
			c.span.SetStatus(codes.Error, kind) // never err.Error(): a driver's message may quote a value
		}
	} else {
		in.duration.Record(c.ctx, d.Seconds(), e.record...)
	}
	if c.span != nil {
		c.span.End()
	}
	if in.slow > 0 && d >= in.slow && in.logger != nil {
		attrs := []slog.Attr{
			slog.String("db.operation.name", e.operation),
			slog.String("db.query.text", e.text),
			slog.Float64("duration", d.Seconds()),
		}
		if e.collection != "" {
			attrs = append(attrs, slog.String("db.collection.name", e.collection))
		}
		if kind != "" {
			attrs = append(attrs, slog.String("error.type", kind))
		}
		in.logger.LogAttrs(c.ctx, slog.LevelWarn, "slow query", attrs...)
	}
}

// classifyError names err's kind for error.type, with a bounded set of
// values, and the database's status code when it gives one (PostgreSQL's
// SQLSTATE, SQLite's result code). It never reads err's message.
func classifyError(err error) (kind, code string) {
	var pg interface{ SQLState() string }
	var lite interface{ Code() int }
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "context.DeadlineExceeded", ""
	case errors.Is(err, context.Canceled):
		return "context.Canceled", ""
	case errors.Is(err, driver.ErrBadConn):
		return "driver.ErrBadConn", ""
	case errors.As(err, &pg):
		c := pg.SQLState()
		return c, c
	case errors.As(err, &lite):
		c := strconv.Itoa(lite.Code())
		return c, c
	}
	return "_OTHER", ""
}

// connector wraps the driver's connector so that each connection it makes
// is instrumented and its creation timed.
type connector struct {
	base driver.Connector
	in   *instruments
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	begin := time.Now()
	dc, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	c.in.create.Record(ctx, time.Since(begin).Seconds(), c.in.poolOpts...)
	return &conn{Conn: dc, in: c.in}, nil
}

func (c *connector) Driver() driver.Driver { return c.base.Driver() }

// conn instruments a driver connection: every query run through
// ExecContext, QueryContext or a prepared statement, and each
// transaction's BEGIN and its COMMIT or ROLLBACK, is timed, counted and
// traced.
type conn struct {
	driver.Conn
	in *instruments
}

var (
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
)

// Unwrap returns the driver's own connection, for sql.Conn.Raw users who
// need it (pgx's *stdlib.Conn, say).
func (c *conn) Unwrap() driver.Conn { return c.Conn }

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ex, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	e := c.in.lookup(query)
	k := c.in.begin(ctx, e)
	res, err := ex.ExecContext(k.ctx, query, args)
	c.in.end(k, e, err)
	return res, err
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	e := c.in.lookup(query)
	k := c.in.begin(ctx, e)
	rows, err := q.QueryContext(k.ctx, query, args)
	c.in.end(k, e, err)
	return rows, err
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var st driver.Stmt
	var err error
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &stmt{Stmt: st, conn: c, e: c.in.lookup(query), in: c.in}, nil
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	k := c.in.begin(ctx, c.in.txBegin)
	var t driver.Tx
	var err error
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		t, err = b.BeginTx(k.ctx, opts)
	} else {
		//lint:ignore SA1019 the fallback database/sql itself uses for such a driver
		t, err = c.Conn.Begin()
	}
	c.in.end(k, c.in.txBegin, err)
	if err != nil {
		return nil, err
	}
	return &tx{Tx: t, ctx: ctx, in: c.in}, nil
}

// tx times a transaction's end, COMMIT or ROLLBACK.
type tx struct {
	driver.Tx
	// ctx is BeginTx's: driver.Tx's methods take none, and the end's span
	// belongs to the caller that began the transaction.
	ctx context.Context
	in  *instruments
}

func (t *tx) Commit() error { return t.finish(t.in.txCommit, t.Tx.Commit) }

func (t *tx) Rollback() error { return t.finish(t.in.txRollback, t.Tx.Rollback) }

func (t *tx) finish(e *entry, f func() error) error {
	k := t.in.begin(t.ctx, e)
	err := f()
	t.in.end(k, e, err)
	return err
}

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip // database/sql's default conversion
}

// stmt instruments a prepared statement's executions.
type stmt struct {
	driver.Stmt
	conn *conn
	e    *entry
	in   *instruments
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	k := s.in.begin(ctx, s.e)
	var res driver.Result
	var err error
	if ex, ok := s.Stmt.(driver.StmtExecContext); ok {
		res, err = ex.ExecContext(k.ctx, args)
	} else {
		var vals []driver.Value
		if vals, err = values(args); err == nil {
			//lint:ignore SA1019 the fallback database/sql itself uses for such a driver
			res, err = s.Stmt.Exec(vals)
		}
	}
	s.in.end(k, s.e, err)
	return res, err
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	k := s.in.begin(ctx, s.e)
	var rows driver.Rows
	var err error
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		rows, err = q.QueryContext(k.ctx, args)
	} else {
		var vals []driver.Value
		if vals, err = values(args); err == nil {
			//lint:ignore SA1019 the fallback database/sql itself uses for such a driver
			rows, err = s.Stmt.Query(vals)
		}
	}
	s.in.end(k, s.e, err)
	return rows, err
}

// CheckNamedValue is the statement's checker, else the connection's:
// database/sql asks the statement first and, on ErrSkip, goes straight to
// its default conversion, which would refuse the types pgx takes.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return s.conn.CheckNamedValue(nv)
}

var errNamedArgs = errors.New("database: the driver does not take named parameters")

func values(args []driver.NamedValue) ([]driver.Value, error) {
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errNamedArgs
		}
		vals[i] = a.Value
	}
	return vals, nil
}
