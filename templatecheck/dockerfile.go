package templatecheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
)

// LintDockerfile runs the checks of `docker build --check` on the
// Dockerfile at path: BuildKit's own dockerfile2llb.DockerfileLint, the
// function behind the check subrequest, with every rule of its linter, for
// all stages. It returns one line per warning, and the build error if the
// Dockerfile does not convert.
//
// No registry is reached: base images resolve to an offline image config
// for linux/amd64, so the rules that read a base image's config see a
// well-formed one. What the registry would hold (the tag exists, its
// digest) is pin-images.sh's business in the pipeline.
func LintDockerfile(path string) ([]string, error) {
	dt, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sm := llb.NewSourceMap(nil, filepath.Base(path), "Dockerfile", dt)
	sm.Definition = &llb.Definition{}
	res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
		SourceMap:    sm,
		MetaResolver: offlineResolver{},
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		out = append(out, fmt.Sprintf("%s:%d: %s: %s", path, line, w.RuleName, w.Detail))
	}
	if res.Error != nil {
		out = append(out, fmt.Sprintf("%s: build error: %s", path, res.Error.Message))
	}
	return out, nil
}

// offlineResolver answers every base image with a minimal linux/amd64
// image config of one layer, and no digest (none was read from a
// registry).
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	cfg, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"config":       map[string]any{"Env": []string{"PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{digest.FromString(ref).String()}},
	})
	return ref, "", cfg, err
}

// Image references that the rules below accept: an exact version tag
// (digits and dots, then an optional -variant, e.g. 1.26.8-bookworm), with
// an optional digest of 64 lower-case hex digits. Tags such as latest,
// stable, bookworm, nonroot or 1.26 move: a rebuild would take a different
// image.
var (
	exactTag = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+(-[a-z0-9][a-z0-9.-]*)?$`)
	// PostgreSQL's releases are MAJOR.MINOR since 10: 17.6 is exact, and
	// its official image has no third number.
	exactPostgresTag = regexp.MustCompile(`^[0-9]{2,}\.[0-9]+(-[a-z0-9][a-z0-9.-]*)?$`)
	realDigest       = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// CheckImageRef reports why ref is not pinned to an exact version tag
// (MAJOR.MINOR.PATCH; MAJOR.MINOR for postgres, whose releases have two),
// or carries a digest that was not read from a registry: one that is not
// 64 hex digits, or one that looks made up (a placeholder, few distinct
// digits, a repeated or counting pattern, hexspeak). A real sha256 has
// about 16 distinct digits and no such pattern; pin-images.sh writes only
// what the registry answers.
func CheckImageRef(ref string) error {
	if ref == "scratch" {
		return nil
	}
	name, dgst, hasDigest := strings.Cut(ref, "@")
	slash := strings.LastIndex(name, "/")
	colon := strings.LastIndex(name, ":")
	if colon <= slash {
		return fmt.Errorf("image %q has no tag: pin an exact version tag", ref)
	}
	tag := name[colon+1:]
	exact := exactTag
	if repo := name[:colon]; repo == "postgres" || repo == "docker.io/library/postgres" {
		exact = exactPostgresTag
	}
	if !exact.MatchString(tag) {
		return fmt.Errorf("image %q: tag %q is not an exact version (want like 1.26.8 or 1.26.8-bookworm; never latest)", ref, tag)
	}
	if !hasDigest {
		return nil
	}
	if !realDigest.MatchString(dgst) {
		return fmt.Errorf("image %q: digest %q is not sha256: and 64 lower-case hex digits", ref, dgst)
	}
	if why := madeUp(strings.TrimPrefix(dgst, "sha256:")); why != "" {
		return fmt.Errorf("image %q: digest looks made up (%s): write digests only with scripts/pin-images.sh", ref, why)
	}
	return nil
}

// madeUp says why a 64-digit hex string does not look like a hash, or "".
func madeUp(hex string) string {
	distinct := map[rune]bool{}
	for _, r := range hex {
		distinct[r] = true
	}
	if len(distinct) < 10 {
		return strconv.Itoa(len(distinct)) + " distinct digits"
	}
	for period := 1; period <= 32; period++ {
		if hex[:len(hex)-period] == hex[period:] {
			return "a repeated pattern"
		}
	}
	for _, word := range []string{"0123456", "1234567", "abcdef0", "deadbeef", "cafebabe", "feedface", "badc0de", "0000000", "fffffff"} {
		if strings.Contains(hex, word) {
			return "contains " + word
		}
	}
	return ""
}

// CheckDockerfile checks the rules of the template's Dockerfile that the
// linter does not: pinned base images, a multi-stage build whose runtime
// is scratch or distroless static, CGO_ENABLED=0, a numeric non-root USER,
// an exec-form ENTRYPOINT and a HEALTHCHECK through the binary itself,
// go.mod and go.sum copied (and downloaded) before the rest of the
// sources, nothing written outside /tmp in the runtime stage, and a Go
// at least the module's (goVersion, from the root go.mod).
func CheckDockerfile(path, goVersion string) []error {
	dt, err := os.ReadFile(path)
	if err != nil {
		return []error{err}
	}
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return []error{err}
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return []error{err}
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(path+": "+format, args...)) }
	if len(stages) < 2 {
		bad("want a multi-stage build (a build stage and a runtime stage), have %d stage(s)", len(stages))
	}
	names := map[string]bool{}
	for _, st := range stages {
		if !names[strings.ToLower(st.BaseName)] {
			if err := CheckImageRef(st.BaseName); err != nil {
				bad("FROM, line %d: %v", st.Location[0].Start.Line, err)
			}
		}
		if st.Name != "" {
			names[strings.ToLower(st.Name)] = true
		}
		if v, ok := goImageVersion(st.BaseName); ok && versionLess(v, goVersion) {
			bad("FROM %s: Go %s is older than go.mod's go %s", st.BaseName, v, goVersion)
		}
	}
	if len(stages) == 0 {
		return errs
	}
	final := stages[len(stages)-1]
	if final.BaseName != "scratch" && !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") {
		bad("runtime stage FROM %s: want scratch or gcr.io/distroless/static (a static binary, no shell)", final.BaseName)
	}

	// The build stage: CGO_ENABLED=0, go.mod and go.sum first.
	cgoOff, modFirst, downloaded, copiedAll := false, false, false, false
	for _, st := range stages[:len(stages)-1] {
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.EnvCommand:
				for _, kv := range c.Env {
					if kv.Key == "CGO_ENABLED" && kv.Value == "0" {
						cgoOff = true
					}
				}
			case *instructions.CopyCommand:
				srcs := c.SourcePaths
				if slices.Contains(srcs, "go.mod") && slices.Contains(srcs, "go.sum") && !copiedAll {
					modFirst = true
				}
				if slices.Contains(srcs, ".") {
					copiedAll = true
				}
			case *instructions.RunCommand:
				line := strings.Join(c.CmdLine, " ")
				if strings.Contains(line, "go mod download") && modFirst && !copiedAll {
					downloaded = true
				}
				if strings.Contains(line, "CGO_ENABLED=0") {
					cgoOff = true
				}
			}
		}
	}
	if !cgoOff {
		bad("no CGO_ENABLED=0 in the build stage: the binary must be static for %s", final.BaseName)
	}
	if !modFirst || !downloaded {
		bad("copy go.mod and go.sum and run go mod download before COPY . . (cache-friendly layers)")
	}

	// The runtime stage.
	var user *instructions.UserCommand
	var entry *instructions.EntrypointCommand
	var health *instructions.HealthCheckCommand
	workdir := "/"
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c
		case *instructions.EntrypointCommand:
			entry = c
		case *instructions.HealthCheckCommand:
			health = c
		case *instructions.WorkdirCommand:
			workdir = c.Path
		case *instructions.RunCommand:
			bad("RUN in the runtime stage (line %d): it has no shell; build in the build stage", c.Location()[0].Start.Line)
		case *instructions.VolumeCommand:
			for _, v := range c.Volumes {
				if v != "/tmp" {
					bad("VOLUME %s: the only writable path is a mounted /tmp", v)
				}
			}
		}
	}
	switch {
	case user == nil:
		bad("no USER in the runtime stage: the process would run as root")
	default:
		uid, gid, _ := strings.Cut(user.User, ":")
		n, err := strconv.Atoi(uid)
		if err != nil || n == 0 {
			bad("USER %q: want a numeric non-root user id (Kubernetes' runAsNonRoot can check only a number)", user.User)
		}
		if gid != "" {
			if g, err := strconv.Atoi(gid); err != nil || g == 0 {
				bad("USER %q: want a numeric non-root group id", user.User)
			}
		}
	}
	binary := ""
	switch {
	case entry == nil:
		bad("no ENTRYPOINT in the runtime stage")
	case entry.PrependShell:
		bad("ENTRYPOINT in shell form: SIGTERM would reach a shell, not the service; use the exec form [\"/app/example\"]")
	default:
		binary = entry.CmdLine[0]
	}
	switch {
	case health == nil || health.Health == nil:
		bad("no HEALTHCHECK in the runtime stage")
	case len(health.Health.Test) < 3 || health.Health.Test[0] != "CMD" || health.Health.Test[1] != binary || !slices.Contains(health.Health.Test[2:], "-healthcheck"):
		bad("HEALTHCHECK %q: want the exec form through the binary itself, [%q, \"-healthcheck\"] (no shell, no curl)", health.Health.Test, binary)
	}
	if workdir != "/app" {
		bad("WORKDIR %s: the service reads config/ under its working directory, which deploy/ mounts at /app/config", workdir)
	}
	return errs
}

// goImageVersion is the Go version of a golang:X.Y.Z[-variant] image.
func goImageVersion(ref string) (string, bool) {
	name, _, _ := strings.Cut(ref, "@")
	repo, tag, ok := strings.Cut(name, ":")
	if !ok || (repo != "golang" && !strings.HasSuffix(repo, "/golang")) {
		return "", false
	}
	v, _, _ := strings.Cut(tag, "-")
	return v, true
}

// versionLess compares dotted versions numerically.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// CheckDockerignore checks the build's ignore files: ignore (the
// Dockerfile-specific one that BuildKit reads) and twin (.dockerignore)
// must be the same; they must leave out .git, the separate modules and
// build outputs; and nothing the Dockerfile copies from the context may be
// left out (BuildKit's CopyIgnoredFile rule, experimental and off by
// default, checked here instead). root is the build context and pkg the
// main package's directory under it ("." for the root).
func CheckDockerignore(dockerfile, ignore, twin, root, pkg string) []error {
	var errs []error
	a, err := os.ReadFile(ignore)
	if err != nil {
		return []error{err}
	}
	if b, err := os.ReadFile(twin); err != nil {
		errs = append(errs, err)
	} else if !bytes.Equal(a, b) {
		errs = append(errs, fmt.Errorf("%s and %s differ: keep them the same", ignore, twin))
	}
	patterns, err := ignorefile.ReadAll(bytes.NewReader(a))
	if err != nil {
		return append(errs, err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return append(errs, err)
	}
	// Left out: history, local secrets, the template's own build output
	// and deployment files, and, where the context has them, the separate
	// modules, the root's build outputs and the tests.
	binary := path.Base(path.Clean(pkg)) // go build's output: the directory's name
	if path.Clean(pkg) == "." {
		binary = rootBinary(root)
	}
	// (in the package's directory, or the root's when built from there)
	out := []string{".git", ".git/config", ".env", binary, path.Join(pkg, binary), path.Join(pkg, "deploy/base/kustomization.yaml")}
	for _, p := range []string{"bench/go.mod", "templatecheck/go.mod", "config_test.go"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	for _, p := range slices.Compact(out) {
		if ok, _ := pm.MatchesOrParentMatches(p); !ok {
			errs = append(errs, fmt.Errorf("%s: %s is not left out of the build context", ignore, p))
		}
	}
	dt, err := os.ReadFile(dockerfile)
	if err != nil {
		return append(errs, err)
	}
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return append(errs, err)
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return append(errs, err)
	}
	for _, st := range stages {
		for _, c := range st.Commands {
			cp, ok := c.(*instructions.CopyCommand)
			if !ok || cp.From != "" {
				continue
			}
			for _, src := range cp.SourcePaths {
				if src == "." {
					// Everything the build compiles: the service and the
					// SDK's packages, test files aside.
					for _, p := range buildInputs(root, pkg) {
						if ok, _ := pm.MatchesOrParentMatches(p); ok {
							errs = append(errs, fmt.Errorf("%s leaves out %s, which COPY . . needs to build", ignore, p))
						}
					}
					errs = append(errs, checkEmbeds(root, ignore, pm)...)
					continue
				}
				if ok, _ := pm.MatchesOrParentMatches(filepath.ToSlash(filepath.Clean(src))); ok {
					errs = append(errs, fmt.Errorf("%s leaves out %s, which the Dockerfile copies", ignore, src))
				}
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					errs = append(errs, fmt.Errorf("%s copies %s, which is not in the build context %s", dockerfile, src, root))
				}
			}
		}
	}
	return errs
}

// buildInputs are files a build of pkg in the context root needs: go.mod,
// go.sum, the package's main.go and its other non-test Go files, and the SDK's main.go and
// config/config.go where the context is the SDK's repository.
func buildInputs(root, pkg string) []string {
	in := []string{"go.mod", "go.sum", path.Join(pkg, "main.go")}
	if mod, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil && bytes.HasPrefix(mod, []byte("module "+sdkModule+"\n")) {
		in = append(in, "main.go", "config/config.go")
	}
	files, _ := filepath.Glob(filepath.Join(root, filepath.FromSlash(pkg), "*.go"))
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			rel, _ := filepath.Rel(root, f)
			in = append(in, filepath.ToSlash(rel))
		}
	}
	slices.Sort(in)
	return slices.Compact(in)
}

// sdkModule is the SDK's module path.
const sdkModule = "github.com/operable-go/operable"

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

var errNoModule = errors.New("no go directive")

// GoVersion is the go directive of the go.mod at path.
func GoVersion(path string) (string, error) {
	dt, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(dt), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s: %w", path, errNoModule)
}

// RuntimeImage reads the working directory and numeric user of the
// Dockerfile's last stage, which the manifests must agree with.
func RuntimeImage(path string) (Image, error) {
	dt, err := os.ReadFile(path)
	if err != nil {
		return Image{}, err
	}
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return Image{}, err
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil || len(stages) == 0 {
		return Image{}, fmt.Errorf("%s: no stage: %v", path, err)
	}
	img := Image{Workdir: "/", UID: -1}
	for _, c := range stages[len(stages)-1].Commands {
		switch c := c.(type) {
		case *instructions.WorkdirCommand:
			img.Workdir = c.Path
		case *instructions.UserCommand:
			uid, _, _ := strings.Cut(c.User, ":")
			if n, err := strconv.ParseInt(uid, 10, 64); err == nil {
				img.UID = n
			}
		case *instructions.ExposeCommand:
			for _, p := range c.Ports {
				n, _, _ := strings.Cut(p, "/")
				if port, err := strconv.Atoi(n); err == nil {
					img.Exposed = append(img.Exposed, port)
				}
			}
		}
	}
	return img, nil
}

// CheckExposed reports whether the image's EXPOSE lists exactly the
// contract's two listener ports, or, for a worker, which serves no route,
// only the admin listener's; and the gRPC listener's conventional port
// when the image exposes it (CheckManifests holds it to the Deployment's).
func CheckExposed(img Image, c *Contract, kind Kind) error {
	want := []int{c.AppPort, c.AdminPort}
	if kind == Worker {
		want = []int{c.AdminPort}
	}
	if slices.Contains(img.Exposed, c.GRPCPort) {
		want = append(want, c.GRPCPort)
	}
	got := slices.Clone(img.Exposed)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("EXPOSE %v: want the listeners' ports %v (CONTRACT.md)", img.Exposed, want)
	}
	return nil
}

// checkEmbeds: every file a //go:embed directive of a non-test Go file in
// the build context names must be in the context too, or the build fails
// inside the image only.
func checkEmbeds(root, ignore string, pm *patternmatcher.PatternMatcher) []error {
	var errs []error
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel != "." {
			if ok, _ := pm.MatchesOrParentMatches(rel); ok {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		dt, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, line := range strings.Split(string(dt), "\n") {
			pats, ok := strings.CutPrefix(strings.TrimSpace(line), "//go:embed ")
			if !ok {
				continue
			}
			for _, pat := range strings.Fields(pats) {
				pat = strings.TrimPrefix(strings.Trim(pat, "\"`"), "all:")
				matches, _ := filepath.Glob(filepath.Join(filepath.Dir(p), filepath.FromSlash(pat)))
				for _, m := range matches {
					mrel, _ := filepath.Rel(root, m)
					if ok, _ := pm.MatchesOrParentMatches(filepath.ToSlash(mrel)); ok {
						errs = append(errs, fmt.Errorf("%s leaves out %s, which %s embeds", ignore, filepath.ToSlash(mrel), rel))
					}
				}
			}
		}
		return nil
	})
	return errs
}

// rootBinary is what go build names the binary of a module's root
// package: the module path's last element, a major version suffix (/v2)
// skipped; the directory's name when go.mod names no module.
func rootBinary(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return filepath.Base(mustAbs(root))
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "module" {
			continue
		}
		elems := strings.Split(strings.Trim(f[1], `"`), "/")
		last := elems[len(elems)-1]
		if len(elems) > 1 && len(last) > 1 && last[0] == 'v' && strings.Trim(last[1:], "0123456789") == "" {
			last = elems[len(elems)-2]
		}
		return last
	}
	return filepath.Base(mustAbs(root))
}
