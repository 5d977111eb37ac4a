package operable

import (
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/operable-go/operable/config"
	"github.com/operable-go/operable/logging"
	"github.com/operable-go/operable/secrets"
)

// Config is the SDK's own configuration, read from the layers of package
// config (defaults, config/ files, environment variables, secret
// references) under the variable names in its tags. The service's own
// settings go in a struct of its own, passed as [Options.Config]. When the
// config files change at run time, LogLevel takes effect at once; the
// fields tagged reload:"restart" are reported as needing a restart.
type Config struct {
	// ServiceName names the service in logs and metrics. Default:
	// Options.Name.
	ServiceName string `env:"SERVICE_NAME" reload:"restart" desc:"names the service in logs and metrics"`
	// ServiceVersion is the service's version. Default: Options.Version.
	ServiceVersion string `env:"SERVICE_VERSION" reload:"restart" desc:"the service's version"`
	// Environment is local, development, staging or production.
	Environment string `env:"ENVIRONMENT" envDefault:"local" reload:"restart" desc:"local, development, staging or production"`
	// HTTPAddr is the application listener's address.
	HTTPAddr string `env:"HTTP_ADDR" envDefault:":8080" reload:"restart" desc:"the application listener's address"`
	// AdminAddr is the admin listener's address (probes, metrics, debug).
	AdminAddr string `env:"ADMIN_ADDR" envDefault:":9090" reload:"restart" desc:"the admin listener's address (probes, metrics, /debug/)"`
	// HTTP and Admin bound what a client of each listener may hold: time
	// to send the headers and the request, to read the answer, to stay idle,
	// and the size of the headers (HTTP_READ_TIMEOUT, ADMIN_READ_TIMEOUT, ...).
	HTTP  ServerConfig `envPrefix:"HTTP_"`
	Admin ServerConfig `envPrefix:"ADMIN_"`
	// GRPC is the gRPC listener's (GRPC_ADDR, GRPC_MAX_RECV_MSG_SIZE, ...).
	// Default: none, no gRPC listener.
	GRPC GRPCConfig `envPrefix:"GRPC_"`
	// TLSCertFile and TLSKeyFile, both or neither, make the application
	// listener serve TLS (1.2 at least) with this PEM certificate chain and
	// key, read again when the files change (cert-manager and the kubelet
	// rotate them in place). Default: none, plain HTTP.
	TLSCertFile string `env:"TLS_CERT_FILE" reload:"restart" desc:"PEM certificate chain of the app listener's TLS, re-read when it changes"`
	TLSKeyFile  string `env:"TLS_KEY_FILE" reload:"restart" desc:"PEM private key of the app listener's TLS"`
	// AdminTLSCertFile and AdminTLSKeyFile do the same for the admin
	// listener. Default: none, plain HTTP.
	AdminTLSCertFile string `env:"ADMIN_TLS_CERT_FILE" reload:"restart" desc:"PEM certificate chain of the admin listener's TLS, re-read when it changes"`
	AdminTLSKeyFile  string `env:"ADMIN_TLS_KEY_FILE" reload:"restart" desc:"PEM private key of the admin listener's TLS"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"LOG_LEVEL" envDefault:"info" desc:"debug, info, warn or error; follows config/ at run time"`
	// LogFormat is json or text.
	LogFormat string `env:"LOG_FORMAT" envDefault:"json" reload:"restart" desc:"json or text"`
	// ShutdownTimeout bounds the whole stop sequence.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"25s" reload:"restart" desc:"bounds the whole stop sequence"`
	// ShutdownDrainDelay is how long the service keeps serving after a
	// stop signal while readiness fails. Default: 5s, 0 when Environment
	// is local.
	ShutdownDrainDelay *time.Duration `env:"SHUTDOWN_DRAIN_DELAY" reload:"restart" desc:"serving time after a stop signal while readiness fails (default 5s, 0 when local)"`
	// AdminToken guards /debug/. Without it, /debug/ answers 404. Outside
	// the local environment it must be at least [MinAdminTokenLength]
	// bytes.
	AdminToken secrets.Secret `env:"ADMIN_TOKEN" reload:"restart" desc:"bearer token for /debug/; without it /debug/ answers 404"`
	// FlagsFile is a feature flag file in flagd's format, read at start-up
	// (see [Service.Flags]). Default: none, no flags.
	FlagsFile string `env:"FLAGS_FILE" reload:"restart" desc:"feature flag file in flagd format, watched"`
	// VaultAddr, when set, makes the service log in to Vault at start-up
	// and keep the session alive (see [Service.Vault]); the login and the
	// other settings come from the VAULT_* variables that package
	// secrets/vault reads. Default: none, no Vault.
	VaultAddr string `env:"VAULT_ADDR" reload:"restart" desc:"Vault address; the login comes from the other VAULT_* variables"`
}

// ServerConfig bounds one listener's clients. Its defaults leave room for a
// 30 s CPU profile on the admin listener.
type ServerConfig struct {
	// ReadHeaderTimeout bounds the time to send a request's headers.
	ReadHeaderTimeout time.Duration `env:"READ_HEADER_TIMEOUT" envDefault:"5s" reload:"restart" desc:"bounds the time a client takes to send a request's headers"`
	// ReadTimeout bounds the time to send a whole request.
	ReadTimeout time.Duration `env:"READ_TIMEOUT" envDefault:"30s" reload:"restart" desc:"bounds the time a client takes to send a whole request"`
	// WriteTimeout bounds the time from the end of the headers to the end
	// of the answer.
	WriteTimeout time.Duration `env:"WRITE_TIMEOUT" envDefault:"60s" reload:"restart" desc:"bounds the time to write an answer"`
	// IdleTimeout bounds the wait for the next request on a kept-alive
	// connection.
	IdleTimeout time.Duration `env:"IDLE_TIMEOUT" envDefault:"120s" reload:"restart" desc:"bounds the wait for the next request on a kept-alive connection"`
	// MaxHeaderBytes bounds the size of a request's headers.
	MaxHeaderBytes int `env:"MAX_HEADER_BYTES" envDefault:"1048576" reload:"restart" desc:"bounds the size of a request's headers, in bytes"`
}

// Validate reports every bound that is not positive.
func (c ServerConfig) Validate() error {
	var errs []error
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"ReadHeaderTimeout", c.ReadHeaderTimeout}, {"ReadTimeout", c.ReadTimeout}, {"WriteTimeout", c.WriteTimeout}, {"IdleTimeout", c.IdleTimeout}} {
		if d.v <= 0 {
			errs = append(errs, &config.Problem{Field: d.field, Reason: "must be positive"})
		}
	}
	if c.MaxHeaderBytes <= 0 {
		errs = append(errs, &config.Problem{Field: "MaxHeaderBytes", Reason: "must be positive"})
	}
	return errors.Join(errs...)
}

// GRPCConfig configures the gRPC listener (see [Service.GRPC]). It serves
// TLS with the application listener's certificate when TLS_CERT_FILE is set.
type GRPCConfig struct {
	// Addr is the gRPC listener's address; by convention :50051. Default:
	// empty, no gRPC listener.
	Addr string `env:"ADDR" reload:"restart" desc:"the gRPC listener's address, by convention :50051; empty: no gRPC listener"`
	// MaxRecvMsgSize bounds a received message, in bytes. Default: 4 MiB,
	// grpc-go's.
	MaxRecvMsgSize int `env:"MAX_RECV_MSG_SIZE" envDefault:"4194304" reload:"restart" desc:"bounds a received gRPC message, in bytes"`
	// MaxSendMsgSize bounds a sent message, in bytes. Default: 4 MiB
	// (grpc-go's own is 2 GiB).
	MaxSendMsgSize int `env:"MAX_SEND_MSG_SIZE" envDefault:"4194304" reload:"restart" desc:"bounds a sent gRPC message, in bytes"`
	// MaxHeaderListSize bounds a call's metadata (its HTTP/2 header list),
	// in bytes, as HTTP_MAX_HEADER_BYTES bounds a request's headers; a
	// call over it is refused before any handler runs. Default: 1 MiB
	// (grpc-go's is 16 MiB).
	MaxHeaderListSize int `env:"MAX_HEADER_LIST_SIZE" envDefault:"1048576" reload:"restart" desc:"bounds a gRPC call's metadata, in bytes"`
	// MaxConcurrentStreams bounds the calls in flight on one connection.
	// Default: 250, net/http's HTTP/2 default (grpc-go's is unbounded).
	MaxConcurrentStreams int `env:"MAX_CONCURRENT_STREAMS" envDefault:"250" reload:"restart" desc:"bounds the gRPC calls in flight on one connection"`
	// KeepaliveMinTime is the shortest interval between a client's pings
	// the server accepts; a client that pings more often is sent a GOAWAY
	// (ENHANCE_YOUR_CALM). Default: 10s (grpc-go's is 5m, which ends the
	// connections of clients configured to ping every 10 to 30 s).
	KeepaliveMinTime time.Duration `env:"KEEPALIVE_MIN_TIME" envDefault:"10s" reload:"restart" desc:"shortest interval between client pings the gRPC server accepts"`
	// KeepalivePermitWithoutStream lets clients ping a connection that
	// carries no call. Default: true, so that kept-alive idle clients are
	// not sent away (grpc-go's default is false).
	KeepalivePermitWithoutStream bool `env:"KEEPALIVE_PERMIT_WITHOUT_STREAM" envDefault:"true" reload:"restart" desc:"let clients ping gRPC connections that carry no call"`
	// KeepaliveTime is how long a connection may be silent before the
	// server pings it; KeepaliveTimeout how long it then waits for the
	// answer before closing it. Default: 2h and 20s, grpc-go's.
	KeepaliveTime    time.Duration `env:"KEEPALIVE_TIME" envDefault:"2h" reload:"restart" desc:"silence on a gRPC connection before the server pings it"`
	KeepaliveTimeout time.Duration `env:"KEEPALIVE_TIMEOUT" envDefault:"20s" reload:"restart" desc:"wait for a ping's answer before the server closes the gRPC connection"`
	// MaxConnectionIdle closes a connection that carried no call for this
	// long, with a GOAWAY. Default: 0, never.
	MaxConnectionIdle time.Duration `env:"MAX_CONNECTION_IDLE" reload:"restart" desc:"close gRPC connections idle this long (0: never)"`
	// MaxConnectionAge sends a GOAWAY to a connection this old, so that
	// clients spread again over the replicas, and MaxConnectionAgeGrace is
	// what its calls then have to finish. Default: 0 and 0, never and
	// without bound.
	MaxConnectionAge      time.Duration `env:"MAX_CONNECTION_AGE" reload:"restart" desc:"send a GOAWAY to gRPC connections this old (0: never)"`
	MaxConnectionAgeGrace time.Duration `env:"MAX_CONNECTION_AGE_GRACE" reload:"restart" desc:"time the calls of an aged-out gRPC connection have to finish (0: no bound)"`
	// MaxConnections bounds the connections the gRPC listener holds open;
	// beyond it, new connections wait in the kernel's backlog until one
	// closes (netutil.LimitListener). 0: no bound. Default: 1000 (grpc-go
	// has no bound).
	MaxConnections int `env:"MAX_CONNECTIONS" envDefault:"1000" reload:"restart" desc:"bounds the open gRPC connections; more wait until one closes (0: no bound)"`
	// ConnectionTimeout bounds a new connection's handshake (TLS and
	// HTTP/2 settings). Default: 20s (grpc-go's is 120s).
	ConnectionTimeout time.Duration `env:"CONNECTION_TIMEOUT" envDefault:"20s" reload:"restart" desc:"bounds a new gRPC connection's handshake"`
	// Reflection serves grpc.reflection (v1 and v1alpha), which lists the
	// services and their schemas to anyone who can connect. Default: false.
	Reflection bool `env:"REFLECTION" reload:"restart" desc:"serve gRPC server reflection (lists every service's schema)"`
}

// Validate reports every bound out of range.
func (c GRPCConfig) Validate() error {
	var errs []error
	for _, n := range []struct {
		field string
		v     int
	}{{"MaxRecvMsgSize", c.MaxRecvMsgSize}, {"MaxSendMsgSize", c.MaxSendMsgSize}, {"MaxHeaderListSize", c.MaxHeaderListSize},
		{"MaxConcurrentStreams", c.MaxConcurrentStreams}} {
		switch {
		case n.v <= 0:
			errs = append(errs, &config.Problem{Field: n.field, Reason: "must be positive"})
		case int64(n.v) > math.MaxUint32 && (n.field == "MaxHeaderListSize" || n.field == "MaxConcurrentStreams"):
			errs = append(errs, &config.Problem{Field: n.field, Reason: "must be at most 4294967295 (HTTP/2 carries it in 32 bits)"})
		}
	}
	if c.MaxConnections < 0 {
		errs = append(errs, &config.Problem{Field: "MaxConnections", Reason: "must not be negative (0: no bound)"})
	}
	for _, d := range []struct {
		field    string
		v        time.Duration
		positive bool
	}{{"KeepaliveMinTime", c.KeepaliveMinTime, true}, {"KeepaliveTime", c.KeepaliveTime, true}, {"KeepaliveTimeout", c.KeepaliveTimeout, true},
		{"ConnectionTimeout", c.ConnectionTimeout, true}, {"MaxConnectionIdle", c.MaxConnectionIdle, false},
		{"MaxConnectionAge", c.MaxConnectionAge, false}, {"MaxConnectionAgeGrace", c.MaxConnectionAgeGrace, false}} {
		switch {
		case d.positive && d.v <= 0:
			errs = append(errs, &config.Problem{Field: d.field, Reason: "must be positive"})
		case d.v < 0:
			errs = append(errs, &config.Problem{Field: d.field, Reason: "must not be negative"})
		}
	}
	return errors.Join(errs...)
}

// fillFromBuild fills the service's name and version from the options and
// the build when the configuration leaves them empty.
func (c *Config) fillFromBuild(info buildInfo) {
	if c.ServiceName == "" {
		c.ServiceName = info.Service
	}
	if c.ServiceVersion == "" {
		c.ServiceVersion = info.Version
	}
}

// environments are the values ENVIRONMENT may take.
var environments = []string{"local", "development", "staging", "production"}

// Environments returns the values ENVIRONMENT may take: local,
// development, staging and production.
func Environments() []string { return slices.Clone(environments) }

// MinAdminTokenLength is the shortest ADMIN_TOKEN accepted outside the
// local environment: a guessable token opens pprof and the configuration.
const MinAdminTokenLength = 16

// DefaultDrainDelay is the drain delay outside the local environment.
const DefaultDrainDelay = 5 * time.Second

// DrainDelay returns the configured drain delay or its default: 5s, or 0
// when Environment is local.
func (c Config) DrainDelay() time.Duration {
	if c.ShutdownDrainDelay != nil {
		return *c.ShutdownDrainDelay
	}
	if c.Environment == "local" {
		return 0
	}
	return DefaultDrainDelay
}

// tlsFiles returns the certificate and key files of the listener whose
// certificate field is named field.
func (c *Config) tlsFiles(field string) (cert, key string) {
	if field == "AdminTLSCertFile" {
		return c.AdminTLSCertFile, c.AdminTLSKeyFile
	}
	return c.TLSCertFile, c.TLSKeyFile
}

// Validate reports every value outside its allowed set.
func (c *Config) Validate() error {
	var errs []error
	bad := func(v, field, reason string) {
		errs = append(errs, &config.Problem{Var: v, Field: field, Reason: reason})
	}
	if !slices.Contains(environments, c.Environment) {
		bad("ENVIRONMENT", "Environment", fmt.Sprintf("must be one of %v", environments))
	}
	if _, err := logging.ParseLevel(c.LogLevel); err != nil {
		bad("LOG_LEVEL", "LogLevel", "must be one of debug, info, warn, error")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("LOG_FORMAT", "LogFormat", "must be json or text")
	}
	for _, pair := range [][4]string{
		{"TLS_CERT_FILE", "TLSCertFile", "TLS_KEY_FILE", "TLSKeyFile"},
		{"ADMIN_TLS_CERT_FILE", "AdminTLSCertFile", "ADMIN_TLS_KEY_FILE", "AdminTLSKeyFile"},
	} {
		cert, key := c.tlsFiles(pair[1])
		if (cert == "") != (key == "") {
			if cert == "" {
				bad(pair[0], pair[1], "must be set with "+pair[2])
			} else {
				bad(pair[2], pair[3], "must be set with "+pair[0])
			}
		}
	}
	httpOK := checkAddr(c.HTTPAddr, "HTTP_ADDR", "HTTPAddr", bad)
	adminOK := checkAddr(c.AdminAddr, "ADMIN_ADDR", "AdminAddr", bad)
	if httpOK && adminOK && sameListener(c.HTTPAddr, c.AdminAddr) {
		bad("ADMIN_ADDR", "AdminAddr", "must differ from HTTP_ADDR: the two listeners cannot share a port")
	}
	if c.GRPC.Addr != "" && checkAddr(c.GRPC.Addr, "GRPC_ADDR", "GRPC.Addr", bad) {
		if httpOK && sameListener(c.HTTPAddr, c.GRPC.Addr) {
			bad("GRPC_ADDR", "GRPC.Addr", "must differ from HTTP_ADDR: the two listeners cannot share a port")
		}
		if adminOK && sameListener(c.AdminAddr, c.GRPC.Addr) {
			bad("GRPC_ADDR", "GRPC.Addr", "must differ from ADMIN_ADDR: the two listeners cannot share a port")
		}
	}
	if c.ShutdownTimeout <= 0 {
		bad("SHUTDOWN_TIMEOUT", "ShutdownTimeout", "must be positive")
	}
	if n := len(c.AdminToken.Reveal()); n > 0 && n < MinAdminTokenLength && c.Environment != "local" {
		bad("ADMIN_TOKEN", "AdminToken", fmt.Sprintf("must be at least %d bytes outside the local environment (it guards pprof and the config)", MinAdminTokenLength))
	}
	if d := c.DrainDelay(); d < 0 {
		bad("SHUTDOWN_DRAIN_DELAY", "ShutdownDrainDelay", "must not be negative")
	} else if c.ShutdownTimeout > 0 && d >= c.ShutdownTimeout {
		bad("SHUTDOWN_DRAIN_DELAY", "ShutdownDrainDelay", "must be shorter than SHUTDOWN_TIMEOUT")
	}
	return errors.Join(errs...)
}

// checkAddr reports a listen address that net.Listen would refuse, or
// take as something else than meant, without quoting it.
func checkAddr(addr, variable, field string, bad func(v, field, reason string)) bool {
	const form = "want host:port with a port from 0 to 65535, such as :8080 or 127.0.0.1:8080"
	if addr == "" {
		bad(variable, field, "must not be empty; "+form)
		return false
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		bad(variable, field, "not an address: "+form)
		return false
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || port != strconv.FormatUint(n, 10) {
		bad(variable, field, "the port is not a number from 0 to 65535: "+form)
		return false
	}
	return true
}

// sameListener reports whether two valid addresses would bind the same
// port on an overlapping interface: the same fixed port with the same host,
// or with either host empty or unspecified (every interface). Port 0
// picks a free port each time, so two of them never clash.
func sameListener(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	if pa != pb || pa == "0" {
		return false
	}
	everywhere := func(h string) bool {
		ip := net.ParseIP(h)
		return h == "" || ip != nil && ip.IsUnspecified()
	}
	return ha == hb || everywhere(ha) || everywhere(hb)
}
