package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/operable-go/operable"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/health/checkers"
)

// scope names the worker's instruments and spans.
const scope = "github.com/operable-go/operable/examples/worker"

// The outcomes of a job, the outcome label of worker_jobs_total.
const (
	outcomeDone      = "done"      // its result is in done/
	outcomeFailed    = "failed"    // it cannot be done; moved to failed/
	outcomeDuplicate = "duplicate" // its id already had a result; dropped
	outcomeRequeued  = "requeued"  // handed back to incoming/ (stop budget spent, or a spool error)
)

// spoolCheckInterval is how often the spool check runs.
const spoolCheckInterval = time.Second

// minSpoolFree is the free space under which the spool-disk check warns.
const minSpoolFree = 64 << 20

// jobSpec is a job file's content.
type jobSpec struct {
	// Text is what the job counts and hashes.
	Text string `json:"text"`
	// Work is how long the job works, a Go duration ("2s"), at most
	// MAX_JOB_WORK. Default: none.
	Work string `json:"work,omitempty"`
}

// jobResult is what done/<id>.json holds.
type jobResult struct {
	ID     string `json:"id"`
	Words  int    `json:"words"`
	SHA256 string `json:"sha256"`
	Worked string `json:"worked"`
}

// errInvalid marks a job that can never be done.
var errInvalid = errors.New("worker: invalid job")

// parseJob decodes one JSON object with no unknown field and no trailing
// data, and checks its work duration against maxWork.
func parseJob(b []byte, maxWork time.Duration) (jobSpec, time.Duration, error) {
	var j jobSpec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		// The decoder's text can quote the file (an unknown field's name):
		// bounded, as it goes to the log.
		return j, 0, fmt.Errorf("%w: %s", errInvalid, truncate(err.Error(), maxErrorText))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return j, 0, fmt.Errorf("%w: data after the object", errInvalid)
	}
	var work time.Duration
	if j.Work != "" {
		d, err := time.ParseDuration(j.Work)
		if err != nil || d < 0 || d > maxWork {
			return j, 0, fmt.Errorf("%w: work must be a duration from 0 to %s", errInvalid, maxWork)
		}
		work = d
	}
	return j, work, nil
}

// maxErrorText bounds the text of a job's error that comes from its file.
const maxErrorText = 200

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// doJob does the job's work: it waits work (the stand-in for real work,
// cut short when ctx ends), then counts and hashes the text.
func doJob(ctx context.Context, id string, j jobSpec, work time.Duration) (jobResult, error) {
	if work > 0 {
		t := time.NewTimer(work)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return jobResult{}, ctx.Err()
		}
	}
	sum := sha256.Sum256([]byte(j.Text))
	return jobResult{ID: id, Words: len(strings.Fields(j.Text)), SHA256: hex.EncodeToString(sum[:]), Worked: work.String()}, nil
}

// worker takes jobs from the spool. Its run loops are the service's
// workers; budget ends the jobs in hand when the stop budget is spent.
type worker struct {
	spool    spool
	cfg      *Config
	log      *slog.Logger
	tracer   trace.Tracer
	jobs     metric.Int64Counter
	duration metric.Float64Histogram
	stopping <-chan struct{}
	started  chan struct{} // closed once the claims are recovered

	// jobsCtx is the context of the jobs in hand: not the workers' context,
	// which ends as soon as the (idle) servers have stopped, but one that
	// ends JOB_STOP_TIMEOUT after the stop began.
	jobsCtx    context.Context
	cancelJobs context.CancelFunc
	loopsLeft  atomic.Int64
	idle       chan struct{} // closed when every run loop has returned
}

// recoverTimeout bounds the recovery of the claims at start-up; it fits
// in the startup probe's window (deploy/).
const recoverTimeout = 50 * time.Second

// setup prepares the spool and registers the checks, the instruments, the
// start-up task that recovers the claims a crash left, and the run loops,
// which take no job before that task is done.
func setup(_ context.Context, s *operable.Service, cfg *Config) error {
	sp := spool{root: cfg.SpoolDir}
	if err := os.MkdirAll(sp.root, 0o750); err != nil {
		return fmt.Errorf("worker: spool: %w", err)
	}
	if err := sp.prepare(); err != nil {
		return err
	}
	w := &worker{spool: sp, cfg: cfg, log: s.Logger(), tracer: s.Tracer(scope), stopping: s.Stopping(),
		started: make(chan struct{}), idle: make(chan struct{})}
	// /startupz and /readyz answer 503 until it is done.
	if err := s.AddStartupTask(operable.StartupTask{Name: "recover claims", Timeout: recoverTimeout, Func: w.recoverClaims}); err != nil {
		return err
	}
	w.jobsCtx, w.cancelJobs = context.WithCancel(context.Background())
	if err := w.instruments(s.Meter(scope)); err != nil {
		return err
	}
	for _, c := range []health.Check{
		// Readiness fails while the worker cannot use its source.
		{Name: "spool", ComponentType: "datastore", Interval: spoolCheckInterval, Timeout: time.Second, Func: sp.check},
		{Name: "spool-disk", ComponentType: "datastore", NonCritical: true, Interval: 10 * time.Second, Timeout: time.Second,
			Func: checkers.DiskFree(sp.root, minSpoolFree)},
	} {
		if err := s.AddCheck(c); err != nil {
			return err
		}
	}
	w.loopsLeft.Store(int64(cfg.Concurrency))
	for i := range cfg.Concurrency {
		s.Go(fmt.Sprintf("jobs-%d", i), w.run)
	}
	s.Go("jobs stop budget", w.budget)
	return nil
}

// recoverClaims settles the claims a crash left, then lets the run loops
// take jobs.
func (w *worker) recoverClaims(ctx context.Context) error {
	finished, requeued, err := w.spool.recoverClaims(ctx)
	if err != nil {
		return err
	}
	if finished+requeued > 0 {
		w.log.InfoContext(ctx, "claims recovered", slog.Int("finished", finished), slog.Int("requeued", requeued))
	}
	close(w.started)
	return nil
}

func (w *worker) instruments(m metric.Meter) error {
	var err error
	w.jobs, err = m.Int64Counter("worker.jobs", metric.WithUnit("{job}"),
		metric.WithDescription("Jobs taken from the spool, by outcome (done, failed, duplicate, requeued)."))
	if err != nil {
		return err
	}
	w.duration, err = m.Float64Histogram("worker.job.duration", metric.WithUnit("s"),
		metric.WithDescription("How long a job took, from its claim to its outcome."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
	if err != nil {
		return err
	}
	_, err = m.Int64ObservableGauge("worker.backlog", metric.WithUnit("{job}"),
		metric.WithDescription("Jobs waiting in the spool's incoming/ directory (counted up to 100000)."),
		metric.WithInt64Callback(func(ctx context.Context, o metric.Int64Observer) error {
			// A spool that cannot be read reports no backlog; the spool
			// check says why.
			if n, err := w.spool.backlog(ctx); err == nil {
				o.Observe(int64(n))
			}
			return nil
		}))
	return err
}

// run takes one job after another, once the claims are recovered, until
// the stop begins, then returns once the job in hand is finished or handed
// back.
func (w *worker) run(ctx context.Context) error {
	defer func() {
		if w.loopsLeft.Add(-1) == 0 {
			close(w.idle)
		}
	}()
	select {
	case <-w.started:
	case <-w.stopping:
		return nil
	case <-ctx.Done():
		return nil
	}
	broken := false // the spool failed last time; logged once per outage
	for {
		select {
		case <-w.stopping:
			return nil
		case <-ctx.Done():
			return nil
		default:
		}
		name, err := w.spool.claim(ctx)
		switch {
		case err != nil && !broken:
			w.log.Error("cannot take jobs", slog.Any("error", err))
			broken = true
		case err == nil && broken:
			w.log.Info("taking jobs again")
			broken = false
		}
		if err != nil {
			// The directories again, once the root is back.
			_ = w.spool.prepare()
		}
		if name != "" && w.handle(name) {
			continue
		}
		t := time.NewTimer(w.cfg.PollInterval)
		select {
		case <-t.C:
		case <-w.stopping:
		case <-ctx.Done():
		}
		t.Stop()
	}
}

// budget ends the jobs in hand JOB_STOP_TIMEOUT after the stop began, or
// returns as soon as every run loop has.
func (w *worker) budget(ctx context.Context) error {
	defer w.cancelJobs()
	select {
	case <-w.stopping:
	case <-ctx.Done():
	case <-w.idle:
		return nil
	}
	t := time.NewTimer(w.cfg.JobStopTimeout)
	defer t.Stop()
	select {
	case <-t.C:
	case <-w.idle:
	}
	return nil
}

// handle does one claimed job and logs and counts its outcome; it reports
// whether the next job may be taken at once (false after a spool error).
func (w *worker) handle(name string) bool {
	id := strings.TrimSuffix(name, ".json")
	start := time.Now()
	ctx, span := w.tracer.Start(w.jobsCtx, "job", trace.WithAttributes(attribute.String("job.id", id)))
	defer span.End()
	outcome, err := w.do(ctx, name, id)
	d := time.Since(start)
	attrs := metric.WithAttributes(attribute.String("outcome", outcome))
	w.jobs.Add(ctx, 1, attrs)
	w.duration.Record(ctx, d.Seconds(), attrs)
	span.SetAttributes(attribute.String("job.outcome", outcome))
	level, logAttrs := slog.LevelInfo, []slog.Attr{slog.String("id", id), slog.String("outcome", outcome), slog.Float64("duration", d.Seconds())}
	if err != nil {
		level, logAttrs = slog.LevelWarn, append(logAttrs, slog.Any("error", err))
		if !errors.Is(err, errInvalid) && !errors.Is(err, errTooLarge) {
			level = slog.LevelError
		}
		span.SetStatus(codes.Error, outcome)
	}
	w.log.LogAttrs(ctx, level, "job", logAttrs...)
	return err == nil || outcome == outcomeFailed
}

// do takes a claimed job to one of the outcomes. Until its result is
// committed, any stop hands the claim back; after, the job is done.
func (w *worker) do(ctx context.Context, name, id string) (string, error) {
	requeue := func(cause error) (string, error) {
		if err := w.spool.requeue(name); err != nil {
			// The claim stays in work/; the next start recovers it.
			return outcomeRequeued, errors.Join(cause, err)
		}
		return outcomeRequeued, cause
	}
	if dup, err := w.spool.hasResult(name); err != nil {
		return requeue(err)
	} else if dup {
		return outcomeDuplicate, w.spool.release(name)
	}
	b, err := w.spool.read(name, w.cfg.MaxJobBytes)
	var spec jobSpec
	var work time.Duration
	if err == nil {
		spec, work, err = parseJob(b, w.cfg.MaxJobWork)
	}
	if errors.Is(err, errInvalid) || errors.Is(err, errTooLarge) {
		return outcomeFailed, errors.Join(err, w.spool.fail(name))
	}
	if err != nil {
		return requeue(err)
	}
	res, err := doJob(ctx, id, spec, work)
	if err != nil {
		return requeue(nil) // stopped by the stop budget: nothing was written
	}
	out, err := json.Marshal(res)
	if err != nil {
		return requeue(err)
	}
	if ctx.Err() != nil {
		return requeue(nil)
	}
	if err := w.spool.commit(name, append(out, '\n')); err != nil {
		return requeue(err)
	}
	// Done. A claim that cannot be dropped is settled by the next start,
	// which finds its result.
	return outcomeDone, w.spool.release(name)
}
