package templatecheck

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Contract is what the manifests must agree with, read from the
// repository's CONTRACT.md and from the service's own -help-config, so
// that a change of either (a port, a probe path, a default) fails the
// check until the manifests follow.
type Contract struct {
	AppPort, AdminPort int // the listeners' default ports
	// GRPCPort is the gRPC listener's conventional port: GRPC_ADDR has no
	// default, and a template that serves gRPC sets it to this port.
	GRPCPort int
	// Live, Ready and Startup are the probe paths; Metrics the scrape path.
	Live, Ready, Startup, Metrics string
	ShutdownTimeout               time.Duration // SHUTDOWN_TIMEOUT's default
	Environments                  []string      // the values ENVIRONMENT may take
	// Variables are the names -help-config lists (FLAG_<KEY> as the
	// prefix FLAG_), with their type, default and whether they are secret.
	Variables map[string]Variable
}

// Variable is one row of -help-config=markdown.
type Variable struct {
	Type, Default string
	Secret        bool
}

type contractResult struct {
	c   *Contract
	err error
	// help is the output of -help-config=markdown, kept for tests that
	// break a copy of CONTRACT.md.
	help []byte
}

var (
	contractMu    sync.Mutex
	contractCache = map[string]*contractResult{}
)

// LoadContract reads CONTRACT.md under sdkRoot (the SDK's repository)
// and runs `go run ./PKG -help-config=markdown` in the template's module
// root (once per template and test binary), and checks that the two agree
// on the values both state.
func LoadContract(sdkRoot string, t Template) (*Contract, error) {
	r := loadContract(sdkRoot, t)
	return r.c, r.err
}

func loadContract(sdkRoot string, t Template) *contractResult {
	key := sdkRoot + "\x00" + t.Root + "\x00" + t.Pkg
	contractMu.Lock()
	defer contractMu.Unlock()
	if r, ok := contractCache[key]; ok {
		return r
	}
	r := &contractResult{}
	contractCache[key] = r
	md, err := os.ReadFile(filepath.Join(sdkRoot, "CONTRACT.md"))
	if err != nil {
		r.err = err
		return r
	}
	pkg := "./" + strings.TrimPrefix(t.Pkg, "./")
	cmd := exec.Command("go", "run", pkg, "-help-config=markdown")
	cmd.Dir = t.Root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	ref, err := cmd.Output()
	if err != nil {
		r.err = fmt.Errorf("go run %s -help-config=markdown: %w\n%s", pkg, err, stderr.Bytes())
		return r
	}
	r.help = ref
	r.c, r.err = ParseContract(md, ref)
	return r
}

var (
	listenerRow  = regexp.MustCompile("(?m)^\\| (app|admin) \\| `([A-Z_]+)` \\| `([^`]*)` \\|")
	grpcRow      = regexp.MustCompile("(?m)^\\| grpc \\| `GRPC_ADDR` \\| none \\(`([^`]*)` by convention\\) \\|")
	endpointRow  = regexp.MustCompile("(?m)^\\| `GET (/[a-z]+)`")
	shutdownText = regexp.MustCompile("`SHUTDOWN_TIMEOUT` \\(default ([0-9a-z]+)")
	envText      = regexp.MustCompile("`ENVIRONMENT` is one of ([^.]+)\\.")
	quoted       = regexp.MustCompile("`([a-z]+)`")
	referenceRow = regexp.MustCompile("(?m)^\\| `([A-Z0-9_<>]+)` \\| ([^|]*) \\| ([^|]*) \\| ([^|]*) \\|")
)

// ParseContract reads CONTRACT.md's text and -help-config=markdown's
// output. Every value it needs must be found, and where both state one
// (the listeners' addresses, SHUTDOWN_TIMEOUT) they must agree.
func ParseContract(contractMD, reference []byte) (*Contract, error) {
	c := &Contract{Variables: map[string]Variable{}}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	for _, m := range referenceRow.FindAllSubmatch(reference, -1) {
		name := string(m[1])
		if name == "Variable" {
			continue
		}
		name = strings.TrimSuffix(name, "<KEY>")
		c.Variables[name] = Variable{
			Type:    strings.TrimSpace(string(m[2])),
			Default: strings.Trim(strings.TrimSpace(string(m[3])), "`"),
			Secret:  strings.TrimSpace(string(m[4])) == "secret",
		}
	}
	if len(c.Variables) == 0 {
		fail("-help-config=markdown: no variable rows")
	}

	ports := map[string]int{}
	for _, m := range listenerRow.FindAllSubmatch(contractMD, -1) {
		variable, addr := string(m[2]), string(m[3])
		port, err := portOf(addr)
		if err != nil {
			fail("CONTRACT.md: %s default %q: %v", variable, addr, err)
			continue
		}
		ports[string(m[1])] = port
		if v, ok := c.Variables[variable]; !ok {
			fail("-help-config lists no %s, which CONTRACT.md's listeners name", variable)
		} else if v.Default != addr {
			fail("%s: CONTRACT.md says the default is %q, -help-config %q", variable, addr, v.Default)
		}
	}
	var ok bool
	if c.AppPort, ok = ports["app"]; !ok {
		fail("CONTRACT.md: no app listener row")
	}
	if c.AdminPort, ok = ports["admin"]; !ok {
		fail("CONTRACT.md: no admin listener row")
	}
	if m := grpcRow.FindSubmatch(contractMD); m == nil {
		fail("CONTRACT.md: no grpc listener row naming its conventional port")
	} else if port, err := portOf(string(m[1])); err != nil {
		fail("CONTRACT.md: GRPC_ADDR's conventional address %q: %v", m[1], err)
	} else if c.GRPCPort = port; c.Variables["GRPC_ADDR"].Default != "" {
		fail("GRPC_ADDR: CONTRACT.md says it has no default, -help-config %q", c.Variables["GRPC_ADDR"].Default)
	}

	paths := map[string]bool{}
	for _, m := range endpointRow.FindAllSubmatch(contractMD, -1) {
		paths[string(m[1])] = true
	}
	for _, p := range []struct {
		dst  *string
		path string
	}{{&c.Live, "/livez"}, {&c.Ready, "/readyz"}, {&c.Startup, "/startupz"}, {&c.Metrics, "/metrics"}} {
		if !paths[p.path] {
			fail("CONTRACT.md's admin endpoints have no GET %s", p.path)
		}
		*p.dst = p.path
	}

	if m := shutdownText.FindSubmatch(contractMD); m == nil {
		fail("CONTRACT.md states no SHUTDOWN_TIMEOUT default")
	} else if d, err := time.ParseDuration(string(m[1])); err != nil {
		fail("CONTRACT.md: SHUTDOWN_TIMEOUT default: %v", err)
	} else {
		c.ShutdownTimeout = d
		if v := c.Variables["SHUTDOWN_TIMEOUT"]; v.Default != string(m[1]) {
			fail("SHUTDOWN_TIMEOUT: CONTRACT.md says the default is %s, -help-config %q", m[1], v.Default)
		}
	}
	if m := envText.FindSubmatch(contractMD); m == nil {
		fail("CONTRACT.md does not list ENVIRONMENT's values")
	} else {
		for _, q := range quoted.FindAllSubmatch(m[1], -1) {
			c.Environments = append(c.Environments, string(q[1]))
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("contract: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

func portOf(addr string) (int, error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return 0, fmt.Errorf("no port")
	}
	return strconv.Atoi(addr[i+1:])
}

// Known reports whether name is a variable the service reads.
func (c *Contract) Known(name string) bool {
	if _, ok := c.Variables[name]; ok {
		return true
	}
	return strings.HasPrefix(name, "FLAG_") || strings.HasPrefix(name, "OTEL_")
}

// NearMiss returns the known variable that name is a typo of, as the SDK
// judges one (one edit for a name under 10 characters, two for a longer
// one; CONTRACT.md, Configuration), or "".
func (c *Contract) NearMiss(name string) string {
	limit := 1
	if len(name) >= 10 {
		limit = 2
	}
	for known := range c.Variables {
		if known != name && editDistance(known, name) <= limit {
			return known
		}
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
