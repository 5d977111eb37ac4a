// Package database opens the service's SQL pool, operable by default, over
// the drivers the service passes: database/sqlite (the embedded default,
// modernc.org/sqlite, no cgo, nothing to run; an empty DATABASE_URL) and
// database/postgres (pgx's database/sql driver, for postgres:// URLs). They
// live apart so that a service links only the engines it uses. [Open]
// returns a [DB] whose [DB.SQL] is a plain *sql.DB with every query timed,
// counted and traced under the OpenTelemetry database semantic conventions
// (the query text sanitized, parameters never recorded), slow queries
// logged, and the pool observed from sql.DBStats. [DB.Migrate] applies
// versioned SQL files embedded in the binary (goose's format) under a lock
// that lets one replica migrate while the others wait, after [Lint] refused
// destructive changes that are not marked as the contract step of an
// expand/contract change. [DB.Ping] and [DB.CheckPool] are the health
// checks the root registers (operable's Service.OpenDatabase).
//
// The instrumentation is a thin wrapper of the driver's connector rather
// than XSAM/otelsql: bench/database_test.go measures what each adds per
// query (about a third of otelsql's time and a seventh of its
// allocations). A transaction's BEGIN and its COMMIT or ROLLBACK are timed
// as operations of those names (no collection, no query text: the driver
// writes the statement). The iteration of rows is not timed: a query's
// duration ends when its first result is ready.
package database
