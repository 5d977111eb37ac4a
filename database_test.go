package operable_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/database"
	"github.com/operable-go/operable/database/postgres"
	"github.com/operable-go/operable/database/sqlite"
	"github.com/operable-go/operable/internal/syncbuf"
	"github.com/operable-go/operable/internal/testserver"
	"github.com/operable-go/operable/secrets"
	"github.com/operable-go/operable/telemetry/telemetrytest"
)

var databaseMigrations = fstest.MapFS{
	"00001_create_items.sql": {Data: []byte("-- +goose Up\nCREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL);\n")},
	"00002_add_owner.sql":    {Data: []byte("-- +goose Up\nALTER TABLE items ADD COLUMN owner TEXT NOT NULL DEFAULT '';\n")},
}

// probeDatabase answers path on the admin handler, with the verbose body's
// status of the named check ("" when absent).
func probeDatabase(s *operable.Service, path, check string) (int, string) {
	rec := httptest.NewRecorder()
	s.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var body struct {
		Checks map[string][]struct {
			Status string `json:"status"`
		} `json:"checks"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	for name, results := range body.Checks {
		if (name == check || strings.HasPrefix(name, check+":")) && len(results) > 0 {
			return rec.Code, results[0].Status
		}
	}
	return rec.Code, ""
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, d)
		}
	}
}

// TestDatabaseMigratesBeforeReadyAndClosesAfterStop: OpenDatabase on the
// embedded default applies the migrations as a start-up task (each logged,
// the service ready after them), registers the two non-critical checks,
// exports the pool metrics, and closes the pool when the service stops.
func TestDatabaseMigratesBeforeReadyAndClosesAfterStop(t *testing.T) {
	var out syncbuf.Buffer
	obs := telemetrytest.NewObserver()
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(), Stdout: &out, Telemetry: obs.Attach})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := s.OpenDatabase(ctx, database.Config{DataDir: t.TempDir(), CheckInterval: 50 * time.Millisecond}, databaseMigrations, sqlite.Driver, postgres.Driver)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, "/startupz 200 after the migrations", 10*time.Second, func() bool {
		code, _ := probeDatabase(s, "/startupz", "")
		return code == http.StatusOK
	})
	if !strings.Contains(out.String(), `"file":"00002_add_owner.sql"`) || !strings.Contains(out.String(), `"task":"migrations"`) {
		t.Errorf("the migrations and their task are not logged:\n%s", out.String())
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO items (id, name, owner) VALUES ($1, $2, $3)", 1, "spoon", "ada"); err != nil {
		t.Fatalf("insert after the migrations: %v", err)
	}
	for _, check := range []string{"database", "database-pool"} {
		waitFor(t, check+" passes in /readyz?verbose", 5*time.Second, func() bool {
			_, st := probeDatabase(s, "/readyz?verbose", check)
			return st == "pass"
		})
		if _, st := probeDatabase(s, "/livez?verbose", check); st != "" {
			t.Errorf("liveness includes %s", check)
		}
	}
	rec := httptest.NewRecorder()
	s.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, m := range []string{"db_client_connection_count{", "db_client_operation_duration_seconds_bucket{", `db_operation_name="INSERT"`} {
		if !strings.Contains(rec.Body.String(), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	s.Stop()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if err := db.PingContext(ctx); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("the pool is open after the stop: ping = %v", err)
	}
}

// TestDatabaseRefusesDestructiveMigrationsAtSetup: a destructive migration
// without the contract marker fails OpenDatabase, naming its file, before
// anything is opened.
func TestDatabaseRefusesDestructiveMigrationsAtSetup(t *testing.T) {
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(), Stdout: &syncbuf.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	_, err = s.OpenDatabase(context.Background(), database.Config{DataDir: t.TempDir()}, fstest.MapFS{
		"00003_drop_owner.sql": {Data: []byte("-- +goose Up\nALTER TABLE items DROP COLUMN owner;\n")},
	}, sqlite.Driver)
	if !errors.Is(err, database.ErrDestructive) || !strings.Contains(err.Error(), "00003_drop_owner.sql") {
		t.Fatalf("OpenDatabase = %v, want ErrDestructive naming the file", err)
	}
}

// TestDatabaseFailedMigrationStopsStartUp: a migration that fails stops the
// service with exit code 1, and the error names the file.
func TestDatabaseFailedMigrationStopsStartUp(t *testing.T) {
	var out syncbuf.Buffer
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(), Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.OpenDatabase(context.Background(), database.Config{URL: secrets.New("sqlite:" + filepath.Join(t.TempDir(), "db.sqlite"))}, fstest.MapFS{
		"00001_broken.sql": {Data: []byte("-- +goose Up\nCREATE TABLEE items (id INTEGER);\n")},
	}, sqlite.Driver)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "00001_broken.sql") || operable.ExitCode(err) != 1 {
		t.Fatalf("Run = %v (exit %d), want exit 1 naming 00001_broken.sql", err, operable.ExitCode(err))
	}
}

// TestDatabaseCheckWarnsWhilePostgresIsDown: with PostgreSQL stopped, the
// database check warns while /readyz and /livez stay 200; once PostgreSQL
// is back, the check passes again.
func TestDatabaseCheckWarnsWhilePostgresIsDown(t *testing.T) {
	pg := testserver.StartPostgres(t, testserver.Tool(t, "POSTGRES_BIN_DIR"))
	s, err := operable.New(context.Background(), operable.Options{Environ: loopbackEnv(), Stdout: &syncbuf.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cfg := database.Config{URL: secrets.New(pg.NewDatabase(t)), CheckInterval: 50 * time.Millisecond, PingTimeout: 500 * time.Millisecond}
	if _, err := s.OpenDatabase(ctx, cfg, databaseMigrations, sqlite.Driver, postgres.Driver); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		s.Stop()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	status := func(want string) func() bool {
		return func() bool { _, st := probeDatabase(s, "/readyz?verbose", "database"); return st == want }
	}
	waitFor(t, "/startupz 200 after the migrations", 10*time.Second, func() bool {
		code, _ := probeDatabase(s, "/startupz", "")
		return code == http.StatusOK
	})
	waitFor(t, "database passes", 10*time.Second, status("pass"))
	pg.Stop()
	waitFor(t, "database warns with PostgreSQL stopped", 10*time.Second, status("warn"))
	if code, _ := probeDatabase(s, "/readyz", ""); code != http.StatusOK {
		rec := httptest.NewRecorder()
		s.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz?verbose", nil))
		t.Errorf("/readyz = %d with PostgreSQL stopped, want 200 (the check is non-critical):\n%s", code, rec.Body)
	}
	if code, _ := probeDatabase(s, "/livez", ""); code != http.StatusOK {
		t.Errorf("/livez = %d with PostgreSQL stopped, want 200", code)
	}
	pg.Start()
	waitFor(t, "database passes again with PostgreSQL back", 15*time.Second, status("pass"))
}
