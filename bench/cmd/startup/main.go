// Command startup measures the example service's time from exec to a passing
// /startupz and its resident memory once idle, over repeated runs:
//
//	cd bench && go run ./cmd/startup [-runs 20] [-idle 2s]
//
// It builds ../examples/service, starts it with both listeners on free
// loopback ports and nothing else running, polls /startupz every
// millisecond, reads VmRSS from /proc/PID/status after the idle wait, then
// stops it with SIGTERM and checks that it exits 0.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	runs := flag.Int("runs", 20, "how many starts to measure")
	idle := flag.Duration("idle", 2*time.Second, "how long the service idles before its memory is read")
	flag.Parse()
	log.SetFlags(0)

	dir, err := os.MkdirTemp("", "operable-startup-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "service")
	build := exec.Command("go", "build", "-o", bin, "./examples/service")
	build.Dir = ".."
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		log.Fatalf("build: %v", err)
	}

	var ready []time.Duration
	var rss []int
	for i := 0; i < *runs; i++ {
		// A data directory of its own each run: the start of a new
		// replica, its embedded database created and migrated.
		d, kb, err := measure(bin, filepath.Join(dir, fmt.Sprintf("data-%d", i)), *idle)
		if err != nil {
			log.Fatalf("run %d: %v", i+1, err)
		}
		ready = append(ready, d)
		rss = append(rss, kb)
	}
	slices.Sort(ready)
	slices.Sort(rss)
	fmt.Printf("runs: %d\n", *runs)
	fmt.Printf("start to /startupz 200: min %s  median %s  p90 %s  max %s\n",
		ms(ready[0]), ms(ready[len(ready)/2]), ms(ready[len(ready)*9/10]), ms(ready[len(ready)-1]))
	fmt.Printf("idle resident memory (VmRSS after %s): min %.1f MiB  median %.1f MiB  max %.1f MiB\n",
		*idle, mib(rss[0]), mib(rss[len(rss)/2]), mib(rss[len(rss)-1]))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
func mib(kb int) float64        { return float64(kb) / 1024 }

// measure runs the service once on the data directory data and returns its
// time to ready and its idle VmRSS in KiB.
func measure(bin, data string, idle time.Duration) (time.Duration, int, error) {
	cmd := exec.Command(bin)
	cmd.Env = []string{"HTTP_ADDR=127.0.0.1:0", "ADMIN_ADDR=127.0.0.1:0", "DATABASE_DIR=" + data, "PATH=" + os.Getenv("PATH")}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	admin := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var rec struct{ Msg, Listener, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" && rec.Listener == "admin" {
				admin <- rec.Addr
			}
		}
	}()
	var addr string
	select {
	case addr = <-admin:
	case <-time.After(10 * time.Second):
		return 0, 0, fmt.Errorf("no admin listening line within 10s")
	}
	client := &http.Client{Timeout: time.Second}
	var readyAfter time.Duration
	for deadline := start.Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		resp, err := client.Get("http://" + addr + "/startupz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				readyAfter = time.Since(start)
				break
			}
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("/startupz not 200 within 10s")
		}
	}
	client.CloseIdleConnections()
	time.Sleep(idle)
	kb, err := vmRSS(cmd.Process.Pid)
	if err != nil {
		return 0, 0, err
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return 0, 0, fmt.Errorf("exit after SIGTERM: %v", err)
		}
	case <-ctx.Done():
		return 0, 0, fmt.Errorf("still running 10s after SIGTERM")
	}
	return readyAfter, kb, nil
}

func vmRSS(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
