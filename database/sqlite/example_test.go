package sqlite_test

import (
	"context"
	"fmt"

	"github.com/operable-go/operable/database"
	"github.com/operable-go/operable/database/sqlite"
	"github.com/operable-go/operable/secrets"
)

// An in-memory database; an empty URL would be the file
// data/database.sqlite instead.
func ExampleDriver() {
	ctx := context.Background()
	db, err := database.Open(ctx, database.Config{URL: secrets.New("sqlite::memory:")},
		database.Options{Drivers: []database.Driver{sqlite.Driver}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close(ctx)
	var version string
	_ = db.SQL().QueryRowContext(ctx, "SELECT 'sqlite ' || (sqlite_version() >= '3.35')").Scan(&version)
	fmt.Println(db.System(), db.Config().MaxOpenConns, version)
	// Output: sqlite 1 sqlite 1
}
