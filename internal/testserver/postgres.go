package testserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/operable-go/operable/internal/syncbuf"
)

// Postgres is a throwaway PostgreSQL cluster under a temporary directory,
// listening on 127.0.0.1 only (no Unix socket), with trust authentication
// for the superuser "operable". It can be stopped and started again on the
// same port, to test what clients do while it is down.
type Postgres struct {
	// Addr is host:port.
	Addr string
	// URL connects to the "postgres" database.
	URL string

	t      testing.TB
	binDir string
	data   string
	cred   *syscall.Credential // the unprivileged user, when the test runs as root
	srv    *Server
	dbs    atomic.Int64
}

// StartPostgres makes a cluster with binDir's initdb (POSTGRES_BIN_DIR,
// from scripts/postgres.sh) and starts it until the end of the test. As
// root, initdb and postgres refuse to run, so both run as the "postgres"
// user (Debian's package makes it), else "nobody", through
// SysProcAttr.Credential; the directory is theirs.
func StartPostgres(t testing.TB, binDir string) *Postgres {
	t.Helper()
	dir, err := os.MkdirTemp("", "operable-postgres-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p := &Postgres{t: t, binDir: binDir, data: filepath.Join(dir, "data"), Addr: FreeAddr(t)}
	if os.Getuid() == 0 {
		p.cred = unprivileged(t)
		if err := os.Chown(dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	p.URL = "postgres://operable@" + p.Addr + "/postgres?sslmode=disable"
	initdb := p.command(filepath.Join(binDir, "initdb"), "-D", p.data, "-U", "operable", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.Start()
	return p
}

// unprivileged returns the credentials of the user the cluster runs as.
func unprivileged(t testing.TB) *syscall.Credential {
	t.Helper()
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
		}
	}
	t.Fatal("running as root and there is no postgres or nobody user to run PostgreSQL as")
	return nil
}

func (p *Postgres) command(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
		cmd.Dir = filepath.Dir(p.data)
	}
	return cmd
}

// Start starts the cluster (again) on its port and waits until it accepts
// connections.
func (p *Postgres) Start() {
	p.t.Helper()
	host, port, _ := net.SplitHostPort(p.Addr)
	args := []string{"-D", p.data, "-h", host, "-p", port, "-k", "",
		"-c", "fsync=off", "-c", "max_connections=100", "-c", "shared_buffers=16MB"}
	p.srv = p.startCmd(p.Addr, p.command(filepath.Join(p.binDir, "postgres"), args...))
	// The port accepts before the server takes sessions: wait for one.
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := exec.Command(filepath.Join(p.binDir, "pg_isready"), "-h", host, "-p", port, "-U", "operable", "-d", "postgres", "-t", "2").CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("postgres is not ready after 30s: %v %s\n%s", err, out, p.srv.Output)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops the cluster with a fast shutdown (SIGINT: sessions are ended,
// unlike SIGTERM's smart shutdown, which waits for every client to leave).
func (p *Postgres) Stop() {
	s := p.srv
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// startCmd is Start for a command already made (its credentials set),
// stopped with a fast shutdown at the end of the test.
func (p *Postgres) startCmd(addr string, cmd *exec.Cmd) *Server {
	t := p.t
	t.Helper()
	s := &Server{Output: &syncbuf.Buffer{}, done: make(chan struct{}), t: t, name: "postgres", cmd: cmd}
	cmd.Stdout, cmd.Stderr = s.Output, s.Output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("postgres output:\n%s", s.Output)
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("postgres exited before listening on %s:\n%s", addr, s.Output)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres does not listen on %s after a minute", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// NewDatabase creates an empty database and returns its URL, so that each
// test starts from nothing.
func (p *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("test%d", p.dbs.Add(1))
	host, port, _ := net.SplitHostPort(p.Addr)
	out, err := exec.Command(filepath.Join(p.binDir, "createdb"), "-h", host, "-p", port, "-U", "operable", name).CombinedOutput()
	if err != nil {
		t.Fatalf("createdb: %v\n%s", err, out)
	}
	return "postgres://operable@" + p.Addr + "/" + name + "?sslmode=disable"
}
