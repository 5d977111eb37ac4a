package database_test

import (
	"context"
	"errors"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/operable-go/operable/database"
)

// TestTransactionsAreTimed: each transaction's BEGIN and its COMMIT or
// ROLLBACK are counted in db.client.operation.duration under those
// operation names, with no collection, and traced as client spans without
// query text, a failed COMMIT with its error.type.
func TestTransactionsAreTimed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		db, obs := open(t, b, database.Config{}, nil)
		ctx := context.Background()
		if _, err := db.SQL().ExecContext(ctx, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		insert := "INSERT INTO notes (id, body) VALUES (?, ?)"
		if b.pg != nil {
			insert = "INSERT INTO notes (id, body) VALUES ($1, $2)"
		}
		system := map[string]string{"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql"}[b.name]
		count := func(op string) float64 {
			got, _ := value(t, obs, "db.client.operation.duration", map[string]string{"db.system.name": system, "db.operation.name": op})
			return got
		}
		before := map[string]float64{"BEGIN": count("BEGIN"), "COMMIT": count("COMMIT"), "ROLLBACK": count("ROLLBACK")}
		for i := range 5 {
			tx, err := db.SQL().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, insert, i+1, "tx-secret"); err != nil {
				t.Fatal(err)
			}
			if i < 3 {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM notes").Scan(&n); err != nil || n != 3 {
			t.Fatalf("%d notes (%v), want the 3 committed", n, err)
		}
		for op, want := range map[string]float64{"BEGIN": 5, "COMMIT": 3, "ROLLBACK": 2} {
			if got := count(op) - before[op]; got != want {
				t.Errorf("%s counted %v times, want %v", op, got, want)
			}
		}
		for _, p := range obs.Points(t, "db.client.operation.duration") {
			switch p.Attrs["db.operation.name"] {
			case "BEGIN", "COMMIT", "ROLLBACK":
				if _, ok := p.Attrs["db.collection.name"]; ok {
					t.Errorf("%s has a collection: %v", p.Attrs["db.operation.name"], p.Attrs)
				}
			}
		}
		kinds := map[string]int{}
		for _, s := range obs.Spans() {
			switch s.Name() {
			case "BEGIN", "COMMIT", "ROLLBACK":
			default:
				continue
			}
			kinds[s.Name()]++
			if s.SpanKind() != trace.SpanKindClient {
				t.Errorf("span %s is %v, want a client span", s.Name(), s.SpanKind())
			}
			for _, a := range s.Attributes() {
				if a.Key == "db.query.text" || a.Key == "db.collection.name" {
					t.Errorf("span %s has %s=%q", s.Name(), a.Key, a.Value.String())
				}
			}
		}
		if kinds["BEGIN"] < 5 || kinds["COMMIT"] < 3 || kinds["ROLLBACK"] < 2 {
			t.Errorf("spans of the transactions: %v, want at least 5 BEGIN, 3 COMMIT, 2 ROLLBACK", kinds)
		}
	})
}

// TestAFailedCommitIsRecordedAsAnError: a COMMIT the database refuses (a
// deferred foreign key) is counted with its error.type and the database's
// code: SQLSTATE 23503 in PostgreSQL, SQLITE_CONSTRAINT_FOREIGNKEY (787) in
// SQLite (database/sqlite turns foreign keys on).
func TestAFailedCommitIsRecordedAsAnError(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		code := map[string]string{"sqlite": "787", "postgres": "23503"}[b.name]
		db, obs := open(t, b, database.Config{}, nil)
		ctx := context.Background()
		for _, q := range []string{
			"CREATE TABLE parents (id INTEGER PRIMARY KEY)",
			"CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)",
		} {
			if _, err := db.SQL().ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO children (id, parent) VALUES (1, 99)"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err == nil || errors.Is(err, context.Canceled) {
			t.Fatalf("Commit = %v, want the foreign key's violation", err)
		}
		got, _ := value(t, obs, "db.client.operation.duration", map[string]string{
			"db.operation.name": "COMMIT", "error.type": code, "db.response.status_code": code})
		if got != 1 {
			t.Errorf("failed COMMITs with error.type %s: %v, want 1; points: %v", code, got, obs.Points(t, "db.client.operation.duration"))
		}
	})
}
