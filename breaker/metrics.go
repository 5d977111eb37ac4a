package breaker

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Instrument names, as OpenTelemetry names them; Prometheus shows them as
// circuit_breaker_state, circuit_breaker_transitions_total,
// circuit_breaker_calls_total and circuit_breaker_rejections_total.
const (
	StateMetric       = "circuit_breaker.state"
	TransitionsMetric = "circuit_breaker.transitions"
	CallsMetric       = "circuit_breaker.calls"
	RejectionsMetric  = "circuit_breaker.rejections"
)

// instruments are one breaker's metrics, with every attribute set built
// once. A call adds to an atomic count of its own, and the calls and
// rejections counters observe the counts at each collection: a call costs
// one atomic add, not a synchronous counter's attribute lookup (see
// BENCHMARKS.md, issue 22).
type instruments struct {
	transitions metric.Int64Counter
	calls       [3]paddedCount                  // by outcome
	rejections  [len(rejectReasons)]paddedCount // by reason
	name        attribute.KeyValue
	// The options as slices, built once: a variadic call with a single
	// option would allocate its slice at every call.
	byState   [len(stateNames)][]metric.ObserveOption // breaker, state
	byOutcome [3][]metric.ObserveOption               // success, failure, neutral
	byReason  [len(rejectReasons)][]metric.ObserveOption
}

// paddedCount is a count on a cache line of its own, so that calls of
// different outcomes on different cores do not contend.
type paddedCount struct {
	n atomic.Int64
	_ [56]byte
}

// Outcomes, indexes of instruments.calls and outcomeErrors; outcomeNone
// is a call that has not run.
const (
	outcomeSuccess = iota
	outcomeFailure
	outcomeNeutral
	outcomeNone = -1
)

// outcomeErrors are the outcomes as gobreaker sees them.
var outcomeErrors = [...]error{outcomeSuccess: nil, outcomeFailure: errFailure, outcomeNeutral: errNeutral}

// outcomeIndex returns the index of a classified outcome: nil,
// errFailure or errNeutral.
func outcomeIndex(outcome error) int {
	switch outcome {
	case nil:
		return outcomeSuccess
	case errNeutral:
		return outcomeNeutral
	}
	return outcomeFailure
}

func (m *instruments) init(b *Breaker) error {
	meter := b.opts.Meter
	m.name = attribute.String("breaker", b.name)
	var err error
	if m.transitions, err = meter.Int64Counter(TransitionsMetric,
		metric.WithDescription("Changes of a circuit breaker's state."), metric.WithUnit("{transition}")); err != nil {
		return err
	}
	if _, err = meter.Int64ObservableCounter(CallsMetric,
		metric.WithDescription("Calls a circuit breaker let through, by outcome."), metric.WithUnit("{call}"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			for i := range m.calls {
				o.Observe(m.calls[i].n.Load(), m.byOutcome[i]...)
			}
			return nil
		})); err != nil {
		return err
	}
	if _, err = meter.Int64ObservableCounter(RejectionsMetric,
		metric.WithDescription("Calls a circuit breaker rejected, by reason."), metric.WithUnit("{call}"),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			for i := range m.rejections {
				o.Observe(m.rejections[i].n.Load(), m.byReason[i]...)
			}
			return nil
		})); err != nil {
		return err
	}
	for i, s := range stateNames {
		m.byState[i] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(m.name, attribute.String("state", s)))}
	}
	for i, o := range []string{"success", "failure", "neutral"} {
		m.byOutcome[i] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(m.name, attribute.String("outcome", o)))}
	}
	for i, r := range rejectReasons {
		m.byReason[i] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(m.name, attribute.String("reason", r)))}
	}
	// The state is observed at every collection, from construction on: one
	// series per state, 1 for the current one.
	_, err = meter.Int64ObservableGauge(StateMetric,
		metric.WithDescription("A circuit breaker's state: 1 for the current state, 0 for the others."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			cur := b.State()
			for i := range stateNames {
				v := int64(0)
				if State(i) == cur {
					v = 1
				}
				o.Observe(v, m.byState[i]...)
			}
			return nil
		}))
	return err
}

func (m *instruments) transition(from, to State) {
	m.transitions.Add(context.Background(), 1, metric.WithAttributeSet(attribute.NewSet(m.name,
		attribute.String("from", from.String()), attribute.String("to", to.String()))))
}

func (m *instruments) outcome(outcome error) {
	m.calls[outcomeIndex(outcome)].n.Add(1)
}

func (m *instruments) reject(reason int) {
	m.rejections[reason].n.Add(1)
}
