package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// auditEvent is one change to the item store.
type auditEvent struct {
	Time   time.Time `json:"time"`
	Action string    `json:"action"`
	ItemID int       `json:"item_id"`
}

// auditLog batches item changes and sends them to an upstream: every
// interval from a background worker, and once more at shutdown from a stop
// hook, so that the changes of the last seconds are not lost. A nil
// *auditLog records nothing. It is safe for concurrent use.
type auditLog struct {
	url      string
	interval time.Duration
	client   *http.Client
	logger   *slog.Logger

	mu       sync.Mutex
	pending  []auditEvent
	lastErr  error
	inFlight sync.Mutex // one send at a time, so that batches keep their order
}

// newAuditLog sends through transport, which should carry the service's
// client telemetry (operable.Service.Transport).
func newAuditLog(url string, interval time.Duration, logger *slog.Logger, transport http.RoundTripper) *auditLog {
	return &auditLog{url: url, interval: interval, logger: logger, client: &http.Client{Transport: transport}}
}

func (a *auditLog) record(action string, id int) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.pending = append(a.pending, auditEvent{Time: time.Now().UTC(), Action: action, ItemID: id})
	a.mu.Unlock()
}

// run sends the batch every interval until ctx is done. A failed send is
// logged and retried with the next batch; it does not stop the service.
func (a *auditLog) run(ctx context.Context) error {
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := a.flush(ctx); err != nil && ctx.Err() == nil {
				a.logger.WarnContext(ctx, "audit send failed; will retry", slog.Any("error", err))
			}
		}
	}
}

// flush sends what is pending. On failure the events are kept, in order,
// for the next attempt.
func (a *auditLog) flush(ctx context.Context) error {
	a.inFlight.Lock()
	defer a.inFlight.Unlock()
	a.mu.Lock()
	batch := a.pending
	a.pending = nil
	a.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := a.send(ctx, batch)
	a.mu.Lock()
	if err != nil {
		a.pending = append(batch, a.pending...)
	}
	a.lastErr = err
	a.mu.Unlock()
	return err
}

func (a *auditLog) send(ctx context.Context, batch []auditEvent) error {
	body, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("audit: %d events not sent: %w", len(batch), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("audit: %d events refused with status %d", len(batch), resp.StatusCode)
	}
	return nil
}

// check reports the last send's failure, for a non-critical health check.
func (a *auditLog) check(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastErr
}
