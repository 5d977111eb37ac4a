// Command footprint prints what the SDK adds to a service's build: the
// stripped binary size and the number of packages linked (go list -deps)
// of examples/first beside bare, the same routes on net/http and
// log/slog alone:
//
//	cd bench && go run ./cmd/footprint
package main

import (
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	log.SetFlags(0)
	dir, err := os.MkdirTemp("", "operable-footprint-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	type row struct {
		name, pkgDir, pkg string
	}
	var sizes, deps [2]int64
	rows := []row{
		{"examples/first (operable)", "..", "./examples/first"},
		{"bare net/http + slog", ".", "./cmd/footprint/bare"},
	}
	for i, r := range rows {
		bin := filepath.Join(dir, fmt.Sprint(i))
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, r.pkg)
		build.Dir, build.Stderr = r.pkgDir, os.Stderr
		if err := build.Run(); err != nil {
			log.Fatalf("build %s: %v", r.pkg, err)
		}
		fi, err := os.Stat(bin)
		if err != nil {
			log.Fatal(err)
		}
		list := exec.Command("go", "list", "-deps", r.pkg)
		list.Dir, list.Stderr = r.pkgDir, os.Stderr
		out, err := list.Output()
		if err != nil {
			log.Fatalf("go list %s: %v", r.pkg, err)
		}
		sizes[i], deps[i] = fi.Size(), int64(strings.Count(string(out), "\n"))
	}
	fmt.Println("| build | stripped binary | packages (go list -deps) |")
	fmt.Println("|---|---|---|")
	for i, r := range rows {
		fmt.Printf("| %s | %.1f MiB | %d |\n", r.name, float64(sizes[i])/(1<<20), deps[i])
	}
	fmt.Printf("| ratio | %.1fx | %.1fx |\n", float64(sizes[0])/float64(sizes[1]), float64(deps[0])/float64(deps[1]))
}
