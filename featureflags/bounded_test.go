package featureflags_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/operable-go/operable/featureflags"
)

// TestOpenFileRefusesAFileOverTheSizeLimit: a flags file larger than
// MaxFileSize (1 MiB by default) is refused with an error naming the file
// and the limit.
func TestOpenFileRefusesAFileOverTheSizeLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.json")
	if err := os.WriteFile(path, flagDoc(true), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := featureflags.OpenFile(path, featureflags.FileOptions{MaxFileSize: 16})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "larger than the limit of 16 bytes") {
		t.Fatalf("OpenFile = %v, want the file refused at 16 bytes", err)
	}
	big := append(flagDoc(true), []byte(strings.Repeat(" ", 1<<20))...)
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = featureflags.OpenFile(path, featureflags.FileOptions{})
	if err == nil || !strings.Contains(err.Error(), "larger than the limit of 1048576 bytes (1 MiB)") {
		t.Fatalf("OpenFile = %v, want the file refused at 1 MiB", err)
	}
}

// TestOpenFileRefusesAnAliasBomb: a "billion laughs" flags file is refused
// at the line of the alias that passes the budget, before anything expands
// it, in a few MB.
func TestOpenFileRefusesAnAliasBomb(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := featureflags.OpenFile(filepath.Join("testdata", "billion-laughs.yaml"), featureflags.FileOptions{Environ: map[string]string{}})
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "billion-laughs.yaml") || !strings.Contains(err.Error(), "line 13: too much aliasing") {
		t.Fatalf("OpenFile = %v, want too much aliasing at line 13", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("OpenFile allocated %d bytes, want under 16 MiB", alloc)
	}
}

// TestOpenFileSaysADanglingSymlinkIsOne: a flags file that is a link to
// nothing is reported as such, not as a missing file.
func TestOpenFileSaysADanglingSymlinkIsOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.json")
	if err := os.Symlink("..data/flags.json", path); err != nil {
		t.Fatal(err)
	}
	_, err := featureflags.OpenFile(path, featureflags.FileOptions{})
	if err == nil || !strings.Contains(err.Error(), "is a dangling symbolic link (to ..data/flags.json)") {
		t.Fatalf("OpenFile = %v, want a dangling symbolic link", err)
	}
}

// TestOpenFileSaysADirectoryIsOne: a directory where the flags file should
// be is reported as such.
func TestOpenFileSaysADirectoryIsOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.json")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := featureflags.OpenFile(path, featureflags.FileOptions{})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "is a directory, not a file") {
		t.Fatalf("OpenFile = %v, want a directory", err)
	}
}

// TestFlagErrorsAreBoundedAndSorted: a file with more bad flags than
// MaxErrors lists the first MaxErrors, sorted by key, then how many more;
// a FLAG_<KEY> naming no variant names the variable, never its value.
func TestFlagErrorsAreBoundedAndSorted(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"flags":{`)
	for i := range 150 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"f%03d":{"state":"ENABLED","variants":{"on":true},"defaultVariant":"missing"}`, i)
	}
	b.WriteString(`}}`)
	_, err := featureflags.Parse([]byte(b.String()))
	if err == nil {
		t.Fatal("Parse accepted 150 bad flags")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != featureflags.MaxErrors+1 || !strings.Contains(lines[len(lines)-1], "and 50 more problems") ||
		!strings.Contains(lines[0], "f000") || !strings.Contains(lines[99], "f099") {
		t.Errorf("%d lines, first %q, last %q; want %d sorted, then \"and 50 more problems\"", len(lines), lines[0], lines[len(lines)-1], featureflags.MaxErrors)
	}

	set, err := featureflags.Parse(flagDoc(true))
	if err != nil {
		t.Fatal(err)
	}
	const planted = "s3cr3t-variant-value"
	_, err = set.WithOverrides(map[string]string{featureflags.EnvVar("f"): planted})
	if err == nil || strings.Contains(err.Error(), planted) || !strings.Contains(err.Error(), "FLAG_") {
		t.Errorf("WithOverrides() = %v, want an error naming the variable and not its value", err)
	}
}
