package database

import (
	"database/sql/driver"

	"go.opentelemetry.io/otel/attribute"
)

// A Driver opens one kind of database: given Config.URL's value (and the
// rest of cfg), it returns ok false when the URL is not of its kind, or the
// [Target] to open. Its errors must not quote the URL, which may hold a
// password. sqlite.Driver (package database/sqlite) and postgres.Driver
// (package database/postgres) are the two the SDK ships; they are apart
// from this package so that a service links only the ones it uses (the
// embedded SQLite engine alone is about 5 MiB).
type Driver func(url string, cfg Config) (t Target, ok bool, err error)

// Target is what a [Driver] opens.
type Target struct {
	// Connector makes the connections. Required.
	Connector driver.Connector
	// System is the db.system.name: [PostgreSQL], [SQLite], … Migrate
	// takes a PostgreSQL advisory lock for "postgresql" and uses goose's
	// dialect of the same name for the known systems. Required.
	System string
	// Attributes go on every operation's metric point and span:
	// server.address, server.port, db.namespace. Keep them few and fixed.
	Attributes []attribute.KeyValue
	// LockFile, when set, is the file beside which Migrate takes its
	// exclusive lock (LockFile+".migrate-lock"): a SQLite database's file.
	LockFile string
	// Single says the database lives in its one connection (an in-memory
	// SQLite database): the pool then holds that one and never closes it.
	Single bool
}
