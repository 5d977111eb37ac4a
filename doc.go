// Package operable wires the SDK's packages into one operable service: a
// service author writes routes and health checks, and gets, from
// [Main] or [New] and [Service.Run]:
//
//   - configuration from defaults and environment variables ([Config]), bad
//     input reported at once with exit code 78 and no value echoed;
//   - JSON logs on stdout, one access-log line per request with its
//     request_id;
//   - RED metrics named as the OpenTelemetry HTTP conventions name them, on
//     the admin listener's /metrics;
//   - /livez, /readyz and /startupz on the admin listener, readiness failing
//     from the first instant of shutdown;
//   - the /debug/ pages (build info, pprof) behind a bearer token;
//   - graceful shutdown on SIGTERM or SIGINT: drain delay, servers drained,
//     hooks run within their budgets, exit 0; a second signal exits with 130.
//
// The contract a service built on it keeps is in CONTRACT.md; the package
// map in ARCHITECTURE.md. Nothing in the SDK imports this package.
package operable
