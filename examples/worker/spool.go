package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// The spool's directories, under its root.
const (
	incomingDir = "incoming" // jobs waiting, written by producers
	workDir     = "work"     // claims: jobs in hand
	doneDir     = "done"     // results, one per job id
	failedDir   = "failed"   // jobs that could not be done, as submitted
)

var spoolDirs = []string{incomingDir, workDir, doneDir, failedDir}

// probePrefix begins the name of the check's probe files in work/.
const probePrefix = ".probe-"

const (
	// scanBatch bounds the directory entries read for one claim.
	scanBatch = 256
	// maxBacklogCount bounds the entries counted for the backlog gauge;
	// a larger backlog is reported as this many.
	maxBacklogCount = 100_000
)

// jobName is a job file's name: an id of letters, digits, ".", "_" and "-",
// at most 128 bytes, then ".json". Other files (the producers' hidden
// temporary files among them) are left alone.
var jobName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.json$`)

// spool is a job queue in a directory tree. Every move of a job is one
// rename within the tree, so a job is always in exactly one place. Its
// methods are safe for concurrent use by the workers of one process.
type spool struct {
	root string
}

func (s spool) path(dir, name string) string { return filepath.Join(s.root, dir, name) }

// prepare creates the spool's directories under an existing root. It does
// not create the root itself: a missing root is a volume that is not
// mounted, and the check reports it.
func (s spool) prepare() error {
	if fi, err := os.Stat(s.root); err != nil {
		return fmt.Errorf("worker: spool: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("worker: spool: %s is not a directory", s.root)
	}
	for _, d := range spoolDirs {
		if err := os.Mkdir(filepath.Join(s.root, d), 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("worker: spool: %w", err)
		}
	}
	return nil
}

// check passes when every directory exists and a file can be created in
// work/: a readiness check of the worker's source.
func (s spool) check(context.Context) error {
	for _, d := range spoolDirs {
		fi, err := os.Stat(filepath.Join(s.root, d))
		if err != nil {
			return fmt.Errorf("worker: spool: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("worker: spool: %s is not a directory", d)
		}
	}
	f, err := os.CreateTemp(filepath.Join(s.root, workDir), probePrefix+"*")
	if err != nil {
		return fmt.Errorf("worker: spool not writable: %w", err)
	}
	name := f.Name()
	err = f.Close()
	// (The start-up recovery may have removed it first.)
	if rerr := os.Remove(name); err == nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("worker: spool not writable: %w", err)
	}
	return nil
}

// names reads at most limit job names of dir, in no particular order
// (hidden and other files left out); fewer means the directory was read to
// its end.
func (s spool) names(ctx context.Context, dir string, limit int) ([]string, error) {
	f, err := os.Open(filepath.Join(s.root, dir))
	if err != nil {
		return nil, fmt.Errorf("worker: spool: %w", err)
	}
	defer f.Close()
	var out []string
	for len(out) < limit {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		batch, err := f.ReadDir(min(scanBatch, limit-len(out)))
		for _, e := range batch {
			if e.Type().IsRegular() && jobName.MatchString(e.Name()) {
				out = append(out, e.Name())
			}
		}
		if errors.Is(err, io.EOF) || (err == nil && len(batch) == 0) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("worker: spool: %w", err)
		}
	}
	return out, nil
}

// claim moves the first job it can of the next scanBatch entries of
// incoming/ into work/ and returns its name; "" when there is none.
func (s spool) claim(ctx context.Context) (string, error) {
	names, err := s.names(ctx, incomingDir, scanBatch)
	if err != nil {
		return "", err
	}
	slices.Sort(names)
	for _, n := range names {
		err := os.Rename(s.path(incomingDir, n), s.path(workDir, n))
		if errors.Is(err, fs.ErrNotExist) {
			continue // another worker took it
		}
		if err != nil {
			return "", fmt.Errorf("worker: claim %s: %w", n, err)
		}
		return n, nil
	}
	return "", nil
}

// hasResult reports whether the job has a result in done/.
func (s spool) hasResult(name string) (bool, error) {
	_, err := os.Lstat(s.path(doneDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// commit writes the job's result to done/ atomically (a temporary file,
// synced, renamed into place, the directory synced): once it returns nil,
// the job is done, whatever happens next.
func (s spool) commit(name string, result []byte) error {
	dir := filepath.Join(s.root, doneDir)
	f, err := os.CreateTemp(dir, "."+strings.TrimSuffix(name, ".json")+".*.tmp")
	if err != nil {
		return fmt.Errorf("worker: result: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(result)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("worker: result: %w", err)
	}
	return syncDir(dir)
}

// release drops the claim of a job that is finished (its result committed,
// or a duplicate).
func (s spool) release(name string) error {
	if err := os.Remove(s.path(workDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("worker: release %s: %w", name, err)
	}
	return nil
}

// requeue hands a claimed job back to incoming/.
func (s spool) requeue(name string) error {
	if err := os.Rename(s.path(workDir, name), s.path(incomingDir, name)); err != nil {
		return fmt.Errorf("worker: requeue %s: %w", name, err)
	}
	return nil
}

// fail moves a claimed job to failed/, as it was submitted.
func (s spool) fail(name string) error {
	if err := os.Rename(s.path(workDir, name), s.path(failedDir, name)); err != nil {
		return fmt.Errorf("worker: fail %s: %w", name, err)
	}
	return nil
}

// recoverClaims settles the claims left by a process that ended without
// finishing them: a claim whose result exists is finished; any other goes
// back to incoming/. Temporary result files a crash left are removed. It
// must run before any job is claimed.
func (s spool) recoverClaims(ctx context.Context) (finished, requeued int, err error) {
	for {
		names, err := s.names(ctx, workDir, scanBatch)
		if err != nil {
			return finished, requeued, err
		}
		for _, n := range names {
			done, err := s.hasResult(n)
			if err != nil {
				return finished, requeued, fmt.Errorf("worker: recover %s: %w", n, err)
			}
			if done {
				err, finished = s.release(n), finished+1
			} else {
				err, requeued = s.requeue(n), requeued+1
			}
			if err != nil {
				return finished, requeued, err
			}
		}
		if len(names) < scanBatch {
			break
		}
	}
	if err := s.removeTemporaries(ctx, doneDir); err != nil {
		return finished, requeued, err
	}
	return finished, requeued, s.removeTemporaries(ctx, workDir)
}

// removeTemporaries removes the hidden temporary files a crash left in
// dir: half-written results in done/, the check's probes in work/.
func (s spool) removeTemporaries(ctx context.Context, dir string) error {
	f, err := os.Open(filepath.Join(s.root, dir))
	if err != nil {
		return fmt.Errorf("worker: spool: %w", err)
	}
	defer f.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := f.ReadDir(scanBatch)
		for _, e := range batch {
			if n := e.Name(); strings.HasPrefix(n, ".") && (strings.HasSuffix(n, ".tmp") || strings.HasPrefix(n, probePrefix)) {
				if err := os.Remove(filepath.Join(s.root, dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("worker: spool: %w", err)
				}
			}
		}
		if errors.Is(err, io.EOF) || len(batch) == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("worker: spool: %w", err)
		}
	}
}

// backlog counts the jobs waiting in incoming/, at most maxBacklogCount.
func (s spool) backlog(ctx context.Context) (int, error) {
	names, err := s.names(ctx, incomingDir, maxBacklogCount)
	return len(names), err
}

// read reads a claimed job, at most limit bytes; errTooLarge beyond.
func (s spool) read(name string, limit int64) ([]byte, error) {
	f, err := os.Open(s.path(workDir, name))
	if err != nil {
		return nil, fmt.Errorf("worker: read %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("worker: read %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, limit)
	}
	return b, nil
}

var errTooLarge = errors.New("worker: job file too large")

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("worker: sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("worker: sync: %w", err)
	}
	return nil
}
