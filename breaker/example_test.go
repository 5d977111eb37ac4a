package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/operable-go/operable/breaker"
)

// A breaker in front of an HTTP dependency: after MinCalls calls of which
// half failed, it opens and answers at once, without calling.
func ExampleBreaker_Transport() {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer upstream.Close()
	b, _ := breaker.New("inventory", breaker.Settings{MinCalls: 3, OpenTimeout: time.Minute}, breaker.Options{})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: b.Transport(tr)}
	for range 4 {
		resp, err := client.Get(upstream.URL)
		if err != nil {
			fmt.Println(errors.Is(err, breaker.ErrRejected), b.State())
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, b.State())
	}
	// Output:
	// 502 closed
	// 502 closed
	// 502 open
	// true open
}

// Do guards any call; the context it passes is bounded by CallTimeout.
func ExampleDo() {
	b, _ := breaker.New("pricing", breaker.Settings{CallTimeout: time.Second}, breaker.Options{})
	price, err := breaker.Do(context.Background(), b, func(ctx context.Context) (int, error) {
		_, hasDeadline := ctx.Deadline()
		fmt.Println("deadline:", hasDeadline)
		return 42, nil
	})
	fmt.Println(price, err, b.Info().Counts.Successes)
	// Output:
	// deadline: true
	// 42 <nil> 1
}

// Allow guards a call whose outcome comes later, in a callback (here a
// goroutine's): each ticket is one call, counted by its Done; once the
// failures open the breaker, Allow rejects at once.
func ExampleBreaker_Allow() {
	b, _ := breaker.New("events", breaker.Settings{MinCalls: 2, FailureRatio: 1}, breaker.Options{})
	ended := make(chan error)
	for range 3 {
		ticket, err := b.Allow(context.Background())
		if err != nil {
			fmt.Println(err)
			continue
		}
		go func() { ended <- errors.New("connection reset") }() // the call, ending later
		ticket.Done(<-ended)
		fmt.Println(b.State(), b.Info().Counts.Failures)
	}
	// Output:
	// closed 1
	// open 0
	// breaker: events rejected the call: open
}

// An operator holds a breaker open (during a dependency's maintenance,
// say) and gives it back.
func ExampleBreaker_Force() {
	b, _ := breaker.New("billing", breaker.Settings{}, breaker.Options{})
	_ = b.Force(breaker.HoldOpen)
	_, err := breaker.Do(context.Background(), b, func(context.Context) (struct{}, error) { return struct{}{}, nil })
	fmt.Println(b.State(), err)
	_ = b.Force(breaker.Auto)
	fmt.Println(b.State())
	// Output:
	// forced_open breaker: billing rejected the call: forced_open
	// closed
}

// New with settings from config; zero fields take their defaults.
func ExampleNew() {
	b, err := breaker.New("search", breaker.Settings{FailureRatio: 0.25}, breaker.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := b.Settings()
	fmt.Println(b.Name(), s.FailureRatio, s.MinCalls, s.Window, s.CallTimeout)
	_, err = breaker.New("search", breaker.Settings{FailureRatio: 2}, breaker.Options{})
	fmt.Println(err)
	// Output:
	// search 0.25 20 1m0s 10s
	// breaker search: FAILURE_RATIO must be in (0, 1]
}
