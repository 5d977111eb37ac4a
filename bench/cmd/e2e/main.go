// Command e2e measures what the SDK costs a real service end to end:
// examples/service beside bare (./bare: the same routes on net/http,
// database/sql and log/slog alone, with a JSON access line), each a process
// of its own on loopback ports, loaded over HTTP:
//
//	cd bench && go run ./cmd/e2e [-duration 5s] [-rounds 3] [-rate 2000]
//
// Throughput is closed-loop, by wrk (Debian's package; ../scripts/wrk.sh
// installs it): -conns connections, each sending its next request when the
// last is answered, for -duration. Latency is open-loop, by the generator
// below: request i is due at start + i/rate and its latency counts from when
// it was due, so a stall shows in the figures instead of slowing the load
// (coordinated omission). A first row loads bare's GET /empty, a handler that
// does nothing: the floor that the machine, its loopback and the client set.
//
// The example runs twice: with its defaults (the access log, RED metrics,
// request ids, redaction, recovery; traces off), and with tracing on
// (OTEL_TRACES_EXPORTER=otlp, every request sampled, exported over
// OTLP/HTTP to a receiver in this process that answers 200 and drops the
// spans). Runs alternate between the services, -rounds times, and the
// ratios printed are the medians of each round's ratio to bare.
//
// Beside the throughput, each closed-loop run reports the CPU time the
// service's process spent per request (user and system, from
// /proc/PID/stat, over wrk's count): on a machine that other work loads,
// throughput swings with what the load generator and the neighbours get,
// the service's own CPU per request much less.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	duration := flag.Duration("duration", 5*time.Second, "how long each load runs")
	rounds := flag.Int("rounds", 3, "how many times the runs alternate between the services")
	rate := flag.Int("rate", 2000, "requests per second of the open-loop (latency) runs")
	conns := flag.Int("conns", 16, "connections, closed and open loop")
	wrkBin := flag.String("wrk", "", "path of wrk (default: the one ../scripts/wrk.sh prints)")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*duration, *rounds, *rate, *conns, *wrkBin); err != nil {
		log.Fatal(err)
	}
}

// target is one service process under load.
type target struct {
	name  string
	base  string // http://127.0.0.1:PORT
	stop  func() error
	pid   int
	paths []string
}

// result is one route's figures in one round.
type result struct {
	rps      float64
	cpu      time.Duration // the service's CPU time per request, closed loop
	p50, p99 time.Duration // open loop, from due
	errs     int
}

func run(duration time.Duration, rounds, rate, conns int, wrkBin string) error {
	if wrkBin == "" {
		out, err := exec.Command("../scripts/wrk.sh").Output()
		if err != nil {
			return fmt.Errorf("e2e: wrk: %w (run ../scripts/wrk.sh)", err)
		}
		wrkBin = strings.TrimSpace(string(out))
	}
	dir, err := os.MkdirTemp("", "operable-e2e-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ours, bare := filepath.Join(dir, "service"), filepath.Join(dir, "bare")
	for _, b := range []struct{ dir, pkg, out string }{{"..", "./examples/service", ours}, {".", "./cmd/e2e/bare", bare}} {
		build := exec.Command("go", "build", "-o", b.out, b.pkg)
		build.Dir, build.Stderr = b.dir, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("e2e: build %s: %w", b.pkg, err)
		}
	}

	receiver, err := newReceiver()
	if err != nil {
		return err
	}
	defer receiver.close()

	routes := []string{"/hello", "/items/1"}
	// The example's items in memory, as bare's: its default is a file
	// under data/, which would measure the disk beside the SDK.
	common := []string{"HTTP_ADDR=127.0.0.1:0", "ADMIN_ADDR=127.0.0.1:0", "SEED_ITEMS=one", "DATABASE_URL=sqlite::memory:",
		"PATH=" + os.Getenv("PATH")}
	var targets []*target
	defer func() {
		for _, t := range targets {
			if err := t.stop(); err != nil {
				log.Printf("%s: %v", t.name, err)
			}
		}
	}()
	for _, s := range []struct {
		name, bin string
		env       []string
		paths     []string
	}{
		{"bare", bare, common, append([]string{"/empty"}, routes...)},
		{"operable", ours, common, routes},
		{"operable+tracing", ours, append(slices.Clip(common),
			"OTEL_TRACES_EXPORTER=otlp", "OTEL_TRACES_SAMPLER=always_on",
			"OTEL_EXPORTER_OTLP_ENDPOINT="+receiver.url, "OTEL_BSP_SCHEDULE_DELAY=200"), routes},
	} {
		t, err := start(s.name, s.bin, s.env)
		if err != nil {
			return err
		}
		t.paths = s.paths
		targets = append(targets, t)
	}

	// Warm each service up (connections, pools, JIT-free but cache-warm).
	for _, t := range targets {
		for _, p := range t.paths {
			if _, _, err := wrk(wrkBin, t.base+p, conns, time.Second); err != nil {
				return err
			}
		}
	}

	// results[target][path] collects one result per round.
	results := map[string]map[string][]result{}
	for r := range rounds {
		// Rotate the order, so no service always runs first or last.
		order := slices.Clone(targets)
		for range r % len(order) {
			order = append(order[1:], order[0])
		}
		for _, t := range order {
			for _, p := range t.paths {
				before, err := cpuTime(t.pid)
				if err != nil {
					return err
				}
				rps, n, err := wrk(wrkBin, t.base+p, conns, duration)
				if err != nil {
					return err
				}
				after, err := cpuTime(t.pid)
				if err != nil {
					return err
				}
				cpu := (after - before) / time.Duration(max(n, 1))
				p50, p99, errs, err := openLoop(t.base+p, rate, duration, conns)
				if err != nil {
					return fmt.Errorf("e2e: %s %s: %w", t.name, p, err)
				}
				if results[t.name] == nil {
					results[t.name] = map[string][]result{}
				}
				results[t.name][p] = append(results[t.name][p], result{rps, cpu, p50, p99, errs})
				fmt.Printf("round %d  %-17s %-9s %8.0f req/s  %5.1f µs CPU/req  at %d/s: p50 %-8s p99 %-8s errors %d\n",
					r+1, t.name, p, rps, float64(cpu)/float64(time.Microsecond), rate, us(p50), us(p99), errs)
			}
		}
	}
	fmt.Printf("spans received by the OTLP receiver: %d export requests\n", receiver.requests())

	fmt.Printf("\nmedians of %d rounds (%s each, %d connections; latency open loop at %d/s, from due)\n", rounds, duration, conns, rate)
	fmt.Println("| service | route | throughput | vs bare | CPU/request | vs bare | p50 | vs bare | p99 | vs bare |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, t := range targets {
		for _, p := range t.paths {
			rs := results[t.name][p]
			base := results["bare"][p]
			ratio := func(f func(result) float64) string {
				if base == nil || t.name == "bare" {
					return ""
				}
				var xs []float64
				for i := range rs {
					xs = append(xs, f(rs[i])/f(base[i]))
				}
				lo, mid, hi := spread(xs)
				return fmt.Sprintf("%.2fx (%.2f-%.2f)", mid, lo, hi)
			}
			_, rps, _ := spread(collect(rs, func(r result) float64 { return r.rps }))
			_, p50, _ := spread(collect(rs, func(r result) float64 { return float64(r.p50) }))
			_, p99, _ := spread(collect(rs, func(r result) float64 { return float64(r.p99) }))
			_, cpu, _ := spread(collect(rs, func(r result) float64 { return float64(r.cpu) }))
			fmt.Printf("| %s | %s | %.0f/s | %s | %.1f µs | %s | %s | %s | %s | %s |\n", t.name, p,
				rps, ratio(func(r result) float64 { return r.rps }),
				cpu/float64(time.Microsecond), ratio(func(r result) float64 { return float64(r.cpu) }),
				us(time.Duration(p50)), ratio(func(r result) float64 { return float64(r.p50) }),
				us(time.Duration(p99)), ratio(func(r result) float64 { return float64(r.p99) }))
		}
	}
	return nil
}

func collect(rs []result, f func(result) float64) []float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return xs
}

// spread returns the lowest, the median and the highest of xs.
func spread(xs []float64) (lo, mid, hi float64) {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[0], xs[len(xs)/2], xs[len(xs)-1]
}

func us(d time.Duration) string {
	if d >= time.Millisecond {
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}

// start runs bin with env, reads the address of its app listener from its
// "listening" log line, waits until it is ready (the example's /startupz
// on its admin listener; bare is ready once it listens), and drains the
// rest of its output as a log shipper would.
func start(name, bin string, env []string) (*target, error) {
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("e2e: start %s: %w", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() error {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			return err
		}
		select {
		case err := <-exited:
			return err
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("still running 15 s after SIGTERM: killed")
		}
	}
	addrs := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var app, admin string
		for sc.Scan() {
			var rec struct{ Msg, Listener, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.Msg != "listening" {
				continue
			}
			switch rec.Listener {
			case "app":
				app = rec.Addr
			case "admin":
				admin = rec.Addr
			}
			if app != "" && (admin != "" || name == "bare") {
				addrs <- [2]string{app, admin}
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var a [2]string
	select {
	case a = <-addrs:
	case err := <-exited:
		return nil, fmt.Errorf("e2e: %s exited before listening: %v", name, err)
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("e2e: %s: no listening line within 10 s", name)
	}
	t := &target{name: name, base: "http://" + a[0], stop: stop, pid: cmd.Process.Pid}
	ready := t.base + "/empty"
	if a[1] != "" {
		ready = "http://" + a[1] + "/startupz"
	}
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, err := client.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = stop()
			return nil, fmt.Errorf("e2e: %s: %s not 200 within 10 s", name, ready)
		}
	}
	client.CloseIdleConnections()
	return t, nil
}

var wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
var wrkCount = regexp.MustCompile(`(\d+) requests in`)
var wrkErrs = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)|Socket errors: .*`)

// wrk loads url closed-loop for d (whole seconds, wrk's unit) and returns
// the requests per second and how many requests were answered.
func wrk(bin, url string, conns int, d time.Duration) (float64, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-t", "1", "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", max(1, int(d.Round(time.Second).Seconds()))), url)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("e2e: wrk %s: %w", url, err)
	}
	if e := wrkErrs.Find(out); e != nil {
		return 0, 0, fmt.Errorf("e2e: wrk %s: %s", url, e)
	}
	m, c := wrkRPS.FindSubmatch(out), wrkCount.FindSubmatch(out)
	if m == nil || c == nil {
		return 0, 0, fmt.Errorf("e2e: wrk %s: no Requests/sec or request count in %q", url, out)
	}
	rps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, 0, fmt.Errorf("e2e: wrk %s: %w", url, err)
	}
	n, err := strconv.Atoi(string(c[1]))
	if err != nil {
		return 0, 0, fmt.Errorf("e2e: wrk %s: %w", url, err)
	}
	return rps, n, nil
}

// clockTick is the unit of /proc/PID/stat's times: USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

// cpuTime returns the user and system CPU time process pid has used, its
// threads' together.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("e2e: cpu time: %w", err)
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after its closing parenthesis, where the state (field 3) begins.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("e2e: cpu time: no command name in /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("e2e: cpu time: %d fields in /proc/%d/stat", len(f), pid)
	}
	var ticks int64
	for _, s := range f[11:13] { // utime and stime, fields 14 and 15
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("e2e: cpu time: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// openLoop sends rate requests per second to url for d over conns
// keep-alive connections and returns the p50 and p99 of each request's
// latency from when it was due, and how many failed.
func openLoop(url string, rate int, d time.Duration, conns int) (p50, p99 time.Duration, errs int, err error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	get := func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	due := make(chan time.Time, n)
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for t := range due {
				err := get()
				end := time.Now()
				mu.Lock()
				lat = append(lat, end.Sub(t))
				if err != nil {
					errs++
				}
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	for i := range n {
		t := start.Add(time.Duration(i) * interval)
		if w := time.Until(t); w > 0 {
			time.Sleep(w)
		}
		due <- t
	}
	close(due)
	wg.Wait()
	if len(lat) == 0 {
		return 0, 0, errs, errors.New("no request sent")
	}
	slices.Sort(lat)
	q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))] }
	return q(0.5), q(0.99), errs, nil
}

// receiver is an OTLP/HTTP endpoint on loopback that answers every export
// with 200 and an empty response, dropping the spans.
type receiver struct {
	url  string
	srv  *http.Server
	mu   sync.Mutex
	reqs int
}

func newReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String()}
	r.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, 64<<20))
		r.mu.Lock()
		r.reqs++
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs
}

func (r *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}
