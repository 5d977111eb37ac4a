package operable

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// sighupPart makes SIGHUP reload the configuration files and the flags
// file, as daemons do, instead of ending the process (the default action
// of SIGHUP, with no shutdown sequence at all).
type sighupPart struct {
	ch   chan os.Signal
	once sync.Once
}

// catchSIGHUP is New's first step: it catches SIGHUP from the start, so
// that one sent while the configuration loads or Vault logs in neither ends
// the process (SIGHUP's default action) nor is lost: it waits, and the
// worker of serveSIGHUP reloads for it. The catch ends when Run returns, or
// is released with the rest when the service never runs.
func (s *Service) catchSIGHUP(context.Context, Options) error {
	s.sighup.ch = make(chan os.Signal, 1)
	signal.Notify(s.sighup.ch, syscall.SIGHUP)
	s.release.push("SIGHUP catch", func(context.Context) error { s.sighup.stop(); return nil })
	return nil
}

// serveSIGHUP reloads on each SIGHUP, one caught before included, from a
// lifecycle worker, once the sources it reloads exist.
func (s *Service) serveSIGHUP(context.Context, Options) error {
	s.life.Go("sighup", func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-s.sighup.ch:
				s.reloadOnSIGHUP(ctx)
			}
		}
	})
	return nil
}

// stop ends the catch: SIGHUP has its default action again.
func (p *sighupPart) stop() {
	p.once.Do(func() { signal.Stop(p.ch) })
}

// reloadOnSIGHUP reloads both sources now; each logs its own outcome as a
// reload from the watch does (a bad file keeps the running values).
func (s *Service) reloadOnSIGHUP(ctx context.Context) {
	s.logger.Info("SIGHUP: reloading the configuration and the flags file")
	_ = s.config.value.Reload(ctx) // configReloaded logs and applies it
	if s.flags.file != nil {
		_ = s.flags.file.Reload(ctx)
	}
}
