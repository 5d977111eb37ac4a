// Command second is the README's "second hour": a metric and a span of
// its own, live configuration with a prefix, and a start-up task.
package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/operable-go/operable"
)

// Config is read from SECOND_* variables and config/ files ("second:
// {page_size: 20}"); an unknown SECOND_* variable stops the service.
type Config struct {
	PageSize int           `env:"PAGE_SIZE" envDefault:"10" desc:"items per page, followed live"`
	WarmUp   time.Duration `env:"WARM_UP" envDefault:"50ms" reload:"restart" desc:"the start-up task's work"`
}

func main() {
	cfg := Config{}
	operable.Main(operable.Options{Name: "second", Config: &cfg, ConfigPrefix: "SECOND_"}, func(ctx context.Context, s *operable.Service) error {
		live, err := operable.Live[Config](s)
		if err != nil {
			return err
		}
		pages, err := s.Meter("second").Int64Counter("pages.served") // pages_served_total on /metrics
		if err != nil {
			return err
		}
		s.HandleFunc("GET /items", func(w http.ResponseWriter, r *http.Request) {
			ctx, span := s.Tracer("second").Start(r.Context(), "list items") // a child of the request's span
			defer span.End()
			pages.Add(ctx, 1)
			fmt.Fprintf(w, "%d items\n", live.Load().PageSize) // the value of the last good reload
		})
		return s.AddStartupTask(operable.StartupTask{Name: "warm-up", Timeout: 5 * time.Second,
			Func: func(ctx context.Context) error { // /startupz answers 503 until it returns
				select {
				case <-time.After(cfg.WarmUp):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}})
	})
}
