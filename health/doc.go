// Package health runs a service's liveness, readiness and startup checks and
// serves them as Kubernetes probes in the application/health+json format
// (IETF draft-inadarei-api-health-check), with the Kubernetes API server's
// ?verbose, ?exclude= and per-check sub-paths.
//
// A check is a func(ctx) error with a name, the groups it belongs to and a
// timeout that cancels its context. A check with an Interval runs in the
// background (see [Checker.Run]) and probes read its last result, so a slow
// dependency never slows a probe; one without runs when probed, concurrent
// probes sharing one run. A check counts as failing until its first result,
// a panic is a failure, FailureThreshold damps flaps, and every change of
// status reaches [Checker.Subscribe]rs once. No lock is held while a check
// runs.
//
// Subpackages: checkers (ready-made checks), grpchealth (the gRPC health
// protocol from the same checks) and healthtest (a conformance kit).
package health
