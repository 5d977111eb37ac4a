// Package audit checks from the outside that a running service is
// operable: the reviewer's checklist of CONTRACT.md run against the
// process, each check with an id, pass, fail or skip (and why), and the
// evidence it saw.
//
// Against a service that runs already, [Run] with a [Target] checks its
// listeners: the probes in application/health+json with ?verbose and
// ?exclude, liveness that checks no dependency, the RED histogram on
// /metrics labelled by route templates (50 requests to different paths add
// no series), /debug/ refusing callers without the token or with a wrong
// one, a read-header timeout on both listeners (a client that never ends
// its headers is cut off), and credentials planted in requests (and gRPC
// metadata, with a gRPC listener) shown on no admin page. With a gRPC
// listener (Target.GRPCAddr), it checks
// grpc.health.v1 (SERVING, each service List names following ""), the RPC
// histogram on /metrics (labelled by system, method and code, with made-up
// methods folded into one _OTHER series) and that reflection is not
// served; without one the grpc.* checks are skipped.
//
// Given the command that starts the service, [Start] runs it on free
// loopback ports and the audit judges the process too: one access line per
// request with its X-Request-ID, readiness failing from the first instant
// of SIGTERM while liveness passes, no request lost by 16 kept-alive
// clients that never retry (a second instance, through
// shutdowntest's kept-alive mode), exit 0 after SIGTERM, every stdout line
// a JSON object, no planted value (the ADMIN_TOKEN it set, the credentials
// it sent) in stdout or stderr, exit 78 on a bad LOG_LEVEL without the
// value quoted, and exit 64 on an unknown flag. Started with GRPC_ADDR
// (StartOptions.Env), it also judges one access line per gRPC call with
// its x-request-id and, on a second instance, the gRPC stop: Check on ""
// NOT_SERVING from the first instant of SIGTERM, a Watch stream open at it
// ended by the server, and exit 0.
//
// A report is written for people ([Report.WriteText]), as JSON
// ([Report.WriteJSON]) or as a SARIF 2.1.0 log for code-scanning tools
// ([Report.WriteSARIF]).
//
// The command operable (cmd/operable) runs it: `operable audit -admin URL
// -app URL` or `operable audit -- COMMAND [ARGS...]`; the same checks run
// in a team's own tests through Run. [StartWith] starts the service
// through any [Launcher]: package audit/inprocess launches a service built
// with the root package inside the test's own process, where every check
// runs but exit.usage (the flags come from os.Args).
//
// The checks are black-box: the package imports nothing of the SDK but
// shutdowntest, so it audits any service that claims the contract.
package audit
