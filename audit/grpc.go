package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// noGRPC is why the gRPC checks skip a service with no gRPC listener
// known.
const noGRPC = "no gRPC listener (no -grpc ADDR given, none announced): the gRPC checks do not apply"

// grpcCallTimeout bounds each gRPC call the audit makes.
const grpcCallTimeout = 5 * time.Second

// grpcMadeUp is how many made-up methods grpc.metrics calls.
const grpcMadeUp = 20

// dialGRPC returns a plaintext client of the target's gRPC listener, or a
// reason to skip. Close the connection when done.
func (a *auditor) dialGRPC() (*grpc.ClientConn, string) {
	if why := a.noGRPC(); why != "" {
		return nil, why
	}
	return dialGRPCAddr(a.target.GRPCAddr)
}

// noGRPC says why the gRPC checks cannot run; "" when they can.
func (a *auditor) noGRPC() string {
	switch {
	case a.target.GRPCAddr == "":
		return noGRPC
	case a.target.Process != nil && a.target.Process.grpcScheme == "grpcs":
		return "the gRPC listener serves TLS (scheme grpcs): the audit speaks plaintext gRPC on loopback only"
	}
	return ""
}

func dialGRPCAddr(addr string) (*grpc.ClientConn, string) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, "the gRPC address " + addr + ": " + err.Error()
	}
	return conn, ""
}

// call runs f with a context bounded by grpcCallTimeout and md as
// outgoing metadata ("key", "value", ...).
func call[T any](ctx context.Context, f func(context.Context) (T, error), md ...string) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, grpcCallTimeout)
	defer cancel()
	if len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	return f(ctx)
}

func healthCheck(ctx context.Context, c healthpb.HealthClient, service string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	r, err := call(ctx, func(ctx context.Context) (*healthpb.HealthCheckResponse, error) {
		return c.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	})
	return r.GetStatus(), err
}

// invokeMadeUp calls a method no server has and returns the call's code.
func invokeMadeUp(ctx context.Context, conn *grpc.ClientConn, method string, md ...string) codes.Code {
	_, err := call(ctx, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, conn.Invoke(ctx, method, &emptypb.Empty{}, &emptypb.Empty{})
	}, md...)
	return status.Code(err)
}

func (a *auditor) checkGRPCHealth(ctx context.Context) Result {
	conn, why := a.dialGRPC()
	if conn == nil {
		return skip(why)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	overall, err := healthCheck(ctx, hc, "")
	if err != nil {
		return fail(fmt.Sprintf("grpc.health.v1 Check on \"\": %v: a started service must serve grpc.health.v1 on its gRPC listener", err))
	}
	evidence := []string{fmt.Sprintf("Check on \"\": %s", overall)}
	if overall != healthpb.HealthCheckResponse_SERVING {
		return fail(fmt.Sprintf("Check on \"\" is %s on a started service, want SERVING", overall), evidence...)
	}
	list, err := call(ctx, func(ctx context.Context) (*healthpb.HealthListResponse, error) {
		return hc.List(ctx, &healthpb.HealthListRequest{})
	})
	if status.Code(err) == codes.Unimplemented {
		return pass(append(evidence, "List is not served: only \"\" is judged")...)
	}
	if err != nil {
		return fail("grpc.health.v1 List: "+err.Error(), evidence...)
	}
	names := make([]string, 0, len(list.GetStatuses()))
	for n := range list.GetStatuses() {
		names = append(names, n)
	}
	sort.Strings(names)
	var services []string
	for _, n := range names {
		listed := list.GetStatuses()[n].GetStatus()
		got, err := healthCheck(ctx, hc, n)
		if err != nil {
			return fail(fmt.Sprintf("List names %q, and Check on it fails: %v", n, err), evidence...)
		}
		if got != listed {
			return fail(fmt.Sprintf("List says %q is %s, Check says %s", n, listed, got), evidence...)
		}
		// A name of the form package.Service is a gRPC service: it
		// follows "" (a check's name is judged by the HTTP probes).
		if n == "" || strings.Contains(n, ".") {
			services = append(services, fmt.Sprintf("%q %s", n, got))
			if got != overall {
				return fail(fmt.Sprintf("the service %q is %s while \"\" is %s: each service must follow the readiness of the whole", n, got, overall), evidence...)
			}
		}
	}
	evidence = append(evidence, fmt.Sprintf("List names %d: %s", len(names), strings.Join(quoteAll(names), ", ")))
	if len(services) > 0 {
		evidence = append(evidence, "services following \"\": "+strings.Join(services, ", "))
	}
	return pass(evidence...)
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

// rpcSeries returns the _count series of the RPC server duration
// histogram, each with its value.
func rpcSeries(exposition string) map[string]float64 {
	out := map[string]float64{}
	for l := range strings.SplitSeq(exposition, "\n") {
		if !strings.HasPrefix(l, "rpc_server_call_duration_seconds_count{") {
			continue
		}
		i := strings.LastIndexByte(l, '}')
		if i < 0 {
			continue
		}
		v, _ := strconv.ParseFloat(strings.TrimSpace(l[i+1:]), 64)
		out[l[:i+1]] = v
	}
	return out
}

func (a *auditor) checkGRPCMetrics(ctx context.Context) Result {
	conn, why := a.dialGRPC()
	if conn == nil {
		return skip(why)
	}
	defer conn.Close()
	if _, err := healthCheck(ctx, healthpb.NewHealthClient(conn), ""); err != nil {
		return fail("grpc.health.v1 Check, the call to measure: " + err.Error())
	}
	// The service records a call at its end, which may follow the answer.
	var before map[string]float64
	var m string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if m, err = a.metrics(ctx); err != nil {
			return fail(err.Error())
		}
		if before = rpcSeries(m); len(before) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(before) == 0 || !strings.Contains(m, "rpc_server_call_duration_seconds_bucket{") {
		return fail("no rpc_server_call_duration_seconds histogram on /metrics after a call (the OpenTelemetry RPC server metric)")
	}
	all := strings.Join(slices.Collect(maps.Keys(before)), "\n")
	for _, label := range []string{`rpc_system_name="grpc"`, "rpc_method=", "rpc_response_status_code="} {
		if !strings.Contains(all, label) {
			return fail("the RPC histogram has no "+strings.TrimSuffix(label, "=")+" label", fmt.Sprintf("%d series", len(before)))
		}
	}
	evidence := []string{fmt.Sprintf("after a Check: %d series of rpc_server_call_duration_seconds, with buckets, rpc_system_name=\"grpc\", rpc_method and rpc_response_status_code", len(before))}
	marker := randomValue("audit")
	for i := range grpcMadeUp {
		method := fmt.Sprintf("/%s.Made%d/Up%d", marker, i, i)
		if code := invokeMadeUp(ctx, conn, method); code != codes.Unimplemented {
			return fail(fmt.Sprintf("a method the server does not have answered %s, want UNIMPLEMENTED", code), evidence...)
		}
	}
	var added []string
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if m, err = a.metrics(ctx); err != nil {
			return fail(err.Error(), evidence...)
		}
		added = added[:0]
		other := 0.0
		for s, v := range rpcSeries(m) {
			if _, ok := before[s]; !ok {
				added = append(added, s)
			}
			if strings.Contains(s, `rpc_method="_OTHER"`) {
				other += v - before[s]
			}
		}
		if len(added) > 1 || other >= grpcMadeUp || time.Now().After(deadline) {
			break
		}
	}
	evidence = append(evidence, fmt.Sprintf("%d calls to %d made-up methods (/%s….MadeN/UpN): %d new series", grpcMadeUp, grpcMadeUp, marker[:9], len(added)))
	if len(added) == 1 {
		evidence = append(evidence, "new: "+added[0])
	}
	switch {
	case strings.Contains(m, marker):
		return fail("a method name the server does not have is a label value on /metrics: one series per name a caller makes up, unbounded", evidence...)
	case len(added) > 1:
		return fail(fmt.Sprintf("%d new series for %d made-up methods: unknown methods must fold into one (rpc_method=\"_OTHER\")", len(added), grpcMadeUp), evidence...)
	case len(added) == 1 && !strings.Contains(added[0], `rpc_method="_OTHER"`):
		return fail("the series of the made-up methods is not labelled rpc_method=\"_OTHER\"", append(evidence, added[0])...)
	}
	return pass(evidence...)
}

func (a *auditor) checkGRPCReflection(ctx context.Context) Result {
	conn, why := a.dialGRPC()
	if conn == nil {
		return skip(why)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, grpcCallTimeout)
	defer cancel()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err == nil {
		err = stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
	}
	var resp *reflectionpb.ServerReflectionResponse
	if err == nil || errors.Is(err, io.EOF) { // io.EOF: the server ended the stream; Recv has its status
		resp, err = stream.Recv()
	}
	switch code := status.Code(err); {
	case code == codes.Unimplemented:
		return pass("grpc.reflection.v1 ServerReflectionInfo: UNIMPLEMENTED")
	case err == nil:
		n := len(resp.GetListServicesResponse().GetService())
		return fail(fmt.Sprintf("grpc.reflection.v1 is served by default (%d services listed): anyone who reaches the port can read the whole API; serve it only when a setting asks (GRPC_REFLECTION=true)", n))
	default:
		return fail("grpc.reflection.v1 ServerReflectionInfo: " + err.Error())
	}
}

func (a *auditor) checkGRPCAccess(ctx context.Context) Result {
	conn, why := a.dialGRPC()
	if conn == nil {
		return skip(why)
	}
	defer conn.Close()
	id := randomValue("rid")
	method := "/" + randomValue("audit") + ".Access/Call"
	code := invokeMadeUp(ctx, conn, method, "x-request-id", id)
	p := a.target.Process
	var found []map[string]any
	for deadline := time.Now().Add(2 * time.Second); len(found) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		found = found[:0]
		for _, m := range p.jsonLinesWith(id) {
			if m["request_id"] == id {
				found = append(found, m)
			}
		}
	}
	evidence := []string{fmt.Sprintf("a call to a made-up method with an x-request-id: %s", code)}
	if len(found) != 1 {
		return fail(fmt.Sprintf("%d lines with the call's x-request-id as request_id, want one access line (msg=rpc)", len(found)), evidence...)
	}
	if found[0]["msg"] != "rpc" {
		return fail(fmt.Sprintf("the line with the call's request_id has msg %v, want rpc", found[0]["msg"]), evidence...)
	}
	for _, k := range []string{"rpc_method", "code", "duration"} {
		if _, ok := found[0][k]; !ok {
			return fail(fmt.Sprintf("the rpc access line has no %q", k), evidence...)
		}
	}
	return pass(append(evidence, fmt.Sprintf("one line: msg rpc, rpc_method %v, code %v", found[0]["rpc_method"], found[0]["code"]))...)
}

// watchEndBound is how long after the stop began a Watch stream open at it
// must be ended by the server: the drain delay the audit sets (1s) and
// margin for the stop.
const watchEndBound = 6 * time.Second

func (a *auditor) checkGRPCStop(ctx context.Context) Result {
	if why := a.noGRPC(); why != "" {
		return skip(why)
	}
	// A second instance, as for shutdown.no-loss: the first one's stop is
	// judged by the shutdown checks.
	p := a.target.Process
	q, err := StartWith(ctx, p.launcher, p.opts)
	if err != nil {
		return fail("a second instance to stop: " + err.Error())
	}
	defer q.Close()
	if q.GRPCAddr == "" {
		return fail("the second instance announced no gRPC listener")
	}
	conn, why := dialGRPCAddr(q.GRPCAddr)
	if conn == nil {
		return fail(why)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	wctx, cancel := context.WithTimeout(ctx, stopBound)
	defer cancel()
	watch, err := hc.Watch(wctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fail("grpc.health.v1 Watch on \"\": " + err.Error())
	}
	first, err := recvWithin(watch, grpcCallTimeout)
	if err != nil || first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fail(fmt.Sprintf("Watch on \"\" before the stop: %s %v, want SERVING", first.GetStatus(), err))
	}
	if err := q.stop(); err != nil {
		return fail(q.stopName() + ": " + err.Error())
	}
	began := time.Now()
	time.Sleep(50 * time.Millisecond) // the signal is delivered
	st, err := healthCheck(ctx, hc, "")
	if err != nil {
		return fail(fmt.Sprintf("Check on \"\" just after %s: %v (the gRPC listener must answer through the drain)", q.stopName(), err))
	}
	evidence := []string{fmt.Sprintf("50ms after the stop began (%s): Check on \"\" %s", q.stopName(), st)}
	if st != healthpb.HealthCheckResponse_NOT_SERVING {
		return fail(fmt.Sprintf("Check on \"\" is %s after %s, want NOT_SERVING: gRPC clients keep sending to a stopping service", st, q.stopName()), evidence...)
	}
	sawNotServing := false
	for {
		r, err := recvWithin(watch, watchEndBound-time.Since(began))
		if errors.Is(err, errStillOpen) {
			return fail(fmt.Sprintf("the Watch stream open at %s was not ended by the server within %s: it holds GracefulStop (grpc-go #8776)", q.stopName(), watchEndBound), evidence...)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return fail(fmt.Sprintf("the Watch stream ended with %v, want its end from the server (OK)", err), evidence...)
			}
			break
		}
		sawNotServing = sawNotServing || r.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING
	}
	evidence = append(evidence, fmt.Sprintf("the Watch stream open at the stop: NOT_SERVING seen %t, ended by the server %s after it", sawNotServing, time.Since(began).Round(100*time.Millisecond)))
	if !sawNotServing {
		return fail("the Watch stream ended without sending NOT_SERVING", evidence...)
	}
	code, ok := q.wait(stopBound)
	if !ok {
		return fail(fmt.Sprintf("still running %s after %s", stopBound, q.stopName()), evidence...)
	}
	evidence = append(evidence, fmt.Sprintf("exit %d, %s after the stop began", code, time.Since(began).Round(100*time.Millisecond)))
	if code != 0 {
		return fail(fmt.Sprintf("exit %d after %s, want 0", code, q.stopName()), evidence...)
	}
	return pass(evidence...)
}

// errStillOpen: a stream sent nothing and did not end in time.
var errStillOpen = errors.New("audit: the stream is still open")

// recvWithin receives from s, giving up after d (the stream stays open:
// its context's cancel ends it).
func recvWithin(s grpc.ServerStreamingClient[healthpb.HealthCheckResponse], d time.Duration) (*healthpb.HealthCheckResponse, error) {
	type got struct {
		r   *healthpb.HealthCheckResponse
		err error
	}
	ch := make(chan got, 1)
	go func() {
		r, err := s.Recv()
		ch <- got{r, err}
	}()
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case g := <-ch:
		return g.r, g.err
	case <-t.C:
		return nil, errStillOpen
	}
}
