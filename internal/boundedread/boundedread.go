// Package boundedread reads the files config and featureflags load, with a
// size limit: it reads at most the limit and one byte more, never the whole
// file, and it tells a missing file from one that is there but cannot be
// read (a dangling symbolic link, a directory, no permission).
package boundedread

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
)

// DefaultLimit is the size limit of a file when none is given: 1 MiB.
const DefaultLimit = 1 << 20

// ErrDirectory is the cause of a read of a directory.
var ErrDirectory = errors.New("is a directory, not a file")

// ErrDanglingSymlink is the cause of a read of a symbolic link whose
// target does not exist. It is not [fs.ErrNotExist]: the file is there,
// broken, and a caller that skips missing files must not skip it.
var ErrDanglingSymlink = errors.New("is a dangling symbolic link")

// TooLargeError is the cause of a read of a file larger than the limit.
type TooLargeError struct {
	Limit int64
}

func (e *TooLargeError) Error() string {
	return "is larger than the limit of " + Size(e.Limit)
}

// Size writes n bytes for people: "1048576 bytes (1 MiB)".
func Size(n int64) string {
	s := strconv.FormatInt(n, 10) + " bytes"
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		s += " (" + strconv.FormatInt(n>>20, 10) + " MiB)"
	case n >= 1<<10 && n%(1<<10) == 0:
		s += " (" + strconv.FormatInt(n>>10, 10) + " KiB)"
	}
	return s
}

// ReadFile reads the file at path, following symbolic links, if it holds
// at most limit bytes (DefaultLimit when limit <= 0). It reads at most
// limit+1 bytes whatever the file's size. Its errors are *fs.PathError:
// a missing file's cause is [fs.ErrNotExist]; a dangling link's wraps
// [ErrDanglingSymlink] (naming its target), a directory's is
// [ErrDirectory], a file over the limit's a *[TooLargeError], and others
// are the system's (permission denied).
func ReadFile(path string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
				cause := ErrDanglingSymlink
				if target, rerr := os.Readlink(path); rerr == nil {
					cause = fmt.Errorf("%w (to %s)", ErrDanglingSymlink, target)
				}
				return nil, &fs.PathError{Op: "open", Path: path, Err: cause}
			}
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: ErrDirectory}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(data)) <= limit {
		return data, nil
	}
	return nil, &fs.PathError{Op: "read", Path: path, Err: &TooLargeError{Limit: limit}}
}
