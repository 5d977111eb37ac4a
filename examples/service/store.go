package main

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/metric"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/database"
	"github.com/operable-go/operable/database/postgres"
	"github.com/operable-go/operable/database/sqlite"
)

// The schema, embedded in the binary and applied at start-up, before the
// service reports ready: the same files for SQLite and PostgreSQL.
//
//go:embed migrations/*.sql
var embeddedMigrations embed.FS

// openItems opens the items' database: PostgreSQL when DATABASE_URL says
// postgres://, and otherwise the embedded SQLite file database.sqlite under
// DATABASE_DIR (default: data, relative to the working directory), which
// keeps the items across restarts. DATABASE_URL=sqlite::memory: keeps them
// in memory, lost at exit.
func openItems(ctx context.Context, s *operable.Service, cfg database.Config) (*sql.DB, error) {
	migrations, err := fs.Sub(embeddedMigrations, "migrations")
	if err != nil {
		return nil, err
	}
	// Only the drivers passed here are linked into the binary.
	return s.OpenDatabase(ctx, cfg, migrations, sqlite.Driver, postgres.Driver)
}

// store keeps the items in SQL; *sql.DB makes it safe for concurrent use.
type store struct {
	db      *sql.DB
	log     *slog.Logger
	audit   *auditLog // nil: no auditing
	created metric.Int64Counter
	max     int
}

// errFull is insert's answer when the store holds max items.
var errFull = errors.New("store is full")

// insert adds an item in one transaction: bump the id counter (its row
// lock orders concurrent inserts on PostgreSQL; SQLite's transactions take
// the write lock at BEGIN), check the capacity, insert.
func (st *store) insert(ctx context.Context, name string) (item, error) {
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return item{}, err
	}
	defer func() { _ = tx.Rollback() }()
	var id int
	if err := tx.QueryRowContext(ctx, "UPDATE item_ids SET last = last + 1 RETURNING last").Scan(&id); err != nil {
		return item{}, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil {
		return item{}, err
	}
	if n >= st.max {
		return item{}, errFull
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO items (id, name) VALUES ($1, $2)", id, name); err != nil {
		return item{}, err
	}
	if err := tx.Commit(); err != nil {
		return item{}, err
	}
	return item{ID: id, Name: name}, nil
}

// seed creates the named items that are not there yet, as a start-up task
// run after the migrations.
func (st *store) seed(ctx context.Context, names []string) error {
	for _, name := range names {
		var n int
		if err := st.db.QueryRowContext(ctx, "SELECT count(*) FROM items WHERE name = $1", name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if _, err := st.insert(ctx, name); errors.Is(err, errFull) {
			return fmt.Errorf("SEED_ITEMS holds more than MAX_ITEMS (%d) items", st.max)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// failed answers 503 for a database error, logged with the request.
func (st *store) failed(w http.ResponseWriter, r *http.Request, err error) {
	st.log.ErrorContext(r.Context(), "items database", slog.Any("error", err))
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the items database is unavailable"})
}

func (st *store) list(w http.ResponseWriter, r *http.Request) {
	rows, err := st.db.QueryContext(r.Context(), "SELECT id, name FROM items ORDER BY id")
	if err != nil {
		st.failed(w, r, err)
		return
	}
	defer rows.Close()
	out := []item{}
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.ID, &it.Name); err != nil {
			st.failed(w, r, err)
			return
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		st.failed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (st *store) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil || in.Name == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be {"name": "..."}`})
		return
	}
	it, err := st.insert(r.Context(), in.Name)
	if errors.Is(err, errFull) {
		writeJSON(w, http.StatusInsufficientStorage, map[string]string{"error": "store is full"})
		return
	}
	if err != nil {
		st.failed(w, r, err)
		return
	}
	st.audit.record("create", it.ID)
	// Created items become a business metric on /metrics, tied by the
	// request's context to its trace (an exemplar when tracing is on).
	st.created.Add(r.Context(), 1)
	w.Header().Set("Location", "/items/"+strconv.Itoa(it.ID))
	writeJSON(w, http.StatusCreated, it)
}

func (st *store) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "id must be a number"})
		return
	}
	it := item{ID: id}
	err = st.db.QueryRowContext(r.Context(), "SELECT name FROM items WHERE id = $1", id).Scan(&it.Name)
	if errors.Is(err, sql.ErrNoRows) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such item"})
		return
	}
	if err != nil {
		st.failed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func (st *store) delete(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "id must be a number"})
		return
	}
	res, err := st.db.ExecContext(r.Context(), "DELETE FROM items WHERE id = $1", id)
	if err != nil {
		st.failed(w, r, err)
		return
	}
	if n, err := res.RowsAffected(); err != nil {
		st.failed(w, r, err)
		return
	} else if n == 0 {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such item"})
		return
	}
	st.audit.record("delete", id)
	w.WriteHeader(http.StatusNoContent)
}

// checkCapacity fails (as a warning: the check is non-critical) when the
// store is more than 90% full.
func (st *store) checkCapacity(ctx context.Context) error {
	var n int
	if err := st.db.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil {
		return err
	}
	if n*10 > st.max*9 {
		return fmt.Errorf("store %d%% full (%d of %d items)", n*100/st.max, n, st.max)
	}
	return nil
}
