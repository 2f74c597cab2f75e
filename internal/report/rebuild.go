package report

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrInput marks a [Rebuild] error that is the input's fault: a file that
// cannot be read or is not a results.json this version reads.
var ErrInput = errors.New("report: bad input")

// Rebuild writes every report of a saved run into dir (the results file's
// own directory when dir is empty): results.json itself, copied unchanged,
// then junit.xml, report.md and report.html made from it. The checks are
// reported as the file records them, not judged again. It returns the
// paths written.
func Rebuild(src, dir string) ([]string, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInput, err)
	}
	r, err := ReadJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInput, src, err)
	}
	if dir == "" {
		dir = filepath.Dir(src)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: --out: %v", ErrInput, err)
	}
	if dst := filepath.Join(dir, ResultsFile); !sameFile(src, dst) {
		if err := writeAtomic(dst, data); err != nil {
			return nil, err
		}
	}
	if err := WriteReports(dir, r); err != nil {
		return nil, err
	}
	var out []string
	for _, name := range []string{ResultsFile, JUnitFile, MarkdownFile, HTMLFile} {
		out = append(out, filepath.Join(dir, name))
	}
	return out, nil
}

func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// writeAtomic writes data to a temporary file beside path and renames it,
// so that a reader never sees half a file.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
