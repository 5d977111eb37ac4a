// Package breaker puts a circuit breaker in front of each outbound
// dependency, so that calls to a failing dependency fail fast instead of
// piling up. The state machine is github.com/sony/gobreaker/v2's; this
// package adds what a service needs around it:
//
//   - outcomes classified as an operator expects: a caller's cancellation
//     is neutral, HTTP 4xx answers are successes, 5xx answers, timeouts
//     and connection errors are failures;
//   - a per-call timeout that counts a hung call as a failure when the time
//     runs out, not when (if ever) it returns, and a bound on concurrent
//     calls, so that a slow dependency cannot hold every goroutine before
//     the breaker opens;
//   - [Do] for any call, [Breaker.Allow] for one whose outcome comes
//     apart from its start (a stream, a callback), and [Breaker.Transport]
//     for HTTP clients;
//   - the state as a gauge from construction on, transitions, calls and
//     rejections as counters, a log line per transition with the counts
//     that caused it, and a non-critical health check ([Breaker.Check]);
//   - operator control: [Breaker.Force] holds the breaker open or closed
//     until it is given back to [Auto].
//
// Settings carry env tags, so a service's config struct can hold one per
// dependency (`envPrefix:"UPSTREAM_BREAKER_"`). The root package wires
// breakers into the service (metrics, logs, readiness detail and the
// /debug/breakers endpoint) with operable.Service.Breaker.
package breaker
