package config_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/operable-go/operable/config"
)

type portConfig struct {
	Port int `env:"PORT" envDefault:"8080"`
}

// loadDir loads a portConfig from dir's base.yaml with opts' limits and
// returns its problems (nil when it loads).
func loadDir(t *testing.T, opts config.Options) (*portConfig, *config.Error) {
	t.Helper()
	opts.Environ = map[string]string{}
	if opts.Files == nil {
		opts.Files = []string{"base.yaml"}
	}
	var c portConfig
	_, err := config.LoadAll(context.Background(), opts, &c)
	if err == nil {
		return &c, nil
	}
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("LoadAll = %v, want a *config.Error", err)
	}
	return &c, ce
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLoadRefusesAFileOverTheSizeLimit: a file larger than MaxFileSize (1 MiB
// by default) is one problem naming the file and the limit.
func TestLoadRefusesAFileOverTheSizeLimit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "base.yaml")
	writeFile(t, path, []byte("port: 9090\n"+strings.Repeat("# padding\n", 20)))
	_, ce := loadDir(t, config.Options{Dir: dir, MaxFileSize: 64})
	if ce == nil || len(ce.Problems) != 1 || ce.Problems[0].Source != path ||
		!strings.Contains(ce.Problems[0].Reason, "larger than the limit of 64 bytes") {
		t.Fatalf("problems = %v, want one for %s naming the limit of 64 bytes", ce, path)
	}
	if c, ce := loadDir(t, config.Options{Dir: dir, MaxFileSize: 1024}); ce != nil || c.Port != 9090 {
		t.Fatalf("under the limit: port %d, %v; want 9090", c.Port, ce)
	}

	writeFile(t, path, append([]byte("port: 9090\n#"), make([]byte, 1<<20)...))
	_, ce = loadDir(t, config.Options{Dir: dir})
	if ce == nil || !strings.Contains(ce.Error(), path+": cannot read: is larger than the limit of 1048576 bytes (1 MiB)") {
		t.Fatalf("default limit: %v, want the file refused at 1 MiB", ce)
	}
}

// TestLoadRefusesAnAliasBomb: a "billion laughs" document is refused at the
// alias that passes the budget, before anything expands it, in a few MB.
// (How long it takes is a benchmark's business, BenchmarkLoadAliasBomb.)
func TestLoadRefusesAnAliasBomb(t *testing.T) {
	// The aliases of line 7 (f: 10^5 values) pass the budget of 10^4; with
	// mappings, keys count too, and those of line 6 do.
	for name, line := range map[string]string{"billion-laughs.yaml": "7", "billion-laughs-mappings.yaml": "6"} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, ce := loadDir(t, config.Options{Dir: "testdata", Files: []string{name}})
			runtime.ReadMemStats(&after)
			if ce == nil || len(ce.Problems) != 1 {
				t.Fatalf("problems = %v, want one", ce)
			}
			p := ce.Problems[0]
			if !strings.HasPrefix(p.Source, filepath.Join("testdata", name)+":"+line+":") || !strings.Contains(p.Reason, "too much aliasing") {
				t.Errorf("problem = %v, want too much aliasing at line %s", p, line)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("the load allocated %d bytes, want under 16 MiB", alloc)
			}
		})
	}
}

// TestLoadTakesModestAliases: anchors shared a few times still load.
func TestLoadTakesModestAliases(t *testing.T) {
	type cfg struct {
		Port  int `env:"PORT"`
		Admin int `env:"ADMIN_PORT"`
		DB    struct {
			URL string `env:"URL"`
		} `envPrefix:"DB_"`
		Replica struct {
			URL string `env:"URL"`
		} `envPrefix:"REPLICA_"`
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "base.yaml"), []byte("port: &p 9090\nadmin_port: *p\ndb: &db {url: pg}\nreplica: *db\n"))
	var c cfg
	if _, err := config.LoadAll(context.Background(), config.Options{Dir: dir, Environ: map[string]string{}}, &c); err != nil {
		t.Fatal(err)
	}
	if c.Port != 9090 || c.Admin != 9090 || c.DB.URL != "pg" || c.Replica.URL != "pg" {
		t.Errorf("loaded %+v", c)
	}
}

// TestProblemsAreCappedAndSortedByNumber: the problems are sorted by line as
// a number (line 9 before line 10), and at most config.MaxProblems are
// listed, then one "and N more problems".
func TestProblemsAreCappedAndSortedByNumber(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := 1; i <= 150; i++ {
		b.WriteString("unknown" + strconv.Itoa(i) + ": x\n")
	}
	path := filepath.Join(dir, "base.yaml")
	writeFile(t, path, []byte(b.String()))
	_, ce := loadDir(t, config.Options{Dir: dir})
	if ce == nil || len(ce.Problems) != config.MaxProblems+1 {
		t.Fatalf("got %d problems, want %d and one more entry", len(ce.Problems), config.MaxProblems)
	}
	for i, p := range ce.Problems[:config.MaxProblems] {
		if want := path + ":" + strconv.Itoa(i+1) + ":1"; p.Source != want {
			t.Fatalf("problem %d at %s, want %s", i, p.Source, want)
		}
	}
	if last := ce.Problems[config.MaxProblems]; last.Reason != "and 50 more problems" || last.Source != "" || ce.More != 50 {
		t.Errorf("last entry %+v, More %d; want \"and 50 more problems\", 50", last, ce.More)
	}
	if !strings.HasPrefix(ce.Error(), "config: 150 problems; ") || !strings.HasSuffix(ce.Error(), "; and 50 more problems") {
		t.Errorf("Error() = %.80q…", ce.Error())
	}
}

// TestLoadSortsColumnsAsNumbers: within a line, column 9 comes before 23.
func TestLoadSortsColumnsAsNumbers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "base.yaml")
	writeFile(t, path, []byte("{ab: 1, unknown_a: 2, unknown_b: 3}\n"))
	_, ce := loadDir(t, config.Options{Dir: dir})
	if ce == nil || len(ce.Problems) != 3 {
		t.Fatalf("problems = %v, want 3", ce)
	}
	for i, col := range []string{":1:2", ":1:9", ":1:23"} {
		if ce.Problems[i].Source != path+col {
			t.Errorf("problem %d at %s, want %s", i, ce.Problems[i].Source, path+col)
		}
	}
}

// TestLoadReportsAFileThatIsThereButUnreadable: a dangling symbolic link, a
// directory and a file without read permission are problems naming the file
// and why, not missing files.
func TestLoadReportsAFileThatIsThereButUnreadable(t *testing.T) {
	cases := []struct {
		name, reason string
		make         func(t *testing.T, path string)
	}{
		{"dangling symlink", "cannot read: is a dangling symbolic link (to ..data/base.yaml)", func(t *testing.T, path string) {
			if err := os.Symlink("..data/base.yaml", path); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory", "cannot read: is a directory, not a file", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"no permission", "cannot read: permission denied", func(t *testing.T, path string) {
			if os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			writeFile(t, path, []byte("port: 1\n"))
			if err := os.Chmod(path, 0); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "base.yaml")
			tc.make(t, path)
			_, ce := loadDir(t, config.Options{Dir: dir})
			if ce == nil || len(ce.Problems) != 1 || ce.Problems[0].Source != path || ce.Problems[0].Reason != tc.reason {
				t.Fatalf("problems = %v, want %s: %s", ce, path, tc.reason)
			}
		})
	}
}

// TestLoadAllWithPreviousNeedsItsFiles: a file the previous good load read
// that is gone is a problem; without Previous a missing file is skipped.
func TestLoadAllWithPreviousNeedsItsFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "base.yaml")
	writeFile(t, path, []byte("port: 9090\n"))
	var c portConfig
	opts := config.Options{Dir: dir, Environ: map[string]string{}}
	prev, err := config.LoadAll(context.Background(), opts, &c)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := config.LoadAll(context.Background(), opts, &portConfig{}); err != nil {
		t.Fatalf("without Previous: %v, want the missing file skipped", err)
	}
	opts.Previous = prev
	_, err = config.LoadAll(context.Background(), opts, &portConfig{})
	var ce *config.Error
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Source != path || !strings.Contains(ce.Problems[0].Reason, "missing, but the last good load read it") {
		t.Fatalf("with Previous: %v, want the missing file a problem", err)
	}
}

// TestWatcherKeepsTheConfigWhenAFileIsDeleted: deleting config/base.yaml
// from a running service fails the reload and keeps the last good values,
// instead of falling back to the defaults.
func TestWatcherKeepsTheConfigWhenAFileIsDeleted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "base.yaml")
	writeFile(t, path, []byte("port: 9090\n"))
	var reported []error
	w, err := config.Watch[portConfig](context.Background(), config.Options{Dir: dir, Environ: map[string]string{}},
		config.WatchOptions{OnError: func(err error) { reported = append(reported, err) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	err = w.Reload(context.Background())
	if err == nil || !strings.Contains(err.Error(), path+": missing, but the last good load read it") {
		t.Fatalf("Reload = %v, want it to fail naming %s", err, path)
	}
	if w.Current().Port != 9090 || w.Err() == nil || len(reported) != 1 {
		t.Errorf("port %d, Err %v, reported %v; want 9090 kept and the failure reported", w.Current().Port, w.Err(), reported)
	}
	writeFile(t, path, []byte("port: 9191\n"))
	if err := w.Reload(context.Background()); err != nil || w.Current().Port != 9191 {
		t.Fatalf("after putting it back: %v, port %d", err, w.Current().Port)
	}
}

// BenchmarkLoadAliasBomb is the time a "billion laughs" document takes to be
// refused (well under a second: it is never expanded).
func BenchmarkLoadAliasBomb(b *testing.B) {
	opts := config.Options{Dir: "testdata", Files: []string{"billion-laughs-mappings.yaml"}, Environ: map[string]string{}}
	for b.Loop() {
		if _, err := config.LoadAll(context.Background(), opts, &portConfig{}); err == nil {
			b.Fatal("loaded")
		}
	}
}

// BenchmarkLoadUnknownKeys is a file of the largest size allowed holding only
// unknown keys: a suggestion is worked out only for the problems listed.
func BenchmarkLoadUnknownKeys(b *testing.B) {
	dir := b.TempDir()
	var sb strings.Builder
	for i := 0; sb.Len() < 1<<20-64; i++ {
		sb.WriteString("unknown_key_" + strconv.Itoa(i) + ": x\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	opts := config.Options{Dir: dir, Files: []string{"base.yaml"}, Environ: map[string]string{}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := config.LoadAll(context.Background(), opts, &portConfig{}); err == nil {
			b.Fatal("loaded")
		}
	}
}

// TestDetectTyposNamesNearMissesOnly: with DetectTypos and no prefix, a
// variable one edit from a short known name, or two from a long one, is
// recorded with the name meant; others, and the known names, are not.
func TestDetectTyposNamesNearMissesOnly(t *testing.T) {
	var c struct {
		Port            int           `env:"PORT"`
		ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT"`
		Greeting        string        `env:"GREETING"`
	}
	src, err := config.LoadAll(context.Background(), config.Options{DetectTypos: true, Dir: t.TempDir(), Environ: map[string]string{
		"SHUTDOWN_TIMOUT": "1s", "SHUTDWN_TIMOT": "1s", "GREETNG": "x", "GRETNG": "x", "PORTS": "1", "GREETING": "hi",
	}}, &c)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range src.Typos() {
		got = append(got, p.Var+": "+p.Reason)
	}
	// GRETNG is two edits from a short name, SHUTDWN_TIMOT three from a
	// long one: left alone.
	want := []string{
		"GREETNG: unknown variable (did you mean GREETING?)",
		"PORTS: unknown variable (did you mean PORT?)",
		"SHUTDOWN_TIMOUT: unknown variable (did you mean SHUTDOWN_TIMEOUT?)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Typos:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
