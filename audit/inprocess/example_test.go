package inprocess_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/audit"
	"github.com/operable-go/operable/audit/inprocess"
)

// A team's test runs the audit against its service, built by the same
// setup its main gives operable.Main, without building a binary.
func ExampleStart() {
	setup := func(ctx context.Context, s *operable.Service) error {
		s.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
		return nil
	}
	ctx := context.Background()
	p, err := inprocess.Start(ctx, operable.Options{Name: "hello"}, setup, audit.StartOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	report, err := audit.Run(ctx, p.Target(), audit.Options{Checks: []string{"probes", "logs.access", "shutdown.exit", "exit"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range report.Results {
		fmt.Println(r.ID, r.Status)
	}
	// Output:
	// probes.health-json pass
	// probes.verbose pass
	// probes.exclude pass
	// logs.access pass
	// shutdown.exit pass
	// exit.config pass
	// exit.usage skip
}
