package bench

import (
	"context"
	"net/http"
	"time"

	alhealth "github.com/alexliesenfeld/health"

	"github.com/operable-go/operable/health"
)

// The probes compared: /readyz over 10 checks run in the background every
// 5 s, one of which takes 2 s, configured the same way in both libraries.

const (
	probeChecks   = 10
	probeInterval = 5 * time.Second
	slowCheck     = 2 * time.Second
)

func probeCheck(i int) func(context.Context) error {
	if i == 0 {
		return func(ctx context.Context) error {
			select {
			case <-time.After(slowCheck):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return func(context.Context) error { return nil }
}

// OperableProbe returns our /readyz handler and a stop function.
func OperableProbe() (http.Handler, func(), error) {
	var c health.Checker
	for i := range probeChecks {
		err := c.Add(health.Check{
			Name: "check-" + string(rune('a'+i)), Func: probeCheck(i),
			Interval: probeInterval, Timeout: 3 * time.Second,
		})
		if err != nil {
			return nil, nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return c.Handler(health.Readiness, health.HandlerOptions{}), func() { cancel(); <-done }, nil
}

// AlexliesenfeldProbe returns github.com/alexliesenfeld/health's handler for
// the same checks and a stop function.
func AlexliesenfeldProbe() (http.Handler, func(), error) {
	opts := []alhealth.CheckerOption{alhealth.WithTimeout(3 * time.Second)}
	for i := range probeChecks {
		opts = append(opts, alhealth.WithPeriodicCheck(probeInterval, 0, alhealth.Check{
			Name: "check-" + string(rune('a'+i)), Check: probeCheck(i),
		}))
	}
	checker := alhealth.NewChecker(opts...)
	return alhealth.NewHandler(checker), func() { checker.Stop() }, nil
}
