package shutdowntest_test

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"

	"github.com/operable-go/operable/shutdown/shutdowntest"
)

func ExampleMeasure() {
	// The service under test, started as Kubernetes would start it.
	cmd := exec.Command("./myservice")
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	// ... wait until its /startupz answers 200 ...
	report, err := shutdowntest.Measure(context.Background(), shutdowntest.Load{
		URLs: []string{"http://127.0.0.1:8080/orders/1", "http://127.0.0.1:8080/reports/slow"},
	}, func() error { return cmd.Process.Signal(syscall.SIGTERM) })
	if err == nil {
		err = report.Err() // nil when no accepted request was dropped
	}
	fmt.Println(report, err)
}

// The kept-alive mode: 16 clients that keep their connections alive and
// never retry, each sending POSTs back to back, through SIGTERM and until
// the listener refuses them. Report.Lost counts the requests written on a
// kept-alive connection that the stop left unanswered.
func ExampleMeasure_keptAlive() {
	cmd := exec.Command("./myservice")
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	// ... wait until its /startupz answers 200 ...
	report, err := shutdowntest.Measure(context.Background(), shutdowntest.Load{
		URLs:      []string{"http://127.0.0.1:8080/orders"},
		Clients:   16,
		KeptAlive: true, // POST by default
		Body:      `{"item":"book"}`,
	}, func() error { return cmd.Process.Signal(syscall.SIGTERM) })
	if err == nil {
		err = report.Err() // nil when nothing was dropped, none lost
	}
	fmt.Println(report.Lost, report.Refused, err)
}
