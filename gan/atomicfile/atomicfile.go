// Package atomicfile writes files so that a reader, or a crash, sees either
// the old file or the whole new one; checkpoints, the run folder and the
// data cache all write through it.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Write writes a file so that a reader (or a crash) sees either what
// was at path before or the whole new file: write fills a temporary file
// beside path, which is synced and then renamed over path, and the
// directory is synced so the rename lasts. On failure the temporary file
// is removed and path is untouched.
func Write(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	if err = tmp.Chmod(0o644); err != nil { // CreateTemp makes it 0600
		return err
	}
	buf := bufio.NewWriterSize(tmp, 1<<20)
	if err = write(buf); err != nil {
		return err
	}
	if err = buf.Flush(); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// RemoveStale deletes the temporary files Write leaves in dir when the
// process dies while writing (".<name>.tmp-<random>"): nothing ever reads
// them, and a run killed often would collect them. logf is told of each.
func RemoveStale(dir string, logf func(string, ...any)) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp-") && e.Type().IsRegular() {
			if os.Remove(filepath.Join(dir, n)) == nil {
				logf("removed %s, left by a write that did not finish", filepath.Join(dir, n))
			}
		}
	}
}
