// Package shutdown runs a service's lifecycle: it serves the HTTP servers and
// background workers it is given until a signal (SIGTERM, SIGINT), a
// programmatic stop or a component's failure, then stops them in the order
// Kubernetes needs: drain, stop the servers, stop the workers, run the stop
// hooks in reverse order of registration, each within its own timeout, the
// whole within one deadline. A second signal exits at once with code 130.
//
// From the first instant of the stop every response says Connection: close
// (HTTP/2: a GOAWAY), so that clients leave their kept-alive connections
// while the listeners still accept; before closing the idle connections
// the stop waits, briefly, for the busy ones to be turned over that way,
// so that it closes no connection under a request its client has just
// written. See [Lifecycle].
//
// Readiness is tied to the lifecycle by reading [Lifecycle.Phase]: the
// package does not import health, the root package wires the two.
package shutdown
