package bench

import (
	"context"
	"database/sql"
	"testing"

	"github.com/XSAM/otelsql"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"modernc.org/sqlite"

	"github.com/operable-go/operable/database"
	opsqlite "github.com/operable-go/operable/database/sqlite"
	"github.com/operable-go/operable/secrets"
)

// The database benchmarks run one query, a lookup by primary key in an
// in-memory SQLite database (so that the driver's own cost is small), on
// the raw driver, through package database's wrapper, and through
// XSAM/otelsql, each with a metric reader and a sampling tracer provider
// (spans recorded, then dropped), and the pool metrics registered.

const lookup = "SELECT name FROM items WHERE id = ?"

func telemetryProviders() (*sdkmetric.MeterProvider, *sdktrace.TracerProvider) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	return mp, tp
}

func seed(tb testing.TB, db *sql.DB) {
	tb.Helper()
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	for _, q := range []string{"CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)", "INSERT INTO items VALUES (42, 'spoon')"} {
		if _, err := db.Exec(q); err != nil {
			tb.Fatal(err)
		}
	}
}

func rawDB(tb testing.TB) *sql.DB {
	c, err := sqlite.NewConnector(":memory:")
	if err != nil {
		tb.Fatal(err)
	}
	db := sql.OpenDB(c)
	tb.Cleanup(func() { _ = db.Close() })
	seed(tb, db)
	return db
}

func operableDB(tb testing.TB) *sql.DB {
	mp, tp := telemetryProviders()
	tb.Cleanup(func() { _ = mp.Shutdown(context.Background()); _ = tp.Shutdown(context.Background()) })
	db, err := database.Open(context.Background(), database.Config{URL: secrets.New("sqlite::memory:")},
		database.Options{Drivers: []database.Driver{opsqlite.Driver}, MeterProvider: mp, TracerProvider: tp})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close(context.Background()) })
	seed(tb, db.SQL())
	return db.SQL()
}

func otelsqlDB(tb testing.TB) *sql.DB {
	mp, tp := telemetryProviders()
	tb.Cleanup(func() { _ = mp.Shutdown(context.Background()); _ = tp.Shutdown(context.Background()) })
	c, err := sqlite.NewConnector(":memory:")
	if err != nil {
		tb.Fatal(err)
	}
	opts := []otelsql.Option{otelsql.WithMeterProvider(mp), otelsql.WithTracerProvider(tp),
		otelsql.WithAttributes(attribute.String("db.system.name", "sqlite"))}
	db := otelsql.OpenDB(c, opts...)
	reg, err := otelsql.RegisterDBStatsMetrics(db, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = reg.Unregister(); _ = db.Close() })
	seed(tb, db)
	return db
}

func benchLookup(b *testing.B, db *sql.DB) {
	ctx := context.Background()
	var name string
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := db.QueryRowContext(ctx, lookup, 42).Scan(&name); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDatabaseQuery: one primary-key lookup on each of the three.
func BenchmarkDatabaseQuery(b *testing.B) {
	b.Run("raw", func(b *testing.B) { benchLookup(b, rawDB(b)) })
	b.Run("operable", func(b *testing.B) { benchLookup(b, operableDB(b)) })
	b.Run("otelsql", func(b *testing.B) { benchLookup(b, otelsqlDB(b)) })
}

// TestDatabaseOverhead measures the three in one run and reports what each
// wrapper adds per query over the raw driver, in time and allocations, and
// the ratio of the two wrappers' additions. The goal is at most half of
// otelsql's added time and a third of its added allocations; the
// allocations, which do not depend on the machine, are asserted.
func TestDatabaseOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("a benchmark run")
	}
	type result struct{ ns, allocs float64 }
	best := map[string]result{}
	mk := map[string]func(testing.TB) *sql.DB{"raw": rawDB, "operable": operableDB, "otelsql": otelsqlDB}
	for range 3 { // interleaved, keeping each one's fastest
		for _, name := range []string{"raw", "operable", "otelsql"} {
			r := testing.Benchmark(func(b *testing.B) { benchLookup(b, mk[name](b)) })
			cur := result{float64(r.NsPerOp()), float64(r.AllocsPerOp())}
			if prev, ok := best[name]; !ok || cur.ns < prev.ns {
				best[name] = cur
			}
		}
	}
	raw, ours, theirs := best["raw"], best["operable"], best["otelsql"]
	addNs, addAllocs := ours.ns-raw.ns, ours.allocs-raw.allocs
	theirNs, theirAllocs := theirs.ns-raw.ns, theirs.allocs-raw.allocs
	t.Logf("raw %.0f ns %.0f allocs; operable %.0f ns %.0f allocs (+%.0f ns, +%.0f); otelsql %.0f ns %.0f allocs (+%.0f ns, +%.0f)",
		raw.ns, raw.allocs, ours.ns, ours.allocs, addNs, addAllocs, theirs.ns, theirs.allocs, theirNs, theirAllocs)
	t.Logf("operable's addition / otelsql's: time %.2fx (goal ≤ 0.5x), allocations %.2fx (goal ≤ 0.33x)", addNs/theirNs, addAllocs/theirAllocs)
	if addAllocs*3 > theirAllocs {
		t.Errorf("operable adds %.0f allocations per query, more than a third of otelsql's %.0f", addAllocs, theirAllocs)
	}
}
