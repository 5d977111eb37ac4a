package loggingtest_test

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/operable-go/operable/logging"
	"github.com/operable-go/operable/logging/loggingtest"
)

// A handler of one's own passes once the SDK's wrappers put the context's
// ids first and mask the secrets; TestHandler names each broken rule.
func ExampleTestHandler() {
	err := loggingtest.TestHandler(func(w io.Writer, known *logging.KnownValues) slog.Handler {
		return logging.NewContextHandler(logging.NewRedactHandler(slog.NewJSONHandler(w, nil), logging.RedactOptions{Known: known}))
	})
	fmt.Println(err)
	// Output: <nil>
}
