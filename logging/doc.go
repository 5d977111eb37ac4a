// Package logging builds the service's *slog.Logger and the handlers behind
// it: JSON lines on stdout in the contract's format, optional sinks (a file,
// the OpenTelemetry logs bridge) at their own levels, request and trace ids
// from the context at the top level of every record, a sampler for floods,
// and one redaction engine in front of every output, so that no secret
// reaches any of them (a [Redactor] applies the same rules outside the
// logs: span and resource attributes, debug pages); plus the HTTP
// middleware that gives each request its id and one access-log line, and
// [RequestIDContext], the same id for a transport's own record of a call.
//
// A record takes one pipeline whatever the options (see [New]): the ids
// come first, right after msg, then the identity and With attributes, then
// the call's, and every output gets them masked by the same rules. JSON on
// stdout is written by one handler in a single pass, the same bytes with
// sinks or without; the sinks, and stdout in the text format or with a
// ReplaceAttr, are fed by the exported chain [NewContextHandler] →
// [NewRedactHandler] → slog's handler, which builds the same record.
//
// log/slog is the API: nothing here replaces *slog.Logger, and every piece
// is a slog.Handler that composes with others.
package logging
