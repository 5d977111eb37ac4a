package database_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	modernc "modernc.org/sqlite"

	"github.com/operable-go/operable/database"
	"github.com/operable-go/operable/database/postgres"
	"github.com/operable-go/operable/database/sqlite"
	"github.com/operable-go/operable/internal/syncbuf"
	"github.com/operable-go/operable/internal/testserver"
	"github.com/operable-go/operable/secrets"
	"github.com/operable-go/operable/telemetry"
	"github.com/operable-go/operable/telemetry/telemetrytest"
)

// drivers are both of the SDK's.
var drivers = []database.Driver{sqlite.Driver, postgres.Driver}

func TestMain(m *testing.M) {
	// test_sleep(ms) makes a SQLite query slow on purpose, as pg_sleep
	// does a PostgreSQL one.
	modernc.MustRegisterScalarFunction("test_sleep", 1, func(_ *modernc.FunctionContext, args []driver.Value) (driver.Value, error) {
		ms, _ := args[0].(int64)
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return ms, nil
	})
	goleak.VerifyTestMain(m)
}

// backend is one database the tests run against: a SQLite file, or a
// throwaway PostgreSQL cluster (POSTGRES_BIN_DIR, from scripts/postgres.sh).
type backend struct {
	name string
	url  string
	pg   *testserver.Postgres // nil for SQLite
}

// eachBackend runs f on a fresh SQLite file and on a fresh PostgreSQL
// database, each in a subtest.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	t.Run("sqlite", func(t *testing.T) {
		f(t, backend{name: "sqlite", url: "sqlite:" + filepath.Join(t.TempDir(), "test.sqlite")})
	})
	t.Run("postgres", func(t *testing.T) {
		pg := testserver.StartPostgres(t, testserver.Tool(t, "POSTGRES_BIN_DIR"))
		f(t, backend{name: "postgres", url: pg.NewDatabase(t), pg: pg})
	})
}

// open opens b with an observer and a logger into out, closed at the end.
func open(t *testing.T, b backend, cfg database.Config, out *syncbuf.Buffer) (*database.DB, *telemetrytest.Observer) {
	t.Helper()
	tel, obs := telemetrytest.New(t, telemetry.Options{})
	cfg.URL = secrets.New(b.url)
	opts := database.Options{Drivers: drivers, MeterProvider: tel.MeterProvider(), TracerProvider: tel.TracerProvider()}
	if out != nil {
		opts.Logger = slog.New(slog.NewJSONHandler(out, nil))
	}
	db, err := database.Open(context.Background(), cfg, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db, obs
}

func migrations(t *testing.T) fs.FS {
	t.Helper()
	sub, err := fs.Sub(embedded, "testdata/migrations")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// value is the sum of the points of name whose attributes include want.
func value(t *testing.T, obs *telemetrytest.Observer, name string, want map[string]string) (float64, bool) {
	t.Helper()
	sum, found := 0.0, false
	for _, p := range obs.Points(t, name) {
		ok := true
		for k, v := range want {
			if p.Attrs[k] != v {
				ok = false
			}
		}
		if ok {
			sum += p.Value
			found = true
		}
	}
	return sum, found
}

// TestPoolMetricsFollowConnections: db.client.connection.count by state
// moves as connections are taken from the pool and given back, and the
// limits are observed as configured.
func TestPoolMetricsFollowConnections(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db, obs := open(t, b, database.Config{MaxOpenConns: 4, MaxIdleConns: 3}, nil)
		ctx := context.Background()
		used := func() float64 {
			v, _ := value(t, obs, "db.client.connection.count", map[string]string{"db.client.connection.state": "used", "db.client.connection.pool.name": "default"})
			return v
		}
		idle := func() float64 {
			v, _ := value(t, obs, "db.client.connection.count", map[string]string{"db.client.connection.state": "idle"})
			return v
		}
		if u := used(); u != 0 {
			t.Errorf("used after open = %v, want 0", u)
		}
		c1, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u, i := used(), idle(); u != 2 || i != 0 {
			t.Errorf("with two connections taken: used %v idle %v, want 2 and 0", u, i)
		}
		_ = c1.Close()
		if u, i := used(), idle(); u != 1 || i != 1 {
			t.Errorf("after one is given back: used %v idle %v, want 1 and 1", u, i)
		}
		_ = c2.Close()
		if u, i := used(), idle(); u != 0 || i != 2 {
			t.Errorf("after both are given back: used %v idle %v, want 0 and 2", u, i)
		}
		if v, _ := value(t, obs, "db.client.connection.max", nil); v != 4 {
			t.Errorf("db.client.connection.max = %v, want 4", v)
		}
		if v, _ := value(t, obs, "db.client.connection.idle.max", nil); v != 3 {
			t.Errorf("db.client.connection.idle.max = %v, want 3", v)
		}
		if v, ok := value(t, obs, "db.client.connection.create_time", nil); !ok || v < 2 {
			t.Errorf("db.client.connection.create_time counts %v connections, want at least 2", v)
		}
	})
}

// TestOperationHistogramCountsQueries: a known number of queries of each
// kind is counted under its operation and table, with the system; no
// attribute carries the query's text, and spans carry it sanitized, with
// neither literals nor parameters.
func TestOperationHistogramCountsQueries(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db, obs := open(t, b, database.Config{}, nil)
		ctx := context.Background()
		if err := db.Migrate(ctx, migrations(t)); err != nil {
			t.Fatal(err)
		}
		insert := "INSERT INTO items (id, name, owner) VALUES (?, ?, ?)"
		sel := "SELECT name FROM items WHERE owner = ? AND name <> 'literal-secret'"
		if b.pg != nil {
			insert = "INSERT INTO items (id, name, owner) VALUES ($1, $2, $3)"
			sel = "SELECT name FROM items WHERE owner = $1 AND name <> 'literal-secret'"
		}
		for i := range 7 {
			if _, err := db.SQL().ExecContext(ctx, insert, i+1, fmt.Sprintf("item-%d", i), "param-secret"); err != nil {
				t.Fatal(err)
			}
		}
		stmt, err := db.SQL().PrepareContext(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			rows, err := stmt.QueryContext(ctx, "param-secret")
			if err != nil {
				t.Fatal(err)
			}
			_ = rows.Close()
		}
		_ = stmt.Close()
		system := map[string]string{"sqlite": "sqlite", "postgres": "postgresql"}[b.name]
		for _, c := range []struct {
			op   string
			want float64
		}{{"INSERT", 7}, {"SELECT", 5}} {
			got, _ := value(t, obs, "db.client.operation.duration", map[string]string{
				"db.system.name": system, "db.operation.name": c.op, "db.collection.name": "items"})
			if got != c.want {
				t.Errorf("%s items counted %v times, want %v", c.op, got, c.want)
			}
		}
		for _, p := range obs.Points(t, "db.client.operation.duration") {
			for k, v := range p.Attrs {
				if strings.Contains(v, " ") || strings.Contains(v, "secret") {
					t.Errorf("operation attribute %s=%q looks like query text", k, v)
				}
			}
		}
		var texts []string
		for _, s := range obs.Spans() {
			for _, a := range s.Attributes() {
				if a.Key == "db.query.text" {
					texts = append(texts, a.Value.AsString())
				}
				if strings.Contains(a.Value.String(), "secret") || strings.Contains(a.Value.String(), "item-") {
					t.Errorf("span %q attribute %s=%q carries a literal or a parameter", s.Name(), a.Key, a.Value.String())
				}
			}
		}
		wantText := strings.Replace(sel, "'literal-secret'", "?", 1)
		if !contains(texts, wantText) {
			t.Errorf("no span has db.query.text %q; got %q", wantText, texts)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestSlowQueryLogsOnceWithoutParameters: a query slower than SlowQuery is
// logged once, with its sanitized text and never its parameter's value; a
// fast one is not logged.
func TestSlowQueryLogsOnceWithoutParameters(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var out syncbuf.Buffer
		db, _ := open(t, b, database.Config{SlowQuery: 100 * time.Millisecond}, &out)
		ctx := context.Background()
		slow := "SELECT test_sleep(300), ?"
		if b.pg != nil {
			slow = "SELECT (SELECT count(*) FROM pg_sleep(0.3)), $1::text"
		}
		var n int64
		var echoed string
		begin := time.Now()
		if err := db.SQL().QueryRowContext(ctx, slow, "param-value-42").Scan(&n, &echoed); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(begin); d < 100*time.Millisecond {
			t.Skipf("the slow query took only %s here", d)
		}
		if err := db.SQL().QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var slowLines []string
		for _, l := range lines {
			// Only the slow statement's lines: on a loaded machine even
			// SELECT 1 may pass the threshold, and is then rightly logged.
			if strings.Contains(l, `"msg":"slow query"`) && strings.Contains(l, "_sleep") {
				slowLines = append(slowLines, l)
			}
		}
		if len(slowLines) != 1 {
			t.Fatalf("%d slow query lines, want 1:\n%s", len(slowLines), out.String())
		}
		if strings.Contains(out.String(), "param-value-42") {
			t.Errorf("the log quotes the parameter:\n%s", out.String())
		}
		if !strings.Contains(slowLines[0], `"db.query.text":"`) || !strings.Contains(slowLines[0], `"duration":`) {
			t.Errorf("slow query line lacks the text or the duration: %s", slowLines[0])
		}
	})
}

// slowMigrations has a first migration that takes a while, so that two
// replicas started at once overlap.
func slowMigrations(b backend) fs.FS {
	slow := "SELECT test_sleep(500);"
	if b.pg != nil {
		slow = "SELECT pg_sleep(0.5);"
	}
	return fstestMap{
		"00001_create_items.sql": "-- +goose Up\nCREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n" + slow + "\n",
		"00002_add_owner.sql":    "-- +goose Up\nALTER TABLE items ADD COLUMN owner TEXT NOT NULL DEFAULT '';\n",
	}.fs()
}

// TestTwoReplicasMigrateOnce: two pools on one database migrate at the same
// time; one applies each migration, the other waits for the lock and finds
// nothing left to do.
func TestTwoReplicasMigrateOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var out1, out2 syncbuf.Buffer
		db1, _ := open(t, b, database.Config{}, &out1)
		db2, _ := open(t, b, database.Config{}, &out2)
		fsys := slowMigrations(b)
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, db := range []*database.DB{db1, db2} {
			wg.Go(func() { errs[i] = db.Migrate(ctx, fsys) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		applied := strings.Count(out1.String(), `"msg":"migration applied"`) + strings.Count(out2.String(), `"msg":"migration applied"`)
		if applied != 2 {
			t.Errorf("%d migrations applied in all, want 2:\n%s\n%s", applied, out1.String(), out2.String())
		}
		waited := strings.Count(out1.String()+out2.String(), "waiting for the migration lock")
		if waited != 1 {
			t.Errorf("%d replicas waited for the lock, want 1", waited)
		}
		var versions int
		if err := db1.SQL().QueryRowContext(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&versions); err != nil {
			t.Fatal(err)
		}
		if versions != 2 {
			t.Errorf("goose_db_version holds %d versions, want 2", versions)
		}
	})
}

// TestDestructiveMigrationIsRefused: a migration that drops a column
// without the contract marker is refused before anything is applied, and
// the error names its file.
func TestDestructiveMigrationIsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db, _ := open(t, b, database.Config{}, nil)
		sub, err := fs.Sub(embedded, "testdata/destructive")
		if err != nil {
			t.Fatal(err)
		}
		err = db.Migrate(context.Background(), sub)
		var me *database.MigrationError
		if !errors.As(err, &me) || !errors.Is(err, database.ErrDestructive) || me.File != "00002_drop_label.sql" {
			t.Fatalf("Migrate = %v, want a destructive-change error naming 00002_drop_label.sql", err)
		}
		var n int
		if err := db.SQL().QueryRow("SELECT count(*) FROM items").Scan(&n); err == nil {
			t.Error("the migration before the refused one was applied: the lint must refuse before anything runs")
		}
	})
}

// TestFailedMigrationNamesItsFile: the first failing migration stops the
// run; its error names the file; the ones before it stay applied.
func TestFailedMigrationNamesItsFile(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var out syncbuf.Buffer
		db, _ := open(t, b, database.Config{}, &out)
		err := db.Migrate(context.Background(), fstestMap{
			"00001_create_items.sql": "-- +goose Up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n",
			"00002_broken.sql":       "-- +goose Up\nCREATE TABLEE oops (id INTEGER);\n",
			"00003_never.sql":        "-- +goose Up\nCREATE TABLE never (id INTEGER);\n",
		}.fs())
		var me *database.MigrationError
		if !errors.As(err, &me) || me.File != "00002_broken.sql" {
			t.Fatalf("Migrate = %v, want a *MigrationError for 00002_broken.sql", err)
		}
		if strings.Contains(err.Error(), "TABLEE oops") {
			t.Errorf("the error quotes the statement: %v", err)
		}
		if !strings.Contains(out.String(), `"file":"00001_create_items.sql"`) || strings.Contains(out.String(), "00003_never") {
			t.Errorf("want 00001 applied and logged, 00003 never run:\n%s", out.String())
		}
	})
}

// TestPingFollowsPostgres: the check fails within its timeout while
// PostgreSQL is stopped and passes again once it is back, through the same
// pool.
func TestPingFollowsPostgres(t *testing.T) {
	pg := testserver.StartPostgres(t, testserver.Tool(t, "POSTGRES_BIN_DIR"))
	db, _ := open(t, backend{name: "postgres", url: pg.URL, pg: pg}, database.Config{PingTimeout: time.Second}, nil)
	ctx := context.Background()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping = %v", err)
	}
	pg.Stop()
	begin := time.Now()
	if err := db.Ping(ctx); err == nil {
		t.Fatal("Ping passed with PostgreSQL stopped")
	} else if strings.Contains(err.Error(), pg.URL) {
		t.Errorf("the error quotes the URL: %v", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("Ping took %s with a 1s timeout", d)
	}
	pg.Start()
	deadline := time.Now().Add(10 * time.Second)
	for db.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("Ping still fails 10s after PostgreSQL came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCheckPoolWarnsWhenCallersWait: CheckPool reports saturation when a
// caller waited for a connection since its last run, and passes once no
// one waits.
func TestCheckPoolWarnsWhenCallersWait(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db, obs := open(t, b, database.Config{MaxOpenConns: 1}, nil)
		ctx := context.Background()
		if err := db.CheckPool(ctx); err != nil {
			t.Fatalf("CheckPool on a new pool = %v", err)
		}
		held, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_, err = db.SQL().Conn(wctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a second connection with the only one held = %v, want a timeout", err)
		}
		_ = held.Close()
		if err := db.CheckPool(ctx); !errors.Is(err, database.ErrPoolSaturated) {
			t.Errorf("CheckPool after a wait = %v, want ErrPoolSaturated", err)
		}
		if err := db.CheckPool(ctx); err != nil {
			t.Errorf("CheckPool with no wait since = %v, want nil", err)
		}
		if v, _ := value(t, obs, "db.client.connection.waits", nil); v != 1 {
			t.Errorf("db.client.connection.waits = %v, want 1", v)
		}
	})
}

// TestURLNeverInErrors: a bad or unknown DATABASE_URL is refused without
// quoting it.
func TestURLNeverInErrors(t *testing.T) {
	for _, url := range []string{
		"postgres://user:hunter2@host:notaport/db",
		"mysql://user:hunter2@host/db",
		"user:hunter2@host",
		"sqlite:",
	} {
		_, err := database.Open(context.Background(), database.Config{URL: secrets.New(url)}, database.Options{Drivers: drivers})
		if !errors.Is(err, database.ErrURL) {
			t.Errorf("Open(%q) = %v, want ErrURL", url, err)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "host") {
			t.Errorf("Open's error quotes the URL: %v", err)
		}
	}
}

// TestDefaultIsAFileUnderDataDir: an empty URL opens the embedded SQLite
// file under DataDir, made when missing.
func TestDefaultIsAFileUnderDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	db, err := database.Open(context.Background(), database.Config{DataDir: dir}, database.Options{Drivers: drivers})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	if db.System() != database.SQLite {
		t.Errorf("System = %q", db.System())
	}
	if _, err := db.SQL().Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, database.SQLiteFile)); len(matches) != 1 {
		t.Errorf("no %s under %s", database.SQLiteFile, dir)
	}
	if err := db.Close(context.Background()); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := db.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestPgxTypesPassThrough: the wrapper keeps pgx's own conversion of
// arguments (a []string for a text[]), on a query and on a prepared
// statement alike.
func TestPgxTypesPassThrough(t *testing.T) {
	pg := testserver.StartPostgres(t, testserver.Tool(t, "POSTGRES_BIN_DIR"))
	db, _ := open(t, backend{name: "postgres", url: pg.URL, pg: pg}, database.Config{}, nil)
	ctx := context.Background()
	var n int
	if err := db.SQL().QueryRowContext(ctx, "SELECT array_length($1::text[], 1)", []string{"a", "b"}).Scan(&n); err != nil || n != 2 {
		t.Fatalf("query with a []string = %d, %v", n, err)
	}
	st, err := db.SQL().PrepareContext(ctx, "SELECT array_length($1::text[], 1)")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.QueryRowContext(ctx, []string{"a", "b", "c"}).Scan(&n); err != nil || n != 3 {
		t.Fatalf("prepared statement with a []string = %d, %v", n, err)
	}
}

// TestConnectErrorsKeepThePasswordOut: a PostgreSQL that cannot be reached
// fails Open within PingTimeout, and the error, which pgx words, has no
// password in it.
func TestConnectErrorsKeepThePasswordOut(t *testing.T) {
	url := "postgres://operable:hunter2@" + testserver.FreeAddr(t) + "/db?sslmode=disable&connect_timeout=1"
	begin := time.Now()
	_, err := database.Open(context.Background(), database.Config{URL: secrets.New(url), PingTimeout: time.Second}, database.Options{Drivers: drivers})
	if err == nil {
		t.Fatal("Open succeeded with nothing listening")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Open's error quotes the password: %v", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("Open took %s with a 1s ping timeout", d)
	}
}

// TestOpenNeedsADriver: Open with no driver says so; with only the SQLite
// one, a PostgreSQL URL is refused as of no driver given.
func TestOpenNeedsADriver(t *testing.T) {
	ctx := context.Background()
	if _, err := database.Open(ctx, database.Config{}, database.Options{}); !errors.Is(err, database.ErrNoDriver) {
		t.Errorf("Open with no driver = %v, want ErrNoDriver", err)
	}
	_, err := database.Open(ctx, database.Config{URL: secrets.New("postgres://u:hunter2@h/db")}, database.Options{Drivers: []database.Driver{sqlite.Driver}})
	if !errors.Is(err, database.ErrURL) || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Open of a postgres URL with the SQLite driver only = %v, want ErrURL without the URL", err)
	}
}
