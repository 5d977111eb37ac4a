package database

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
)

// ContractMarker is the comment that lets a migration file drop, rename
// or truncate a table, or drop, rename or change the type of a column: it
// says the file is the contract step of an expand/contract change, and why
// that is safe now, in words after the marker (required), as in
//
//	-- +operable contract: users.name is read by no release since v1.8 (expanded in 00004)
//
// The expand step added the new shape beside the old one; the releases
// since moved every reader and writer to it; only then does the contract
// step remove the old one. Without the marker, [Lint] refuses the file.
const ContractMarker = "-- +operable contract"

// ErrDestructive is the lint's error for a migration that drops, renames
// or truncates a table, or drops, renames or retypes a column, without
// [ContractMarker].
var ErrDestructive = errors.New("database: destructive change")

// MigrationError is a migration that failed, or that the lint refused,
// with its file's name. Its message quotes the database's error, never a
// parameter (migrations have none).
type MigrationError struct {
	// File is the migration's file name, as in the fs.FS given.
	File string
	// Err is what failed.
	Err error
}

func (e *MigrationError) Error() string {
	return "database: migration " + e.File + ": " + strings.TrimPrefix(e.Err.Error(), "database: ")
}

func (e *MigrationError) Unwrap() error { return e.Err }

var contractRE = regexp.MustCompile(`^--\s*\+operable\s+contract\b\s*:?\s*(.*)$`)

// Lint reads the *.sql files at the root of fsys, in goose's format
// ("-- +goose Up", then optionally "-- +goose Down"), and refuses each one
// whose Up part drops a table (DROP TABLE), empties one (TRUNCATE), drops
// or renames a column or a table (ALTER TABLE … DROP [COLUMN], RENAME
// [COLUMN] … TO, RENAME TO) or changes a column's type (ALTER TABLE …
// ALTER [COLUMN] c [SET DATA] TYPE: the releases still running read and
// write the old type, and PostgreSQL rewrites the table under an exclusive
// lock) unless the file carries [ContractMarker] with a reason. Down parts are
// not linted: they are rollbacks. Every refused file is reported, each as
// a *MigrationError wrapping [ErrDestructive], joined.
func Lint(fsys fs.FS) error {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return fmt.Errorf("database: migrations: %w", err)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, &MigrationError{File: name, Err: err})
			continue
		}
		if err := lintFile(string(b)); err != nil {
			errs = append(errs, &MigrationError{File: name, Err: err})
		}
	}
	return errors.Join(errs...)
}

// lintFile checks one file's Up part.
func lintFile(src string) error {
	var up strings.Builder
	inUp, marked, reason := false, false, ""
	sc := bufio.NewScanner(strings.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := contractRE.FindStringSubmatch(line); m != nil {
			marked, reason = true, strings.TrimSpace(m[1])
			continue
		}
		switch {
		case strings.HasPrefix(line, "-- +goose Up"):
			inUp = true
			continue
		case strings.HasPrefix(line, "-- +goose Down"):
			inUp = false
			continue
		}
		if inUp {
			up.WriteString(sc.Text())
			up.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if marked && reason == "" {
		return fmt.Errorf("%s needs a reason after it: what the expand step was and why no release reads the old shape", ContractMarker)
	}
	var found []string
	for _, st := range strings.Split(sanitize(up.String(), len(up.String())+1), ";") {
		if what := destructive(st); what != "" {
			found = append(found, fmt.Sprintf("%s in %q", what, shorten(strings.TrimSpace(st), 80)))
		}
	}
	if len(found) == 0 || marked {
		return nil
	}
	return fmt.Errorf("%w: %s; mark the file %q with a reason if it is the contract step of an expand/contract change",
		ErrDestructive, strings.Join(found, ", "), ContractMarker)
}

// destructive names what st, one sanitized statement, drops, renames,
// empties or retypes, or returns "".
func destructive(st string) string {
	w := strings.Fields(strings.ToUpper(st))
	for i := range w {
		w[i] = strings.Trim(w[i], ",()")
	}
	if len(w) >= 2 && w[0] == "DROP" && w[1] == "TABLE" {
		return "DROP TABLE"
	}
	if len(w) >= 1 && w[0] == "TRUNCATE" {
		return "TRUNCATE"
	}
	if len(w) < 3 || w[0] != "ALTER" || w[1] != "TABLE" {
		return ""
	}
	for i := 2; i+1 < len(w); i++ {
		next := w[i+1]
		switch w[i] {
		case "ALTER": // ALTER [COLUMN] c [SET DATA] TYPE t
			j := i + 1
			if w[j] == "COLUMN" {
				j++
			}
			j++ // the column's name
			if j+1 < len(w) && w[j] == "SET" && w[j+1] == "DATA" {
				j += 2
			}
			if j < len(w) && w[j] == "TYPE" {
				return "ALTER COLUMN TYPE"
			}
		case "DROP":
			switch next {
			case "CONSTRAINT", "DEFAULT", "NOT", "EXPRESSION", "IDENTITY", "INDEX", "PRIMARY", "FOREIGN", "CHECK":
				continue
			}
			if i >= 2 && (w[i-2] == "COLUMN" || w[i-2] == "ALTER") { // ALTER [COLUMN] c DROP …
				continue
			}
			return "DROP COLUMN"
		case "RENAME":
			switch next {
			case "CONSTRAINT", "INDEX":
				continue
			case "TO":
				return "RENAME TABLE"
			}
			return "RENAME COLUMN"
		}
	}
	return ""
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Migrate applies the migrations of fsys (the *.sql files at its root, in
// goose's format and order: 00001_create_items.sql, …) that the database
// has not applied yet, within Config.MigrateTimeout and ctx. It first runs
// [Lint] and applies nothing if a file is refused. It holds a lock while it
// runs, so that of several replicas starting at once one migrates and the
// others wait, then find nothing left to do: a PostgreSQL advisory lock (on
// a connection of its own, so MaxOpenConns must be at least 2), for a
// SQLite file an exclusive lock on the file beside it (".migrate-lock"; on
// systems without flock, a lock within the process only). Each migration
// runs in a transaction and is logged ("migration applied", with its file,
// version and duration); the first that fails stops the run, and the
// error, a *MigrationError, names its file. Applied versions are kept in
// goose's table, goose_db_version.
func (d *DB) Migrate(ctx context.Context, fsys fs.FS) error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := Lint(fsys); err != nil {
		return err
	}
	if d.system == PostgreSQL && d.cfg.MaxOpenConns == 1 {
		return errors.New("database: migrations on PostgreSQL need MaxOpenConns of at least 2 (the lock holds one)")
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.MigrateTimeout)
	defer cancel()
	log := d.in.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	begin := time.Now()
	unlock, err := d.lock(ctx, log)
	if err != nil {
		return fmt.Errorf("database: migration lock: %w", err)
	}
	defer unlock()
	dialect, ok := dialects[d.system]
	if !ok {
		return fmt.Errorf("database: migrations: goose has no dialect for %q", d.system)
	}
	p, err := goose.NewProvider(dialect, d.db, fsys, goose.WithDisableGlobalRegistry(true))
	if errors.Is(err, goose.ErrNoMigrations) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("database: migrations: %w", err)
	}
	applied := 0
	for {
		res, err := p.UpByOne(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			break
		}
		if err != nil {
			var pe *goose.PartialError
			if errors.As(err, &pe) && pe.Failed != nil && pe.Failed.Source != nil {
				return &MigrationError{File: path.Base(pe.Failed.Source.Path), Err: cause(err)}
			}
			return fmt.Errorf("database: migrations: %w", err)
		}
		applied++
		log.Info("migration applied", slog.String("file", path.Base(res.Source.Path)),
			slog.Int64("schema_version", res.Source.Version), slog.Float64("duration", res.Duration.Seconds()))
	}
	version, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("database: migrations: version: %w", err)
	}
	log.Info("migrations done", slog.Int("applied", applied), slog.Int64("schema_version", version),
		slog.Float64("duration", time.Since(begin).Seconds()))
	return nil
}

// causeError keeps the whole chain for errors.Is and errors.As, but says
// only the innermost message: goose's own wrapping quotes the statement.
type causeError struct {
	msg string
	err error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.err }

func cause(err error) error {
	inner := err
	for {
		next := errors.Unwrap(inner)
		if next == nil {
			break
		}
		inner = next
	}
	return &causeError{msg: inner.Error(), err: err}
}

// dialects are goose's names of the systems' SQL dialects.
var dialects = map[string]goose.Dialect{
	PostgreSQL: goose.DialectPostgres, SQLite: goose.DialectSQLite3, "mysql": goose.DialectMySQL,
	"mariadb": goose.DialectMySQL, "microsoft.sql_server": goose.DialectMSSQL, "clickhouse": goose.DialectClickHouse,
}

// migrateLock is the in-process half of the migration lock.
type migrateLock struct{ mu sync.Mutex }

// migrationLockKey is the PostgreSQL advisory lock's key: the bytes of
// "operable" read as a big-endian int64.
const migrationLockKey int64 = 0x6f70657261626c65

// lockPoll is how often a waiting replica tries the lock again.
const lockPoll = 200 * time.Millisecond

// lock takes the migration lock within ctx and returns its release.
func (d *DB) lock(ctx context.Context, log *slog.Logger) (func(), error) {
	if !tryLockMutex(ctx, &d.migrate.mu) {
		return nil, ctx.Err()
	}
	var release func()
	var err error
	switch {
	case d.system == PostgreSQL:
		release, err = d.lockPostgres(ctx, log)
	case d.file != "":
		release, err = lockFile(ctx, d.file+".migrate-lock", log)
	default:
		release = func() {}
	}
	if err != nil {
		d.migrate.mu.Unlock()
		return nil, err
	}
	return func() { release(); d.migrate.mu.Unlock() }, nil
}

// tryLockMutex locks mu unless ctx ends first.
func tryLockMutex(ctx context.Context, mu *sync.Mutex) bool {
	for !mu.TryLock() {
		t := time.NewTimer(lockPoll / 4)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
	return true
}

func (d *DB) lockPostgres(ctx context.Context, log *slog.Logger) (func(), error) {
	c, err := d.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	err = poll(ctx, log, func() (bool, error) {
		var ok bool
		err := c.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", migrationLockKey).Scan(&ok)
		return ok, err
	})
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		// Closing the connection ends the session and its lock in any case.
		_, _ = c.ExecContext(uctx, "SELECT pg_advisory_unlock($1)", migrationLockKey)
		_ = c.Close()
	}, nil
}

func lockFile(ctx context.Context, name string, log *slog.Logger) (func(), error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := poll(ctx, log, func() (bool, error) { return tryFlock(f) }); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { unflock(f); _ = f.Close() }, nil
}

// poll calls try until it takes the lock or ctx ends, logging once that it
// waits.
func poll(ctx context.Context, log *slog.Logger, try func() (bool, error)) error {
	logged := false
	for {
		ok, err := try()
		if err != nil || ok {
			return err
		}
		if !logged {
			log.Info("waiting for the migration lock held by another replica")
			logged = true
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
