package featureflags

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Instrument names, after OpenTelemetry's feature-flag conventions;
// Prometheus shows them as feature_flag_evaluations_total and
// feature_flag_evaluation_duration_seconds.
const (
	EvaluationsMetric = "feature_flag.evaluations"
	DurationMetric    = "feature_flag.evaluation.duration"
)

// Metrics records evaluations: a counter by flag key, variant and reason,
// and a duration histogram by flag key. Cardinality is bounded by the
// definitions: a key that names no flag is counted as "(unknown)", and the
// evaluation context (targeting key, attributes) is never recorded.
type Metrics struct {
	evaluations metric.Int64Counter
	duration    metric.Float64Histogram

	mu   sync.RWMutex
	opts map[recKey]recOpts // attribute sets, built once each
}

type recKey struct {
	flag, variant string
	reason        Reason
}

type recOpts struct {
	count []metric.AddOption
	dur   []metric.RecordOption
}

// NewMetrics creates the instruments on meter.
func NewMetrics(meter metric.Meter) (*Metrics, error) {
	m := &Metrics{opts: map[recKey]recOpts{}}
	var err error
	if m.evaluations, err = meter.Int64Counter(EvaluationsMetric,
		metric.WithDescription("Feature flag evaluations, by flag, variant and reason."), metric.WithUnit("{evaluation}")); err != nil {
		return nil, err
	}
	if m.duration, err = meter.Float64Histogram(DurationMetric,
		metric.WithDescription("How long an evaluation took."), metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(1e-7, 2.5e-7, 5e-7, 1e-6, 2.5e-6, 5e-6, 1e-5, 5e-5, 1e-4)); err != nil {
		return nil, err
	}
	return m, nil
}

// WithMetrics returns a copy of s whose evaluations m records.
func (s *Set) WithMetrics(m *Metrics) *Set {
	if s == nil {
		return nil
	}
	out := *s
	out.rec = (*recorder)(m)
	return &out
}

// recorder is Metrics as the Set holds it.
type recorder Metrics

func (r *recorder) record(f *flag, variant string, reason Reason, took time.Duration) {
	key := recKey{flag: "(unknown)", variant: variant, reason: reason}
	if f != nil {
		key.flag = f.key
	}
	r.mu.RLock()
	o, ok := r.opts[key]
	r.mu.RUnlock()
	if !ok {
		flagAttr := attribute.String("feature_flag.key", key.flag)
		set := attribute.NewSet(flagAttr,
			attribute.String("feature_flag.result.variant", key.variant),
			attribute.String("feature_flag.result.reason", string(key.reason)))
		o = recOpts{
			count: []metric.AddOption{metric.WithAttributeSet(set)},
			dur:   []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(flagAttr))},
		}
		r.mu.Lock()
		r.opts[key] = o
		r.mu.Unlock()
	}
	ctx := context.Background()
	r.evaluations.Add(ctx, 1, o.count...)
	r.duration.Record(ctx, took.Seconds(), o.dur...)
}
