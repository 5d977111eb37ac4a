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
