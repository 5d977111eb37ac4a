package featureflags_test

import (
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
