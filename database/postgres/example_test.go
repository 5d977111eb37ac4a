package postgres_test

import (
	"context"
	"log"

	"github.com/operable-go/operable/database"
	"github.com/operable-go/operable/database/postgres"
	"github.com/operable-go/operable/database/sqlite"
	"github.com/operable-go/operable/secrets"
)

// PostgreSQL when DATABASE_URL says so, the embedded SQLite file otherwise:
// the drivers are asked in turn. (No output: it needs a server.)
func ExampleDriver() {
	ctx := context.Background()
	cfg := database.Config{URL: secrets.New("postgres://app@127.0.0.1:5432/app?sslmode=disable")}
	db, err := database.Open(ctx, cfg, database.Options{Drivers: []database.Driver{postgres.Driver, sqlite.Driver}})
	if err != nil {
		log.Print(err) // never quotes the URL
		return
	}
	defer db.Close(ctx)
	log.Print(db.System()) // postgresql
}
