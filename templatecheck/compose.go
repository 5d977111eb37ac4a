package templatecheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

// LoadCompose loads a compose file as `docker compose` does, with
// compose-go's loader: the compose-spec JSON schema validated, variables
// interpolated from an empty environment, paths resolved.
func LoadCompose(path string) (*types.Project, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  filepath.Dir(abs),
		ConfigFiles: []types.ConfigFile{{Filename: abs}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SetProjectName("example", true)
		o.ResolvePaths = true
	})
}

// CheckCompose checks the template's compose.yaml: it loads (schema
// included); every image it pulls has an exact version tag; every file it
// mounts exists; the service is built from the template's Dockerfile,
// runs read-only, as the image's user, with no capabilities, publishes
// both listeners, outlives SHUTDOWN_TIMEOUT on stop, and reads only
// variables it knows; Prometheus scrapes its admin listener as job
// "example" (the rules' job) with the rules loaded.
func CheckCompose(path string, c *Contract, img Image) []error {
	p, err := LoadCompose(path)
	if err != nil {
		return []error{fmt.Errorf("%s: %w", path, err)}
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(path+": "+format, args...)) }
	for _, name := range []string{"example", "vault", "otel-collector", "prometheus", "grafana"} {
		if _, ok := p.Services[name]; !ok {
			bad("no service %s", name)
		}
	}
	for name, s := range p.Services {
		if s.Build == nil {
			if err := CheckImageRef(s.Image); err != nil {
				bad("service %s: %v", name, err)
			}
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				if _, err := os.Stat(v.Source); err != nil {
					bad("service %s mounts %s, which does not exist", name, v.Source)
				}
			}
		}
		for _, cfg := range s.Configs {
			if _, ok := p.Configs[cfg.Source]; !ok {
				bad("service %s uses config %s, which is not defined", name, cfg.Source)
			}
		}
	}
	s, ok := p.Services["example"]
	if !ok {
		return errs
	}
	if s.Build == nil {
		bad("service example is not built from the template's Dockerfile")
	} else if df := filepath.Join(s.Build.Context, s.Build.Dockerfile); !strings.HasSuffix(filepath.ToSlash(df), "examples/service/Dockerfile") {
		bad("service example is built from %s, not examples/service/Dockerfile", df)
	} else if _, err := os.Stat(df); err != nil {
		bad("service example: %v", err)
	}
	if !s.ReadOnly {
		bad("service example: read_only is not true")
	}
	uid, _, _ := strings.Cut(s.User, ":")
	if n, err := strconv.ParseInt(uid, 10, 64); err != nil || n != img.UID {
		bad("service example: user %q is not the image's numeric USER %d", s.User, img.UID)
	}
	if !slices.Contains(s.CapDrop, "ALL") || len(s.CapAdd) > 0 {
		bad("service example: want cap_drop [ALL] and no cap_add")
	}
	published := map[uint32]bool{}
	for _, port := range s.Ports {
		published[port.Target] = true
	}
	for _, want := range []int{c.AppPort, c.AdminPort} {
		if !published[uint32(want)] {
			bad("service example does not publish port %d", want)
		}
	}
	grace := 10 * time.Second // compose's default
	if s.StopGracePeriod != nil {
		grace = time.Duration(*s.StopGracePeriod)
	}
	if grace < c.ShutdownTimeout+ShutdownMargin {
		bad("service example: stop_grace_period %s; SHUTDOWN_TIMEOUT is %s and compose must wait at least %s more", grace, c.ShutdownTimeout, ShutdownMargin)
	}
	for name := range s.Environment {
		switch {
		case c.Known(name):
		case c.NearMiss(name) != "":
			bad("service example: variable %s is a typo of %s", name, c.NearMiss(name))
		default:
			bad("service example: variable %s is not one the service reads (-help-config)", name)
		}
	}
	for _, m := range s.Volumes {
		if !m.ReadOnly {
			bad("service example mounts %s writable", m.Target)
		}
		if !strings.HasPrefix(m.Target, img.Workdir+"/config/") && m.Target != img.Workdir+"/config" {
			bad("service example mounts %s, outside config/ under the image's WORKDIR %s", m.Target, img.Workdir)
		}
	}

	// Prometheus: job "example" on the admin port, the rules loaded.
	if prom, ok := p.Configs["prometheus"]; ok {
		var cfg struct {
			RuleFiles     []string `json:"rule_files"`
			ScrapeConfigs []struct {
				JobName       string `json:"job_name"`
				MetricsPath   string `json:"metrics_path"`
				StaticConfigs []struct {
					Targets []string `json:"targets"`
				} `json:"static_configs"`
			} `json:"scrape_configs"`
		}
		if err := yaml.Unmarshal([]byte(prom.Content), &cfg); err != nil {
			bad("config prometheus: %v", err)
		}
		found := false
		for _, sc := range cfg.ScrapeConfigs {
			for _, st := range sc.StaticConfigs {
				if sc.JobName == "example" && sc.MetricsPath == c.Metrics && slices.Contains(st.Targets, "example:"+strconv.Itoa(c.AdminPort)) {
					found = true
				}
			}
		}
		if !found {
			bad("config prometheus: no job \"example\" scraping example:%d%s", c.AdminPort, c.Metrics)
		}
		if len(cfg.RuleFiles) == 0 {
			bad("config prometheus: no rule_files")
		}
	} else {
		bad("no config prometheus")
	}
	return errs
}
