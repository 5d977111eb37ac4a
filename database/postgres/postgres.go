// Package postgres is package database's PostgreSQL driver: pgx's
// database/sql driver (github.com/jackc/pgx/v5/stdlib). Pass [Driver] in
// database.Options.Drivers, or to operable's Service.OpenDatabase.
package postgres

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"go.opentelemetry.io/otel/attribute"

	"github.com/operable-go/operable/database"
)

// Driver takes a "postgres://" or "postgresql://" DATABASE_URL, in any
// form pgx parses (sslmode, connect_timeout, several hosts, …). Operations
// carry server.address, server.port (the first host) and db.namespace (the
// database). Migrate serializes replicas with an advisory lock. A URL that
// does not parse is refused with database.ErrURL, without quoting it.
func Driver(url string, _ database.Config) (database.Target, bool, error) {
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return database.Target{}, false, nil
	}
	pc, err := pgx.ParseConfig(url)
	if err != nil { // its message quotes the URL: not wrapped
		return database.Target{}, false, fmt.Errorf("%w: it does not parse as a PostgreSQL URL", database.ErrURL)
	}
	var attrs []attribute.KeyValue
	if pc.Host != "" && !strings.HasPrefix(pc.Host, "/") {
		attrs = append(attrs, attribute.String("server.address", pc.Host), attribute.Int("server.port", int(pc.Port)))
	}
	if pc.Database != "" {
		attrs = append(attrs, attribute.String("db.namespace", pc.Database))
	}
	return database.Target{Connector: stdlib.GetConnector(*pc), System: database.PostgreSQL, Attributes: attrs}, true, nil
}
