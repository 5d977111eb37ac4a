// Package logging builds the service's *slog.Logger: JSON lines on stdout
// with the service's identity on every record and the request's id taken
// from the context, plus the HTTP middleware that gives each request its id
// and one access-log line.
//
// log/slog is the API: nothing here replaces *slog.Logger. Later work adds
// redaction, sinks and run-time level changes over HTTP.
package logging
