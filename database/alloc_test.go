package database_test

import (
	"context"
	"database/sql"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	modernc "modernc.org/sqlite"

	"github.com/operable-go/operable/database"
	"github.com/operable-go/operable/secrets"
)

// lookupAllocs counts the allocations of one primary-key lookup on db.
func lookupAllocs(t *testing.T, db *sql.DB) float64 {
	t.Helper()
	for _, q := range []string{"CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)", "INSERT OR IGNORE INTO items VALUES (42, 'spoon')"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	var name string
	return testing.AllocsPerRun(200, func() {
		if err := db.QueryRowContext(ctx, "SELECT name FROM items WHERE id = ?", 42).Scan(&name); err != nil {
			t.Fatal(err)
		}
	})
}

// TestQueryAllocationBudget: the wrapper adds no allocation per query over
// the raw driver with metrics on, and at most 4 with sampled spans too
// (the span SDK's own: the span, its context, its attributes). bench/database_test.go
// compares it with otelsql.
func TestQueryAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c, err := modernc.NewConnector(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	raw := sql.OpenDB(c)
	raw.SetMaxOpenConns(1)
	defer raw.Close()
	// As in TestTransactionAllocationBudget: the higher raw figure of two
	// runs, the lower of ours.
	base := max(lookupAllocs(t, raw), lookupAllocs(t, raw))
	for _, tc := range []struct {
		name   string
		spans  bool
		budget float64
	}{{"metrics", false, 0}, {"metrics and spans", true, 4}} {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		opts := database.Options{Drivers: drivers, MeterProvider: mp}
		if tc.spans {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
			defer tp.Shutdown(context.Background())
			opts.TracerProvider = tp
		}
		db, err := database.Open(context.Background(), database.Config{URL: secrets.New("sqlite::memory:")}, opts)
		if err != nil {
			t.Fatal(err)
		}
		added := min(lookupAllocs(t, db.SQL()), lookupAllocs(t, db.SQL())) - base
		t.Logf("with %s: %v allocations added over the raw driver's %v", tc.name, added, base)
		if added > tc.budget {
			t.Errorf("with %s the wrapper adds %v allocations per query, budget %v", tc.name, added, tc.budget)
		}
		_ = db.Close(context.Background())
		_ = mp.Shutdown(context.Background())
	}
}

// txAllocs counts the allocations of one transaction on db: BEGIN, an
// UPDATE, COMMIT.
func txAllocs(t *testing.T, db *sql.DB) float64 {
	t.Helper()
	for _, q := range []string{"CREATE TABLE IF NOT EXISTS counters (id INTEGER PRIMARY KEY, n INTEGER)", "INSERT OR IGNORE INTO counters VALUES (1, 0)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	return testing.AllocsPerRun(200, func() {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE counters SET n = n + 1 WHERE id = ?", 1); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	})
}

// txNoise is the slack of the transaction budgets: a transaction's count
// moves by one between test processes, the raw driver's (15 or 16) and
// ours with spans (28 or 29) independently, so their difference does too.
const txNoise = 1

// TestTransactionAllocationBudget: timing BEGIN and COMMIT adds one
// allocation per transaction over the raw driver with metrics on (the
// wrapper of the driver's transaction), and with sampled spans at most 4
// more per span (three spans: BEGIN, the UPDATE, COMMIT).
func TestTransactionAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	// The DSN database/sqlite uses for :memory:, so that both run the same BEGIN.
	c, err := modernc.NewConnector(":memory:?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	raw := sql.OpenDB(c)
	raw.SetMaxOpenConns(1)
	defer raw.Close()
	// The drivers' own count moves by one between runs (15 or 16 seen):
	// the raw figure is the higher of two runs, ours the lower, so that
	// the difference is the wrapper's, not that noise.
	base := max(txAllocs(t, raw), txAllocs(t, raw))
	for _, tc := range []struct {
		name   string
		spans  bool
		budget float64
	}{{"metrics", false, 1}, {"metrics and spans", true, 1 + 3*4}} {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		opts := database.Options{Drivers: drivers, MeterProvider: mp}
		if tc.spans {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
			defer tp.Shutdown(context.Background())
			opts.TracerProvider = tp
		}
		db, err := database.Open(context.Background(), database.Config{URL: secrets.New("sqlite::memory:")}, opts)
		if err != nil {
			t.Fatal(err)
		}
		added := min(txAllocs(t, db.SQL()), txAllocs(t, db.SQL())) - base
		t.Logf("with %s: %v allocations added per transaction over the raw driver's %v", tc.name, added, base)
		if added > tc.budget+txNoise {
			t.Errorf("with %s the wrapper adds %v allocations per transaction, budget %v", tc.name, added, tc.budget+txNoise)
		}
		_ = db.Close(context.Background())
		_ = mp.Shutdown(context.Background())
	}
}
