// Command probeload measures /readyz latency over loopback at a fixed rate,
// ours beside github.com/alexliesenfeld/health configured the same way (10
// background checks, one taking 2 s):
//
//	cd bench && go run ./cmd/probeload [-rate 5000] [-duration 5s] [-conns 32]
//
// The load is open-loop: request i is due at start + i/rate, and its latency
// is counted from when it was due, not from when a client was free to send
// it, so a stall shows in the figures instead of slowing the load
// (coordinated omission). A first row loads a handler that does nothing:
// the floor that the machine, its loopback and this client set.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/operable-go/operable/bench"
)

func main() {
	rate := flag.Int("rate", 5000, "requests per second")
	duration := flag.Duration("duration", 5*time.Second, "how long each probe is loaded")
	conns := flag.Int("conns", 32, "concurrent keep-alive connections")
	flag.Parse()
	log.SetFlags(0)

	for _, p := range []struct {
		name string
		new  func() (http.Handler, func(), error)
	}{
		// The floor: a handler that does nothing, so the figures of this
		// machine's loopback, HTTP stack and client are known.
		{"floor", func() (http.Handler, func(), error) {
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}), func() {}, nil
		}},
		{"operable", bench.OperableProbe},
		{"alexliesenfeld", bench.AlexliesenfeldProbe},
	} {
		h, stop, err := p.new()
		if err != nil {
			log.Fatal(err)
		}
		fromDue, fromSend, errs, err := load(h, *rate, *duration, *conns)
		stop()
		if err != nil {
			log.Fatalf("%s: %v", p.name, err)
		}
		fmt.Printf("%-15s %d req at %d/s, %d errors\n", p.name, len(fromDue), *rate, errs)
		fmt.Printf("  from due:  %s\n  from send: %s\n", quantiles(fromDue), quantiles(fromSend))
	}
}

func quantiles(lat []time.Duration) string {
	slices.Sort(lat)
	q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))].Round(time.Microsecond) }
	return fmt.Sprintf("p50 %-9s p90 %-9s p99 %-9s max %s", q(0.5), q(0.9), q(0.99), lat[len(lat)-1].Round(time.Microsecond))
}

// load serves h on a loopback port, waits until it answers 200, then sends
// rate requests per second for d over conns connections. It returns each
// request's latency from when it was due and from when it was sent.
func load(h http.Handler, rate int, d time.Duration, conns int) (fromDue, fromSend []time.Duration, errs int, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, 0, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/readyz"
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
	for deadline := time.Now().Add(10 * time.Second); get() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return nil, nil, 0, fmt.Errorf("probe not 200 within 10s")
		}
	}

	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	due := make(chan time.Time, n)
	fromDue = make([]time.Duration, 0, n)
	fromSend = make([]time.Duration, 0, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for t := range due {
				sent := time.Now()
				err := get()
				end := time.Now()
				mu.Lock()
				fromDue = append(fromDue, end.Sub(t))
				fromSend = append(fromSend, end.Sub(sent))
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
	return fromDue, fromSend, errs, nil
}
