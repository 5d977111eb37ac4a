package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// maxBody bounds what the audit reads of any answer.
const maxBody = 4 << 20

// checklist is every check, in the order they run.
var checklist = []Check{
	{ID: "probes.health-json", Title: "/livez, /readyz and /startupz answer 200 in application/health+json", run: (*auditor).checkProbes},
	{ID: "probes.verbose", Title: "?verbose lists each check by name with its status", run: (*auditor).checkVerbose},
	{ID: "probes.exclude", Title: "?exclude=NAME leaves that check out", run: (*auditor).checkExclude},
	{ID: "liveness.independent", Title: "liveness checks no dependency (a database down must not restart the pod)", run: (*auditor).checkLiveness},
	{ID: "metrics.red", Title: "/metrics has the RED histogram of the app's requests, by route template", run: (*auditor).checkRED},
	{ID: "metrics.cardinality", Title: "requests to 50 different paths add no series per path", run: (*auditor).checkCardinality},
	{ID: "debug.guard", Title: "/debug/ refuses callers without the admin token or with a wrong one", run: (*auditor).checkDebugGuard},
	{ID: "timeouts.read-header", Title: "a client that never finishes its headers is cut off (both listeners)", run: (*auditor).checkReadHeaderTimeout},
	{ID: "secrets.http", Title: "values planted in requests (and the admin token) appear in no admin page", run: (*auditor).checkSecretsHTTP},
	{ID: "grpc.health", Title: "grpc.health.v1 Check on \"\" is SERVING once started, and each service List names follows it", run: (*auditor).checkGRPCHealth},
	{ID: "grpc.metrics", Title: "/metrics has the RPC histogram by system, method and code; 20 made-up methods add at most one series (_OTHER)", run: (*auditor).checkGRPCMetrics},
	{ID: "grpc.reflection", Title: "the gRPC reflection service is not served unless a setting asks for it", run: (*auditor).checkGRPCReflection},
	{ID: "logs.access", Title: "a request has one access line with its X-Request-ID, method, status and duration", needsProcess: true, run: (*auditor).checkAccessLog},
	{ID: "grpc.access", Title: "a gRPC call has one access line (msg=rpc) with its x-request-id, method, code and duration", needsProcess: true, run: (*auditor).checkGRPCAccess},
	{ID: "shutdown.readiness", Title: "readiness fails from the first instant of SIGTERM while liveness passes", needsProcess: true, run: (*auditor).checkStopReadiness},
	{ID: "shutdown.no-loss", Title: "kept-alive clients that never retry lose no request through SIGTERM", needsProcess: true, run: (*auditor).checkNoLoss},
	{ID: "grpc.stop", Title: "after SIGTERM, Check on \"\" is NOT_SERVING at once, an open Watch stream is ended by the server, and the process exits 0", needsProcess: true, run: (*auditor).checkGRPCStop},
	{ID: "shutdown.exit", Title: "the process exits 0 after SIGTERM, within its shutdown timeout", needsProcess: true, run: (*auditor).checkStopExit},
	{ID: "logs.json", Title: "every stdout line is one JSON object with time, level and msg", needsProcess: true, run: (*auditor).checkLogsJSON},
	{ID: "secrets.logs", Title: "no planted value (admin token, credentials sent in requests) in stdout or stderr", needsProcess: true, run: (*auditor).checkSecretsLogs},
	{ID: "exit.config", Title: "a bad setting exits 78 naming the variable, never its value", needsProcess: true, run: (*auditor).checkExitConfig},
	{ID: "exit.usage", Title: "an unknown flag exits 64", needsProcess: true, run: (*auditor).checkExitUsage},
}

// answer is one response, its body read up to maxBody.
type answer struct {
	status int
	header http.Header
	body   string
}

func (a *auditor) get(ctx context.Context, base, path string, header ...string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return answer{}, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(body)}, nil
}

// healthBody is the part of an application/health+json body the checks
// read.
type healthBody struct {
	Status string `json:"status"`
	Checks map[string][]struct {
		ComponentType string `json:"componentType"`
		Status        string `json:"status"`
	} `json:"checks"`
}

func (a *auditor) checkProbes(ctx context.Context) Result {
	var evidence []string
	for _, path := range []string{"/livez", "/readyz", "/startupz"} {
		ans, err := a.get(ctx, a.target.AdminURL, path)
		if err != nil {
			return fail(fmt.Sprintf("GET %s: %v", path, err), evidence...)
		}
		ct := ans.header.Get("Content-Type")
		evidence = append(evidence, fmt.Sprintf("GET %s: %d %s", path, ans.status, ct))
		var hb healthBody
		switch {
		case ans.status != http.StatusOK:
			return fail(fmt.Sprintf("GET %s answered %d on a started service, want 200", path, ans.status), evidence...)
		case !strings.HasPrefix(ct, "application/health+json"):
			return fail(fmt.Sprintf("GET %s is %q, want application/health+json", path, ct), evidence...)
		case json.Unmarshal([]byte(ans.body), &hb) != nil || (hb.Status != "pass" && hb.Status != "warn"):
			return fail(fmt.Sprintf("GET %s: the body has no status pass or warn", path), evidence...)
		}
	}
	return pass(evidence...)
}

// verbose reads path?verbose (with the token, when known) and returns its
// checks' names, sorted.
func (a *auditor) verbose(ctx context.Context, path string) (healthBody, []string, error) {
	var header []string
	if a.opts.Token != "" {
		header = []string{"Authorization", "Bearer " + a.opts.Token}
	}
	ans, err := a.get(ctx, a.target.AdminURL, path, header...)
	if err != nil {
		return healthBody{}, nil, err
	}
	var hb healthBody
	if err := json.Unmarshal([]byte(ans.body), &hb); err != nil {
		return healthBody{}, nil, fmt.Errorf("GET %s: %d, not health+json: %w", path, ans.status, err)
	}
	names := make([]string, 0, len(hb.Checks))
	for n := range hb.Checks {
		names = append(names, n)
	}
	sort.Strings(names)
	return hb, names, nil
}

func (a *auditor) checkVerbose(ctx context.Context) Result {
	var evidence []string
	for _, path := range []string{"/livez?verbose", "/readyz?verbose"} {
		hb, names, err := a.verbose(ctx, path)
		if err != nil {
			return fail(err.Error(), evidence...)
		}
		evidence = append(evidence, fmt.Sprintf("GET %s: %d checks: %s", path, len(names), strings.Join(names, ", ")))
		if len(names) == 0 {
			return fail(fmt.Sprintf("GET %s lists no check", path), evidence...)
		}
		for _, n := range names {
			if len(hb.Checks[n]) == 0 || hb.Checks[n][0].Status == "" {
				return fail(fmt.Sprintf("GET %s: check %s has no status", path, n), evidence...)
			}
		}
	}
	return pass(evidence...)
}

func (a *auditor) checkExclude(ctx context.Context) Result {
	_, names, err := a.verbose(ctx, "/readyz?verbose")
	if err != nil {
		return fail(err.Error())
	}
	if len(names) == 0 {
		return skip("readiness lists no check to exclude")
	}
	name := names[0]
	_, after, err := a.verbose(ctx, "/readyz?verbose&exclude="+url.QueryEscape(name))
	if err != nil {
		return fail(err.Error())
	}
	evidence := []string{fmt.Sprintf("GET /readyz?verbose&exclude=%s: %s", name, strings.Join(after, ", "))}
	if slices.Contains(after, name) {
		return fail("the excluded check is still listed", evidence...)
	}
	return pass(evidence...)
}

// dependency matches the names of checks of things outside the process.
var dependency = regexp.MustCompile(`(?i)(^|[-_.:])(db|database|sql|postgres|pg|mysql|redis|mongo|vault|kafka|nats|rabbit|amqp|s3|http|grpc|upstream|api|dns|tcp)([-_.:]|$)`)

func (a *auditor) checkLiveness(ctx context.Context) Result {
	hb, names, err := a.verbose(ctx, "/livez?verbose")
	if err != nil {
		return fail(err.Error())
	}
	evidence := []string{"liveness checks: " + strings.Join(names, ", ")}
	for _, n := range names {
		kind := ""
		if len(hb.Checks[n]) > 0 {
			kind = hb.Checks[n][0].ComponentType
		}
		if kind == "datastore" || kind == "http" || dependency.MatchString(n) {
			return fail(fmt.Sprintf("liveness runs %s (componentType %q), a dependency: when it is down, Kubernetes restarts every pod and the outage spreads; make it a readiness check", n, kind), evidence...)
		}
	}
	return pass(evidence...)
}

// durationSeries returns the lines of the HTTP server duration histogram's
// _count series in a Prometheus text exposition.
func durationSeries(exposition string) []string {
	var out []string
	for _, l := range strings.Split(exposition, "\n") {
		if strings.HasPrefix(l, "http_server_request_duration_seconds_count{") {
			out = append(out, l[:strings.LastIndexByte(l, '}')+1])
		}
	}
	return out
}

func (a *auditor) metrics(ctx context.Context) (string, error) {
	ans, err := a.get(ctx, a.target.AdminURL, "/metrics")
	if err != nil {
		return "", err
	}
	if ans.status != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: %d", ans.status)
	}
	return ans.body, nil
}

// noApp is why the checks of app requests skip a service with no app
// listener known.
const noApp = "no app listener (no -app URL given, none announced): the checks of app requests do not apply, as to a worker that serves none"

func (a *auditor) checkRED(ctx context.Context) Result {
	if a.target.AppURL == "" {
		return skip(noApp)
	}
	paths, given := a.opts.AppPaths, len(a.opts.AppPaths) > 0
	if !given {
		paths = []string{"/"}
	}
	var evidence []string
	routed := false                       // a path answered below 400: a route served it
	unknown := "/" + randomValue("audit") // a path no service has
	for _, p := range append(slices.Clone(paths), unknown) {
		ans, err := a.get(ctx, a.target.AppURL, p)
		if err != nil {
			return fail(fmt.Sprintf("GET %s on the app listener: %v", p, err), evidence...)
		}
		if p == unknown {
			evidence = append(evidence, fmt.Sprintf("GET %s… (a path no service has): %d", p[:10], ans.status))
			continue
		}
		evidence = append(evidence, fmt.Sprintf("GET %s: %d", p, ans.status))
		routed = routed || ans.status < 400
	}
	m, err := a.metrics(ctx)
	if err != nil {
		return fail(err.Error(), evidence...)
	}
	series := durationSeries(m)
	if len(series) == 0 {
		return fail("no http_server_request_duration_seconds histogram on /metrics (the OpenTelemetry HTTP server metric)", evidence...)
	}
	evidence = append(evidence, fmt.Sprintf("%d series of http_server_request_duration_seconds", len(series)))
	all := strings.Join(series, "\n")
	for _, label := range []string{"http_request_method=", "http_response_status_code="} {
		if !strings.Contains(all, label) {
			return fail("the histogram has no "+strings.TrimSuffix(label, "=")+" label", evidence...)
		}
	}
	hasRoute := strings.Contains(all, "http_route=")
	switch {
	case given && !routed:
		return fail("no path of Options.AppPaths answered below 400: name paths the app's routes serve", evidence...)
	case routed && !hasRoute:
		return fail("a request a route served made no series with http_route: the histogram is not labelled by route template", evidence...)
	case !routed && !hasRoute:
		// Nothing a route served was measured: the label cannot be judged.
		return Result{Status: Skip, Evidence: evidence,
			Reason: "no routed series: no request a route served was measured, so the http_route label is unproven (a worker serves no route; for a service, Options.AppPaths or -app-path names paths its routes serve); the histogram of unmatched requests is there"}
	}
	return pass(evidence...)
}

func (a *auditor) checkCardinality(ctx context.Context) Result {
	if a.target.AppURL == "" {
		return skip(noApp)
	}
	before, err := a.metrics(ctx)
	if err != nil {
		return fail(err.Error())
	}
	marker := randomValue("audit")
	for i := range 50 {
		if _, err := a.get(ctx, a.target.AppURL, fmt.Sprintf("/%s/%d", marker, i)); err != nil {
			return fail("GET on the app listener: " + err.Error())
		}
	}
	after, err := a.metrics(ctx)
	if err != nil {
		return fail(err.Error())
	}
	nb, na := len(durationSeries(before)), len(durationSeries(after))
	evidence := []string{fmt.Sprintf("series of http_server_request_duration_seconds: %d before, %d after 50 requests to /%s/0../%s/49", nb, na, marker[:9]+"…", marker[:9]+"…")}
	if strings.Contains(after, marker) {
		return fail("the raw request path is a label value on /metrics: one series per URL, unbounded", evidence...)
	}
	if na-nb > 2 {
		return fail(fmt.Sprintf("%d new series for 50 paths: a label follows the path", na-nb), evidence...)
	}
	return pass(evidence...)
}

func (a *auditor) checkDebugGuard(ctx context.Context) Result {
	var evidence []string
	for _, path := range []string{"/debug/config", "/debug/pprof/", "/debug/info"} {
		for _, h := range [][]string{nil, {"Authorization", "Bearer " + randomValue("wrong")}, {"Authorization", "Basic YWRtaW46YWRtaW4="}} {
			ans, err := a.get(ctx, a.target.AdminURL, path, h...)
			if err != nil {
				return fail(fmt.Sprintf("GET %s: %v", path, err), evidence...)
			}
			who := "no token"
			if h != nil {
				who = "a wrong " + strings.Fields(h[1])[0] + " credential"
			}
			evidence = append(evidence, fmt.Sprintf("GET %s with %s: %d", path, who, ans.status))
			if ans.status < 400 {
				return fail(fmt.Sprintf("GET %s with %s answered %d: the debug pages are open", path, who, ans.status), evidence...)
			}
		}
	}
	if a.opts.Token != "" {
		ans, err := a.get(ctx, a.target.AdminURL, "/debug/info", "Authorization", "Bearer "+a.opts.Token)
		if err == nil {
			evidence = append(evidence, fmt.Sprintf("GET /debug/info with the token: %d", ans.status))
		}
	}
	return pass(evidence...)
}

func (a *auditor) checkReadHeaderTimeout(ctx context.Context) Result {
	bases := []string{a.target.AdminURL}
	if a.target.AppURL != "" {
		bases = append(bases, a.target.AppURL)
	}
	type outcome struct {
		base string
		took time.Duration
		err  error
	}
	results := make([]outcome, len(bases))
	var wg sync.WaitGroup
	for i, base := range bases {
		wg.Go(func() {
			took, err := slowHeader(ctx, base, a.opts.HeaderTimeout)
			results[i] = outcome{base, took, err}
		})
	}
	wg.Wait()
	var evidence []string
	for _, r := range results {
		if r.err != nil {
			evidence = append(evidence, fmt.Sprintf("%s: %v", r.base, r.err))
			return fail(fmt.Sprintf("%s: %v", r.base, r.err), evidence...)
		}
		evidence = append(evidence, fmt.Sprintf("%s: half a request's headers, cut off after %s", r.base, r.took.Round(100*time.Millisecond)))
	}
	return pass(evidence...)
}

// slowHeader opens a connection to base, sends the start of a request and
// never ends its headers, and returns how long the server took to close it.
func slowHeader(ctx context.Context, base string, bound time.Duration) (time.Duration, error) {
	u, err := url.Parse(base)
	if err != nil {
		return 0, err
	}
	if u.Scheme != "http" {
		return 0, errors.New("only an http listener can be probed with a raw connection")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	if _, err := fmt.Fprintf(c, "GET /livez HTTP/1.1\r\nHost: %s\r\nX-Audit: ", u.Host); err != nil {
		return 0, err
	}
	_ = c.SetReadDeadline(start.Add(bound))
	_, err = bufio.NewReader(c).ReadByte()
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return took, fmt.Errorf("still open after %s: no read-header timeout", bound)
	}
	return took, nil
}

// plantedRequests sends requests that carry planted credentials in the
// places clients put them, and returns the values planted.
func (a *auditor) plantedRequests(ctx context.Context) ([]string, error) {
	if a.target.AppURL == "" {
		return nil, nil
	}
	bearer, apiKey, cookie, query := randomValue("bearer"), randomValue("apikey"), randomValue("cookie"), randomValue("query")
	_, err := a.get(ctx, a.target.AppURL, "/?api_key="+query+"&page=1",
		"Authorization", "Bearer "+bearer, "X-Api-Key", apiKey, "Cookie", "session="+cookie, "X-Request-ID", randomValue("rid"))
	if err != nil {
		return nil, err
	}
	planted := []string{bearer, apiKey, cookie, query}
	// The same credentials in gRPC metadata: on grpc.health.v1's Check,
	// which every service serves (so its interceptors see it), and on a
	// method no service has (its access line is a warning with the reason).
	if conn, _ := a.dialGRPC(); conn != nil {
		defer conn.Close()
		gBearer, gKey := randomValue("grpcbearer"), randomValue("grpcapikey")
		md := []string{"authorization", "Bearer " + gBearer, "x-api-key", gKey}
		_, _ = call(ctx, func(ctx context.Context) (*healthpb.HealthCheckResponse, error) {
			return healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		}, md...)
		invokeMadeUp(ctx, conn, "/audit.Planted/Call", md...)
		planted = append(planted, gBearer, gKey)
	}
	return planted, nil
}

func (a *auditor) checkSecretsHTTP(ctx context.Context) Result {
	planted, err := a.plantedRequests(ctx)
	if err != nil {
		return fail("GET on the app listener: " + err.Error())
	}
	a.planted = append(a.planted, planted...)
	if len(a.planted) == 0 {
		return skip("nothing planted: no app URL and a service the audit did not start")
	}
	pages := []string{"/metrics", "/livez?verbose", "/readyz?verbose", "/startupz?verbose"}
	if a.opts.Token != "" {
		pages = append(pages, "/debug/config", "/debug/info", "/debug/flags", "/debug/breakers", "/debug/loglevel")
	}
	var evidence []string
	for _, p := range pages {
		var header []string
		if a.opts.Token != "" {
			header = []string{"Authorization", "Bearer " + a.opts.Token}
		}
		ans, err := a.get(ctx, a.target.AdminURL, p, header...)
		if err != nil {
			return fail(fmt.Sprintf("GET %s: %v", p, err), evidence...)
		}
		evidence = append(evidence, fmt.Sprintf("GET %s: %d, %d bytes", p, ans.status, len(ans.body)))
		if i := slices.IndexFunc(a.planted, func(v string) bool { return strings.Contains(ans.body, v) }); i >= 0 {
			return fail(fmt.Sprintf("GET %s shows a planted value (%s)", p, a.describePlanted(i)), evidence...)
		}
	}
	if a.opts.Token == "" {
		evidence = append(evidence, "no token (-token): the /debug/ pages were not read")
	}
	return pass(evidence...)
}

// describePlanted names the planted value at i without quoting it.
func (a *auditor) describePlanted(i int) string {
	v := a.planted[i]
	for _, p := range []string{"token", "bearer", "apikey", "cookie", "query", "grpcbearer", "grpcapikey"} {
		if strings.HasPrefix(v, p) {
			return map[string]string{"token": "the ADMIN_TOKEN", "bearer": "an Authorization bearer token",
				"apikey": "an X-Api-Key header", "cookie": "a session cookie", "query": "an api_key query parameter",
				"grpcbearer": "a bearer token in gRPC metadata", "grpcapikey": "an x-api-key in gRPC metadata"}[p]
		}
	}
	return "a planted value"
}
