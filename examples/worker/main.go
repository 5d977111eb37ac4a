// Command worker is the template of a background service built on
// operable: no application routes, jobs taken from a spool directory, with
// the SDK's configuration, logs, admin listener, probes, metrics and
// graceful stop. Copy it to start a new worker.
//
//	go run ./examples/worker
//
// A job is a JSON file that a producer writes into SPOOL_DIR/incoming/
// under a hidden name and renames to <id>.json once complete, so that the
// worker never sees half a file:
//
//	{"text": "words to count", "work": "2s"}
//
// The worker claims it by renaming it into work/ (one rename: of several
// workers sharing the directory, one wins), does it (counts the words,
// hashes the text, and spends "work", at most MAX_JOB_WORK, as a stand-in
// for real work), writes the result to done/<id>.json (a temporary file
// renamed into place: the commit point) and only then drops the claim. A
// job that cannot be done (not JSON, an unknown field, over MAX_JOB_BYTES,
// a work duration out of bounds) is moved to failed/. A job whose id already
// has a result is a duplicate and is dropped, not done again.
//
// At start-up, a start-up task recovers the claims left by a crash before
// any job is taken (/startupz and /readyz answer 503 until it is done): a
// claim whose result exists is finished (its claim dropped), any other goes
// back to incoming/. So across crashes and restarts no job is
// lost and none is done twice. One spool belongs to one worker process at a
// time: the recovery of a second process would hand back the first one's
// claims.
//
// On SIGTERM, readiness fails at once; once the drain delay has passed the
// worker takes no new job and finishes the ones in hand within
// JOB_STOP_TIMEOUT; a job still running then is stopped and its claim goes
// back to incoming/, never half done. The admin listener (ADMIN_ADDR, :9090)
// serves /livez, /readyz (failing while the spool cannot be used),
// /startupz and /metrics (worker_jobs_total{outcome}, worker_job_duration_seconds,
// worker_backlog). The app listener (HTTP_ADDR) serves no route of its own.
// See CONTRACT.md for every variable of the SDK.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/config"
)

// Config is the worker's own configuration, loaded and validated together
// with the SDK's: a bad value stops start-up with exit code 78. Every field
// is read once, at start-up.
type Config struct {
	// SpoolDir is the spool's root, where incoming/, work/, done/ and
	// failed/ live (created when missing). On Kubernetes, a volume.
	// Default: "worker-spool" under the system's temporary directory
	// ($TMPDIR or /tmp), so that a run from a fresh checkout writes nothing
	// into the work tree.
	SpoolDir string `env:"SPOOL_DIR" reload:"restart" desc:"the spool's root directory (default: worker-spool under $TMPDIR)"`
	// PollInterval is how often an idle worker looks for a new job.
	PollInterval time.Duration `env:"POLL_INTERVAL" envDefault:"500ms" reload:"restart" desc:"how often an idle worker looks for a job"`
	// Concurrency is how many jobs run at once, from 1 to 64.
	Concurrency int `env:"CONCURRENCY" envDefault:"1" reload:"restart" desc:"how many jobs run at once (1 to 64)"`
	// MaxJobBytes is the largest job file taken; a larger one fails.
	MaxJobBytes int64 `env:"MAX_JOB_BYTES" envDefault:"65536" reload:"restart" desc:"the largest job file, in bytes (at most 16 MiB)"`
	// MaxJobWork is the longest work a job may ask for.
	MaxJobWork time.Duration `env:"MAX_JOB_WORK" envDefault:"30s" reload:"restart" desc:"the longest work a job may ask for"`
	// JobStopTimeout is how long the jobs in hand may still run once the
	// stop begins; then they are stopped and handed back. It must leave
	// stopReserve of what SHUTDOWN_TIMEOUT leaves after the drain delay.
	JobStopTimeout time.Duration `env:"JOB_STOP_TIMEOUT" envDefault:"15s" reload:"restart" desc:"how long the jobs in hand may run once the stop begins"`
}

// Bounds of the worker's settings.
const (
	maxConcurrency = 64
	maxJobBytes    = 16 << 20
	// stopReserve is the part of the stop the jobs in hand never take: the
	// SDK's telemetry flush (2 s) and the hand-back of a stopped job.
	stopReserve = 3 * time.Second
)

// Validate is called by the SDK after loading; its problems are reported
// with the SDK's own (exit 78).
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, v, reason string) {
		errs = append(errs, &config.Problem{Field: field, Var: v, Reason: reason})
	}
	if c.PollInterval < 10*time.Millisecond || c.PollInterval > time.Minute {
		bad("PollInterval", "POLL_INTERVAL", "must be from 10ms to 1m")
	}
	if c.Concurrency < 1 || c.Concurrency > maxConcurrency {
		bad("Concurrency", "CONCURRENCY", fmt.Sprintf("must be from 1 to %d", maxConcurrency))
	}
	if c.MaxJobBytes < 1 || c.MaxJobBytes > maxJobBytes {
		bad("MaxJobBytes", "MAX_JOB_BYTES", fmt.Sprintf("must be from 1 to %d", maxJobBytes))
	}
	if c.MaxJobWork < 0 {
		bad("MaxJobWork", "MAX_JOB_WORK", "must not be negative")
	}
	if c.JobStopTimeout <= 0 {
		bad("JobStopTimeout", "JOB_STOP_TIMEOUT", "must be positive")
	}
	return errors.Join(errs...)
}

// fitStop checks that the jobs' stop budget fits in the SDK's: the stopping
// phase begins after the drain delay and must end before SHUTDOWN_TIMEOUT,
// less the telemetry flush.
func fitStop(c *Config, sdk operable.Config) error {
	left := sdk.ShutdownTimeout - sdk.DrainDelay() - stopReserve
	if c.JobStopTimeout > left {
		return &config.Error{Problems: []config.Problem{{
			Field: "JobStopTimeout", Var: "JOB_STOP_TIMEOUT",
			Reason: fmt.Sprintf("must be at most SHUTDOWN_TIMEOUT - SHUTDOWN_DRAIN_DELAY - %s (%s)", stopReserve, max(left, 0)),
		}}}
	}
	return nil
}

func main() {
	var cfg Config
	operable.Main(operable.Options{Name: "worker", Config: &cfg}, func(ctx context.Context, s *operable.Service) error {
		if err := fitStop(&cfg, s.Config()); err != nil {
			return err
		}
		if cfg.SpoolDir == "" {
			cfg.SpoolDir = filepath.Join(os.TempDir(), "worker-spool")
		}
		return setup(ctx, s, &cfg)
	})
}
