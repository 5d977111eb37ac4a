// Package health runs a service's liveness, readiness and startup checks and
// serves them as Kubernetes probes in the application/health+json format
// (IETF draft-inadarei-api-health-check), with the Kubernetes API server's
// ?verbose and ?exclude= conventions.
//
// A check is a func(ctx) error with a name, the groups it belongs to and a
// timeout. Every probe runs the group's checks concurrently, each under its
// own deadline; a panicking check counts as failing. Later work adds cached
// background checks, flap damping, status-change events and gRPC health.
package health
