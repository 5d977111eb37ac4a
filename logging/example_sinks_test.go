package logging_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/operable-go/operable/logging"
)

func ExampleNewAsync() {
	file, err := os.OpenFile("app.log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		panic(err)
	}
	// A file on a slow disk must not hold up stdout: it gets its own queue.
	async := logging.NewAsync(slog.NewJSONHandler(file, nil), logging.AsyncOptions{Queue: 4096})
	debug := new(slog.LevelVar)
	debug.Set(slog.LevelDebug)
	logger, _ := logging.New(logging.Options{
		Sinks:           []logging.Sink{{Handler: async.Handler(), Level: debug}},
		SamplePerSecond: 100,
	})
	logger.Debug("only in the file")
	// At shutdown: write what is queued, within the hook's budget.
	_ = async.Close(context.Background())
}

func ExampleNewRedactHandler() {
	h := logging.NewRedactHandler(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}), logging.RedactOptions{})
	slog.New(h).Info("connecting", "dsn", "postgres://app:hunter2@db:5432/app", "api_key", "k-123")
	// Output:
	// {"level":"INFO","msg":"connecting","dsn":"postgres://app:[REDACTED]@db:5432/app","api_key":"[REDACTED]"}
}
