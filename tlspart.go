package operable

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/health"
	"github.com/operable-go/operable/internal/boundedread"
	"github.com/operable-go/operable/internal/reload"
)

// tlsPart owns the listeners' certificates when TLS_CERT_FILE or
// ADMIN_TLS_CERT_FILE is set: each is loaded at start-up (a missing or bad
// one is a configuration problem), watched and swapped in when its files
// change, with the last good one kept and a non-critical tls-<listener>
// check warning while the files are bad.
type tlsPart struct {
	app, admin *certificate // nil: plain HTTP
}

// certificate is one listener's current certificate.
type certificate struct {
	value *reload.Value[*tls.Certificate]
}

// config returns the listener's TLS configuration: TLS 1.2 at least, HTTP/2
// offered, and the certificate of the moment for every handshake.
func (c *certificate) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.value.Current(), nil
		},
	}
}

// loadTLS loads the certificates of the listeners that have one.
func (s *Service) loadTLS(ctx context.Context, _ Options) error {
	var problems []config.Problem
	for _, l := range []struct {
		name, certVar, certFile, keyFile string
		dst                              **certificate
	}{
		{"app", "TLS_CERT_FILE", s.cfg.TLSCertFile, s.cfg.TLSKeyFile, &s.tls.app},
		{"admin", "ADMIN_TLS_CERT_FILE", s.cfg.AdminTLSCertFile, s.cfg.AdminTLSKeyFile, &s.tls.admin},
	} {
		if l.certFile == "" {
			continue // Config.Validate made sure the key is unset too
		}
		c, err := s.watchCertificate(ctx, l.name, l.certFile, l.keyFile)
		if err != nil {
			problems = append(problems, config.Problem{Var: l.certVar, Reason: err.Error()})
			continue
		}
		*l.dst = c
	}
	if len(problems) > 0 {
		return &config.Error{Problems: problems}
	}
	return nil
}

// loadKeyPair is tls.LoadX509KeyPair with each file read with the bound
// of every file the SDK reads (1 MiB; a chain is a few KiB).
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	cert, err := boundedread.ReadFile(certFile, 0)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := boundedread.ReadFile(keyFile, 0)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(cert, key)
}

// keyDir is the key's directory when it is not the certificate's, for a
// rotation that renames the key into place to be seen too.
func keyDir(certFile, keyFile string) []string {
	if d := filepath.Dir(keyFile); d != filepath.Dir(certFile) {
		return []string{d}
	}
	return nil
}

// watchCertificate loads a certificate and key pair and keeps it current:
// the certificate's directory, and the key's, are watched (a Secret's ..data swap, a
// rename into place), and a pair that no longer loads keeps the last good
// one.
func (s *Service) watchCertificate(ctx context.Context, name, certFile, keyFile string) (*certificate, error) {
	v, err := reload.New(ctx, reload.Options[*tls.Certificate]{
		Load: func(context.Context) (*tls.Certificate, error) {
			pair, err := loadKeyPair(certFile, keyFile)
			if err != nil {
				return nil, fmt.Errorf("%s and %s: %w", certFile, keyFile, err)
			}
			return &pair, nil
		},
		Diff: func(old, new *tls.Certificate) []string {
			if bytes.Equal(old.Certificate[0], new.Certificate[0]) {
				return nil
			}
			return []string{"certificate"}
		},
		Dir:      filepath.Dir(certFile),
		MoreDirs: keyDir(certFile, keyFile),
	})
	if err != nil {
		return nil, err
	}
	v.Subscribe(func(e reload.Event[*tls.Certificate]) {
		switch {
		case e.Err != nil:
			s.logger.Warn("TLS certificate not reloaded; keeping the last good one", slog.String("listener", name), slog.Any("error", e.Err))
		case len(e.Changed) > 0 || e.Recovered:
			attrs := []any{slog.String("listener", name)}
			if e.New.Leaf != nil {
				attrs = append(attrs, slog.Time("not_after", e.New.Leaf.NotAfter))
			}
			s.logger.Info("TLS certificate reloaded", attrs...)
		}
	})
	s.life.Go("tls "+name+" certificate", v.Run)
	if err := s.checks.Add(health.Check{Name: "tls-" + name, NonCritical: true, ComponentType: "component",
		Func: func(context.Context) error { return v.Err() }}); err != nil {
		return nil, err
	}
	return &certificate{value: v}, nil
}
