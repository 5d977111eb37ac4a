// Package sqlite is the embedded database of package database: SQLite
// through modernc.org/sqlite (a translation of SQLite's C to Go: no cgo,
// nothing to install or run). Pass [Driver] in database.Options.Drivers, or
// to operable's Service.OpenDatabase.
package sqlite

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"

	"github.com/operable-go/operable/database"
)

// Driver takes an empty DATABASE_URL, the file [database.SQLiteFile] under
// Config.DataDir (made when missing), and "sqlite:PATH" or
// "sqlite://PATH", the file PATH; "sqlite::memory:" is an in-memory
// database private to the pool, which then holds one connection. Every
// connection has a 5 s busy timeout (a writer waits for another rather
// than failing), foreign keys on, and transactions that take the write lock
// at BEGIN (so that two never deadlock upgrading a read lock); a file
// is in WAL mode (readers beside the writer) with synchronous=NORMAL.
// Migrate locks the file beside the database's ("….migrate-lock").
func Driver(url string, cfg database.Config) (database.Target, bool, error) {
	if url != "" && !strings.HasPrefix(url, "sqlite:") {
		return database.Target{}, false, nil
	}
	path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
	if url == "" {
		dir := cfg.DataDir
		if dir == "" {
			dir = database.DefaultDataDir
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return database.Target{}, false, fmt.Errorf("database: sqlite: data directory: %w", err)
		}
		path = filepath.Join(dir, database.SQLiteFile)
	}
	if path == "" || strings.ContainsRune(path, '?') {
		return database.Target{}, false, fmt.Errorf("%w: a sqlite: URL needs a path (or :memory:) and no query", database.ErrURL)
	}
	memory := path == ":memory:"
	dsn := path + "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate"
	if !memory {
		dsn += "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	}
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return database.Target{}, false, fmt.Errorf("database: sqlite: %w", err)
	}
	t := database.Target{Connector: c, System: database.SQLite, Single: memory}
	if !memory {
		t.LockFile = path
	}
	return t, true, nil
}
