package database_test

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/operable-go/operable/database"
	"github.com/operable-go/operable/database/sqlite"
	"github.com/operable-go/operable/secrets"
)

//go:embed testdata/migrations/*.sql testdata/destructive/*.sql
var embedded embed.FS

// Open an in-memory SQLite database, apply the embedded migrations and
// query it. A service calls operable's Service.OpenDatabase instead, which
// does the same with the service's telemetry, logger, checks and hooks.
func Example() {
	ctx := context.Background()
	db, err := database.Open(ctx, database.Config{URL: secrets.New("sqlite::memory:")},
		database.Options{Drivers: []database.Driver{sqlite.Driver}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close(ctx)
	migrations, _ := fs.Sub(embedded, "testdata/migrations")
	if err := db.Migrate(ctx, migrations); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := db.SQL().ExecContext(ctx, "INSERT INTO items (id, name, owner) VALUES (?, ?, ?)", 1, "spoon", "ada"); err != nil {
		fmt.Println(err)
		return
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM items WHERE owner = ?", "ada").Scan(&n); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(db.System(), n)
	// Output: sqlite 1
}

// Lint refuses a migration that drops a column unless the file says it is
// the contract step of an expand/contract change.
func ExampleLint() {
	err := database.Lint(fstestMap{
		"00002_drop_label.sql": "-- +goose Up\nALTER TABLE items DROP COLUMN label;\n",
		"00003_drop_old.sql":   "-- +operable contract: items.old unread since v2 (expanded in 00001)\n-- +goose Up\nALTER TABLE items DROP COLUMN old;\n",
	}.fs())
	fmt.Println(err)
	// Output: database: migration 00002_drop_label.sql: destructive change: DROP COLUMN in "ALTER TABLE items DROP COLUMN label"; mark the file "-- +operable contract" with a reason if it is the contract step of an expand/contract change
}
