package main

import (
	"embed"
	"errors"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/operable-go/operable/examples"
)

const newUsage = `usage:
  operable new [-name NAME] [-version V] [-sdk DIR] MODULE_PATH DIR
`

// The template's own identity, which a copy must not keep.
const (
	sdkModule      = "github.com/operable-go/operable"
	templatePath   = sdkModule + "/examples/service"
	templateName   = "example"
	sdkBlobURL     = "https://github.com/operable-go/operable/blob/main/"
	templateBlob   = sdkBlobURL + "examples/service/"
	sdkInternalPkg = sdkModule + "/internal/"
)

// projectFiles are the files the generator writes that the template does
// not have, at their paths in the project: what a project needs of the
// SDK's repository beside the template. For a template with .proto files:
// scripts/protoc.sh, which regenerates their Go code, and
// grpc_proto_test.go, the check that the committed code is what it
// generates (the template's own is SDK-only). The directory's leading
// underscore keeps the go command from taking it for a package of the SDK.
//
//go:embed all:_project
var projectFiles embed.FS

// Bounds on what the generator reads and writes. The template is the
// tool's own embedded copy, but a build output left in examples/service is
// embedded too: the bounds keep a mistake from becoming a huge copy.
const (
	maxFiles     = 2000
	maxFileBytes = 2 << 20
	maxTotal     = 32 << 20
)

// runNew is `operable new`: it writes the service template under a new
// module path and service name into an empty directory, reading nothing but
// the embedded template (and, with -sdk, that directory's go.mod and
// go.sum), with no network.
func runNew(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("operable new", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.Usage = func() { fmt.Fprint(stderr, newUsage); flags.PrintDefaults() }
	name := flags.String("name", "", "the service's name: Deployment, namespace, scrape job, image (a DNS-1123 label; default: the module path's last element)")
	version := flags.String("version", "", "the SDK version go.mod requires (default: the version this tool was built from)")
	sdk := flags.String("sdk", "", "a local checkout of the SDK: go.mod gets a replace directive to it and go.sum its hashes (for development; default: none)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() != 2 {
		fmt.Fprintln(stderr, "operable new: give MODULE_PATH and DIR")
		flags.Usage()
		return 2
	}
	p := project{Module: flags.Arg(0), Name: *name, Version: *version, SDK: *sdk}
	dir := flags.Arg(1)
	res, err := generate(examples.Service(), dir, p)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "operable new: wrote %d files to %s (module %s, service %s)\n", len(res.Written), dir, res.Module, res.Name)
	if len(res.LeftOut) > 0 {
		fmt.Fprintf(stdout, "left out (SDK-only or build outputs): %s\n", strings.Join(res.LeftOut, ", "))
	}
	if len(res.Own) > 0 {
		fmt.Fprintf(stdout, "written for the project (not in the template): %s\n", strings.Join(res.Own, ", "))
	}
	fmt.Fprintf(stdout, "next: cd %s && go mod tidy && go test ./...\n", dir)
	return 0
}

// project is what `operable new` is asked for.
type project struct {
	Module  string // the new module path; required
	Name    string // the service name; default: Module's last element
	Version string // the SDK version required; default: the tool's own
	SDK     string // a local SDK checkout to replace the requirement with
}

// result is what generate wrote.
type result struct {
	Module, Name string
	Written      []string // slash-separated paths, relative to the directory
	LeftOut      []string // template files not copied
	Own          []string // files of the generator's own (projectFiles), in Written too
}

// generate writes the template src into dir (which must not exist or be
// empty) as the project p.
func generate(src fs.FS, dir string, p project) (result, error) {
	if err := p.check(); err != nil {
		return result{}, err
	}
	goVersion, err := p.resolveSDK()
	if err != nil {
		return result{}, err
	}
	files, leftOut, err := readTemplate(src)
	if err != nil {
		return result{}, err
	}
	if err := checkEmpty(dir); err != nil {
		return result{}, err
	}
	own, err := ownFiles(files)
	if err != nil {
		return result{}, err
	}
	// Everything is rewritten in memory first: a template the generator
	// cannot follow leaves no half-written directory. A left-out file
	// that the project has a file of its own for is linked to as the
	// project's, not the SDK's.
	links := slices.DeleteFunc(slices.Clone(leftOut), func(name string) bool {
		return slices.ContainsFunc(own, func(f templateFile) bool { return f.name == name })
	})
	rw := newRewriter(p, links, len(own) > 0)
	if err := rw.checkFiles(files); err != nil {
		return result{}, err
	}
	for i, f := range files {
		text, err := rw.apply(f.name, string(f.data))
		if err != nil {
			return result{}, err
		}
		files[i].data = []byte(text)
	}
	files = append(files, own...)
	gomod, err := p.goMod(goVersion)
	if err != nil {
		return result{}, err
	}
	files = append(files, templateFile{"go.mod", gomod})
	if p.SDK != "" {
		// The checkout's go.sum holds every hash the project can need
		// (go mod tidy prunes the rest), so that tidy needs no checksum
		// database for modules the SDK has verified already.
		sum, err := readBounded(filepath.Join(p.SDK, "go.sum"), 4<<20)
		if err != nil {
			return result{}, fmt.Errorf("operable new: -sdk: %w", err)
		}
		files = append(files, templateFile{"go.sum", sum})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, fmt.Errorf("operable new: %w", err)
	}
	res := result{Module: p.Module, Name: p.Name, LeftOut: leftOut}
	for _, f := range own {
		res.Own = append(res.Own, f.name)
	}
	for _, f := range files {
		if err := writeFile(dir, f.name, f.data); err != nil {
			return result{}, err
		}
		res.Written = append(res.Written, f.name)
	}
	return res, nil
}

// ownFiles returns the projectFiles a project of the template files needs:
// none when the template has no .proto file. A template file of the same
// path is an error: the generator would overwrite it.
func ownFiles(files []templateFile) ([]templateFile, error) {
	if !slices.ContainsFunc(files, func(f templateFile) bool { return strings.HasSuffix(f.name, ".proto") }) {
		return nil, nil
	}
	src, err := fs.Sub(projectFiles, "_project")
	if err != nil {
		return nil, fmt.Errorf("operable new: %w", err)
	}
	var own []templateFile
	err = fs.WalkDir(src, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if slices.ContainsFunc(files, func(f templateFile) bool { return f.name == name }) {
			return fmt.Errorf("the template has %s, which the generator writes itself", name)
		}
		data, err := fs.ReadFile(src, name)
		own = append(own, templateFile{name, data})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("operable new: %w", err)
	}
	return own, nil
}

// dnsLabel is RFC 1123's label as Kubernetes names objects with it.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// check validates the module path, the name and the version, filling in
// the defaults.
func (p *project) check() error {
	if err := module.CheckPath(p.Module); err != nil {
		return fmt.Errorf("operable new: module path: %w", err)
	}
	if p.Module == sdkModule || strings.HasPrefix(p.Module, sdkModule+"/") {
		return fmt.Errorf("operable new: module path %s is inside the SDK's own module", p.Module)
	}
	if p.Name == "" {
		prefix, _, _ := module.SplitPathVersion(p.Module)
		p.Name = path.Base(prefix)
		if !dnsLabel.MatchString(p.Name) || len(p.Name) > 63 {
			return fmt.Errorf("operable new: the module path's last element %q is no DNS-1123 label (lower-case letters, digits, '-'): give -name", p.Name)
		}
	}
	if len(p.Name) > 63 || !dnsLabel.MatchString(p.Name) {
		return fmt.Errorf("operable new: name %q is no DNS-1123 label: at most 63 lower-case letters, digits or '-', starting and ending with a letter or digit", p.Name)
	}
	switch {
	case p.Version != "":
		if !semver.IsValid(p.Version) || semver.Canonical(p.Version) != p.Version {
			return fmt.Errorf("operable new: version %q is not a canonical semantic version like v1.2.3", p.Version)
		}
	case p.SDK != "":
		// The replace directive decides; the requirement only has to parse.
		p.Version = "v0.0.0"
	default:
		v := builtVersion()
		if v == "" {
			return errors.New("operable new: this tool is a development build and knows no SDK version: give -version or -sdk")
		}
		p.Version = v
	}
	return nil
}

// builtVersion is the SDK version this tool was built from (go install
// ...@v1.2.3), or "" for a development build.
func builtVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Path != sdkModule {
		return ""
	}
	v := info.Main.Version
	if !semver.IsValid(v) || semver.Build(v) != "" { // "(devel)", or a +dirty checkout
		return ""
	}
	return v
}

// resolveSDK checks -sdk (a directory whose go.mod is the SDK's) and
// returns the go line the new go.mod gets: the SDK's own with -sdk, else
// the release of the toolchain that built this tool, which the SDK's go
// line cannot exceed (go mod tidy raises it if a dependency needs more).
func (p *project) resolveSDK() (string, error) {
	if p.SDK == "" {
		v := strings.TrimPrefix(runtime.Version(), "go")
		if major, rest, ok := strings.Cut(v, "."); ok {
			minor, _, _ := strings.Cut(rest, ".")
			return major + "." + minor + ".0", nil
		}
		return "", fmt.Errorf("operable new: cannot read a Go release from %q", runtime.Version())
	}
	abs, err := filepath.Abs(p.SDK)
	if err != nil {
		return "", fmt.Errorf("operable new: -sdk: %w", err)
	}
	p.SDK = abs
	data, err := readBounded(filepath.Join(abs, "go.mod"), 1<<20)
	if err != nil {
		return "", fmt.Errorf("operable new: -sdk: %w", err)
	}
	f, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		return "", fmt.Errorf("operable new: -sdk: %w", err)
	}
	if f.Module == nil || f.Module.Mod.Path != sdkModule || f.Go == nil {
		return "", fmt.Errorf("operable new: -sdk %s: its go.mod is not the module %s", abs, sdkModule)
	}
	return f.Go.Version, nil
}

// goMod is the new project's go.mod: its module path, the SDK required,
// the SDK's tool (so that `go tool operable audit` runs the pinned audit),
// and, with -sdk, the replace directive to the checkout.
func (p project) goMod(goVersion string) ([]byte, error) {
	f := new(modfile.File)
	steps := []error{
		f.AddModuleStmt(p.Module),
		f.AddGoStmt(goVersion),
		f.AddRequire(sdkModule, p.Version),
		f.AddTool(sdkModule + "/cmd/operable"),
	}
	if p.SDK != "" {
		steps = append(steps, f.AddReplace(sdkModule, "", p.SDK, ""))
	}
	if err := errors.Join(steps...); err != nil {
		return nil, fmt.Errorf("operable new: go.mod: %w", err)
	}
	f.Cleanup()
	out, err := f.Format()
	if err != nil {
		return nil, fmt.Errorf("operable new: go.mod: %w", err)
	}
	return out, nil
}

type templateFile struct {
	name string
	data []byte
}

// leftOutByName reports the template files never copied: the build outputs
// of examples/service (its .gitignore's).
func leftOutByName(name string) bool {
	return name == "service" || strings.HasSuffix(name, ".test") ||
		strings.HasSuffix(name, ".prof") || strings.HasSuffix(name, ".out")
}

// readTemplate reads every file of src within the bounds, leaving out the
// build outputs and the SDK-only tests: a _test.go file that imports a
// package under the SDK's internal/, which another module cannot import.
// Any other file that imports one is an error of the template.
func readTemplate(src fs.FS) (files []templateFile, leftOut []string, err error) {
	total := 0
	err = fs.WalkDir(src, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", name)
		}
		if leftOutByName(name) {
			leftOut = append(leftOut, name)
			return nil
		}
		if len(files) == maxFiles {
			return fmt.Errorf("more than %d files", maxFiles)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxFileBytes {
			return fmt.Errorf("%s has %d bytes, over the limit of %d", name, info.Size(), maxFileBytes)
		}
		if total += int(info.Size()); total > maxTotal {
			return fmt.Errorf("over %d bytes in all", maxTotal)
		}
		data, err := fs.ReadFile(src, name)
		if err != nil {
			return err
		}
		if strings.HasSuffix(name, ".go") {
			internal, err := importsSDKInternal(name, data)
			if err != nil {
				return err
			}
			if internal && strings.HasSuffix(name, "_test.go") {
				leftOut = append(leftOut, name)
				return nil
			}
			if internal {
				return fmt.Errorf("%s imports the SDK's internal packages, which a generated module cannot", name)
			}
		}
		files = append(files, templateFile{name, data})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("operable new: the template: %w", err)
	}
	return files, leftOut, nil
}

func importsSDKInternal(name string, data []byte) (bool, error) {
	f, err := parser.ParseFile(token.NewFileSet(), name, data, parser.ImportsOnly)
	if err != nil {
		return false, err
	}
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return false, fmt.Errorf("%s: %w", name, err)
		}
		if strings.HasPrefix(p, sdkInternalPkg) {
			return true, nil
		}
	}
	return false, nil
}

// checkEmpty accepts a dir that does not exist or is an empty directory.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("operable new: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("operable new: %s is not empty", dir)
	}
	return nil
}

// writeFile writes name (slash-separated) under dir: scripts executable,
// everything else not.
func writeFile(dir, name string, data []byte) error {
	dst := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("operable new: %w", err)
	}
	perm := os.FileMode(0o644)
	if strings.HasSuffix(name, ".sh") {
		perm = 0o755
	}
	if err := os.WriteFile(dst, data, perm); err != nil {
		return fmt.Errorf("operable new: %w", err)
	}
	return nil
}

func readBounded(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes", name, limit)
	}
	return data, nil
}

// An edit is one change the template's layout needs in a project whose
// root is the service: the old text must be in the file, so that a change
// of the template that the generator does not follow fails its test
// instead of leaving a stale line in every copy.
type edit struct {
	file, old, new string
}

// rewriter turns the template's text into the project's.
type rewriter struct {
	p       project
	edits   []edit
	leftOut []string
}

// newRewriter returns the rewriter of the project p; protoc tells that the
// generator writes its own scripts/protoc.sh (ownFiles), which the
// pipeline then installs the tools with, so that the proto check runs.
func newRewriter(p project, leftOut []string, protoc bool) rewriter {
	prefix, _, _ := module.SplitPathVersion(p.Module)
	binary := path.Base(prefix) // what `go build` in the project's root writes
	ignoreEdits := func(file string) []edit {
		return []edit{
			{file, "The context is the\n# repository root (see Dockerfile)", "The context is the\n# module's root (see Dockerfile)"},
			{file, "**/.github\n.ci\nbench\ntemplatecheck\n", "**/.github\n"},
			{file, "# Build outputs of `go build` in the root or the example (.gitignore).\n/service\n/first\nexamples/service/service\nexamples/first/first\n",
				"# The build output of `go build` in the root.\n/" + binary + "\n"},
		}
	}
	edits := []edit{
		{"Dockerfile", "# Build context: the repository root, not this directory. The example is a\n# package of the SDK's module (github.com/operable-go/operable), so its build\n# needs the module's go.mod, go.sum and every SDK package beside it:\n",
			"# Build context: this directory, the module's root:\n"},
		{"compose.yaml", "      context: ../..\n      dockerfile: examples/service/Dockerfile\n", "      context: .\n      dockerfile: Dockerfile\n"},
		{"compose.yaml", "(context:\n#   the repository root)", "(context:\n#   this directory)"},
		{".github/workflows/ci.yaml", "# It lives under examples/service/.github/workflows/ because this repository\n# runs its own CI through .ci/run; GitHub runs only a root .github/workflows.\n# Its paths are the repository's (the build context is the root, the\n# service is examples/service); a copy of the template whose root is the\n# service moves it to .github/workflows/ and shortens the paths.\n", ""},
		// templatecheck is a module of the SDK's repository, not of the copy.
		{".github/workflows/ci.yaml", "      - name: Template checks (Dockerfile, Kubernetes, compose, this workflow)\n        run: cd templatecheck && go test ./...\n", ""},
		{".github/workflows/ci.yaml", " -exclude-dir=bench -exclude-dir=templatecheck ./...", " ./..."},
		// The audit of the SDK version go.mod requires (go.mod's tool line).
		{".github/workflows/ci.yaml", "go run ./cmd/operable audit", "go tool operable audit"},
		// The anchors' test (monitoring_test.go) is SDK-only.
		{"RUNBOOK.md", "(`runbook_url`, a test checks every anchor)", "(`runbook_url`; the SDK's template tests every anchor)"},
		// The pin script is the SDK's, at the version go.mod requires (the
		// module zip keeps no file modes: bash runs it).
		{".github/workflows/ci.yaml", "      - name: Pin the base images to the registry's digests\n        run: scripts/pin-images.sh examples/service/Dockerfile\n",
			"      - uses: actions/setup-go@v6\n        with:\n          go-version-file: go.mod\n" +
				"      - name: Pin the base images to the registry's digests (the SDK's scripts/pin-images.sh)\n        run: |\n" +
				"          go mod download " + sdkModule + "\n" +
				"          sdk=$(go list -m -f '{{.Dir}}' " + sdkModule + ")\n" +
				"          bash \"$sdk/scripts/pin-images.sh\" \"$PWD/Dockerfile\"\n"},
		{"Dockerfile", "# Base images carry an exact version tag; scripts/pin-images.sh, run by the\n", "# Base images carry an exact version tag; the SDK's scripts/pin-images.sh, run by the\n"},
		{"deploy/base/kustomization.yaml", "# Checked by templatecheck (cd templatecheck && go test ./...): every overlay\n", "# Checked by templatecheck: every overlay\n"},
		{"RUNBOOK.md", "A copy of this template renames `example` (the service, the Deployment, the scrape job) and fills in\n", "Fill in\n"},
		{"main.go", "// Command service is an example service built on operable:", "// Command " + binary + " is a service built on operable:"},
	}
	if protoc {
		// Without the tools, grpc_proto_test.go skips: the pipeline
		// installs them first, so that it checks the generated code.
		const test = "      - name: Test with the race detector and coverage\n"
		edits = append(edits, edit{".github/workflows/ci.yaml", test,
			"      - name: Install protoc and the pinned plugins (grpc_proto_test.go regenerates the gRPC code)\n" +
				"        run: scripts/protoc.sh --install\n" + test})
	}
	edits = append(edits, ignoreEdits(".dockerignore")...)
	edits = append(edits, ignoreEdits("Dockerfile.dockerignore")...)
	return rewriter{p: p, edits: edits, leftOut: leftOut}
}

var templatecheckWord = regexp.MustCompile(`\btemplatecheck\b`)

// checkFiles fails when a file an edit is for is not in the template, so
// that a renamed or removed file is not silently left unedited.
func (rw rewriter) checkFiles(files []templateFile) error {
	for _, e := range rw.edits {
		if !slices.ContainsFunc(files, func(f templateFile) bool { return f.name == e.file }) {
			return fmt.Errorf("operable new: the template has no %s: the generator's edits need updating", e.file)
		}
	}
	return nil
}

// templateDir matches the template's directory in a path: ./examples/service
// alone, or as a prefix with or without ./.
var templateDir = regexp.MustCompile(`(\./)?examples/service(/)?`)

// apply rewrites one file: the layout edits, the template's module path
// (imports, the meter's name), the links into the SDK's repository, the
// template's directory in paths, and its service name.
func (rw rewriter) apply(name, text string) (string, error) {
	for _, e := range rw.edits {
		if e.file != name {
			continue
		}
		if !strings.Contains(text, e.old) {
			return "", fmt.Errorf("operable new: the template's %s no longer has %q: the generator's edits need updating", name, firstLine(e.old))
		}
		text = strings.ReplaceAll(text, e.old, e.new)
	}
	if !strings.HasSuffix(name, ".go") {
		// The checks are the SDK's module's, not the copy's.
		text = templatecheckWord.ReplaceAllString(text, "the SDK's templatecheck")
		text = strings.ReplaceAll(text, "the SDK's the SDK's", "the SDK's")
	}
	text = strings.ReplaceAll(text, templateBlob, "https://"+rw.p.Module+"/blob/main/")
	text = strings.ReplaceAll(text, templatePath, rw.p.Module)
	if strings.HasSuffix(name, ".md") {
		// Relative links out of the template reach the SDK's repository.
		text = strings.ReplaceAll(text, "](../../", "]("+sdkBlobURL)
	}
	text = templateDir.ReplaceAllStringFunc(text, func(m string) string {
		switch {
		case strings.HasPrefix(m, "./") && strings.HasSuffix(m, "/"):
			return "./"
		case strings.HasSuffix(m, "/"):
			return ""
		default:
			return "."
		}
	})
	text = renameService(text, rw.p.Name)
	if strings.HasSuffix(name, ".md") {
		// Links to the files left out point at the SDK's copy of them.
		for _, f := range rw.leftOut {
			text = strings.ReplaceAll(text, "]("+f+")", "]("+templateBlob+f+")")
			text = strings.ReplaceAll(text, "]("+f+"#", "]("+templateBlob+f+"#")
		}
	}
	return text, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// serviceName finds the template's service name: the word "example",
// lower case, as a whole word (a hyphen or a dot is a boundary:
// example-config, /etc/example/tls), except where it is the English word
// ("for example", "an example", a table's "| example |" column) or part of
// a domain (registry.example.com).
var serviceName = regexp.MustCompile(`\b` + templateName + `\b`)

var englishBefore = []string{"for ", "For ", "an ", "An ", "| "}

// oldNames returns the offsets of the template's service name in text.
func oldNames(text string) [][]int {
	var out [][]int
	for _, m := range serviceName.FindAllStringIndex(text, -1) {
		before, after := text[:m[0]], text[m[1]:]
		if strings.HasPrefix(after, ".com") {
			continue
		}
		if slices.ContainsFunc(englishBefore, func(w string) bool {
			return strings.HasSuffix(before, w) && (w != "| " || strings.HasPrefix(after, " |"))
		}) {
			continue
		}
		out = append(out, m)
	}
	return out
}

// renameService replaces the template's service name with name.
func renameService(text, name string) string {
	var b strings.Builder
	last := 0
	for _, m := range oldNames(text) {
		b.WriteString(text[last:m[0]])
		b.WriteString(name)
		last = m[1]
	}
	b.WriteString(text[last:])
	return b.String()
}
