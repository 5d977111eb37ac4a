// Package operable wires the SDK's packages into one operable service: a
// service author writes routes and health checks, and gets, from
// [Main] or [New] and [Service.Run]:
//
//   - configuration from defaults, config/ files, environment variables and
//     secret references ([Config], and the service's own struct in
//     [Options.Config]), bad input reported at once with exit code 78 and no
//     value echoed, reloaded when the files change;
//   - JSON logs on stdout, one access-log line per request with its
//     request_id;
//   - RED metrics named as the OpenTelemetry HTTP conventions name them, on
//     the admin listener's /metrics;
//   - /livez, /readyz and /startupz on the admin listener, readiness failing
//     from the first instant of shutdown;
//   - the /debug/ pages (build info, config, flags, log level, breakers,
//     pprof) behind a bearer token;
//   - with FLAGS_FILE, feature flags ([Service.Flags]); with VAULT_ADDR, a
//     Vault session ([Service.Vault]); circuit breakers ([Service.Breaker]);
//   - graceful shutdown on SIGTERM or SIGINT: drain delay, servers drained,
//     hooks run within their budgets, exit 0; a second signal exits with 130.
//
// The /debug/ pages answer only "Authorization: Bearer <ADMIN_TOKEN>":
// GET /debug/info (build and runtime), GET /debug/config (every setting
// with its layer, secrets redacted), GET /debug/flags, GET /debug/breakers
// and PUT /debug/breakers/{name} (open, closed or auto), GET /debug/loglevel
// and PUT or POST /debug/loglevel with {"level":"debug"} or the bare level
// (debug, info, warn, error; logged, and kept until the next change or a
// config reload that changes LOG_LEVEL), and /debug/pprof/.
//
// [New] builds a small core (configuration, telemetry, logger, checks,
// lifecycle) and then one part per capability, each owning its settings,
// checks, workers, hooks, debug pages and clean-up; if any step fails,
// everything built before it is released. A service built but never run
// is released with [Service.Close].
//
// The contract a service built on it keeps is in CONTRACT.md; the package
// map and the parts in ARCHITECTURE.md. Nothing in the SDK imports this
// package.
package operable
