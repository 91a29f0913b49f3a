package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ReadIDX reads an IDX file of unsigned-byte images (MNIST, Fashion-MNIST,
// EMNIST: magic 0x00000803, then count, rows and columns as big-endian
// uint32, then the pixels), raw or gzip-compressed. It checks the magic,
// the dimensions and that the file holds exactly the pixels they promise.
func ReadIDX(path string) (n, rows, cols int, pixels []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	defer f.Close()
	return readIDX(f, path)
}

// readIDX is ReadIDX on a reader; path names it in errors.
func readIDX(in io.Reader, path string) (n, rows, cols int, pixels []byte, err error) {
	r, closeGz, err := idxStream(in, path)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	defer closeGz()
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return 0, 0, 0, nil, fmt.Errorf("%s: %w", path, idxTruncated(err))
	}
	magic := binary.BigEndian.Uint32(hdr[:4])
	switch {
	case magic>>8 != 0x08:
		return 0, 0, 0, nil, fmt.Errorf("%s: not an IDX file of unsigned bytes (magic %#08x; MNIST images start 0x00000803)", path, magic)
	case magic&0xff != 3:
		return 0, 0, 0, nil, fmt.Errorf("%s: an IDX file of %d dimensions, not images (3: count, rows, columns); is it a labels file?", path, magic&0xff)
	}
	if _, err := io.ReadFull(r, hdr[4:]); err != nil {
		return 0, 0, 0, nil, fmt.Errorf("%s: %w", path, idxTruncated(err))
	}
	n, rows, cols = int(binary.BigEndian.Uint32(hdr[4:])), int(binary.BigEndian.Uint32(hdr[8:])), int(binary.BigEndian.Uint32(hdr[12:]))
	const maxSide, maxBytes = 1 << 12, 1 << 34
	if n == 0 || rows == 0 || cols == 0 || rows > maxSide || cols > maxSide || int64(n)*int64(rows)*int64(cols) > maxBytes {
		return 0, 0, 0, nil, fmt.Errorf("%s: implausible dimensions %d images of %d×%d", path, n, rows, cols)
	}
	// Read what is there rather than trusting the header with a large
	// allocation: a corrupt count gets a short read, not an out-of-memory.
	want := int64(n) * int64(rows) * int64(cols)
	var buf bytes.Buffer
	got, err := io.Copy(&buf, io.LimitReader(r, want))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return 0, 0, 0, nil, fmt.Errorf("%s: truncated: the compressed stream ends early (%d of %d bytes of pixels)", path, got, want)
	}
	if err != nil {
		return 0, 0, 0, nil, fmt.Errorf("%s: %v", path, err)
	}
	if got < want {
		return 0, 0, 0, nil, fmt.Errorf("%s: truncated: the header promises %d images of %d×%d (%d bytes of pixels), the file holds %d", path, n, rows, cols, want, got)
	}
	if extra, _ := io.Copy(io.Discard, io.LimitReader(r, 1)); extra > 0 {
		return 0, 0, 0, nil, fmt.Errorf("%s: more bytes than the header's %d images of %d×%d; the file is corrupt", path, n, rows, cols)
	}
	return n, rows, cols, buf.Bytes(), nil
}

// idxStream is an IDX file's bytes, through gzip when it is compressed;
// close releases the decompressor.
func idxStream(in io.Reader, path string) (r io.Reader, close func(), err error) {
	r = bufio.NewReader(in)
	head := make([]byte, 2)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, idxTruncated(err))
	}
	r = io.MultiReader(bytes.NewReader(head), r)
	if head[0] != 0x1f || head[1] != 0x8b {
		return r, func() {}, nil
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a valid gzip file: %v", path, err)
	}
	return gz, func() { gz.Close() }, nil
}

func idxTruncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("truncated: too short for an IDX header")
	}
	return err
}

// idxInDir finds the training images of an MNIST-style directory.
func idxInDir(dir string) (string, bool) {
	for _, name := range []string{"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte", "train-images.idx3-ubyte",
		"emnist-balanced-train-images-idx3-ubyte.gz", "emnist-balanced-train-images-idx3-ubyte"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, true
		}
	}
	return "", false
}

// labelsFor is the IDX labels file that belongs to an images file, by
// MNIST's naming: train-images-idx3-ubyte goes with train-labels-idx1-ubyte.
func labelsFor(images string) (string, bool) {
	dir, base := filepath.Split(images)
	for _, r := range [][2]string{{"images-idx3", "labels-idx1"}, {"images.idx3", "labels.idx1"}} {
		if strings.Contains(base, r[0]) {
			return filepath.Join(dir, strings.Replace(base, r[0], r[1], 1)), true
		}
	}
	return "", false
}

// readLabels reads the labels file beside an IDX images file into
// d.Labels, checking that it names one class per image; a missing file
// leaves the data set unlabelled.
func (d *Dataset) readLabels(images string) error {
	path, labels, classes, err := idxLabels(images)
	switch {
	case err != nil || labels == nil:
		return err
	case len(labels) != d.N:
		return fmt.Errorf("data: %s holds %d labels for the %d images of %s; the files do not belong together", path, len(labels), d.N, images)
	case classes < 2:
		return singleClass(path)
	}
	d.Labels, d.Classes = labels, classes
	return nil
}

func singleClass(path string) error {
	return fmt.Errorf("data: %s names a single class for every image; labels need at least two", path)
}

// idxLabels reads the labels file beside an IDX images file, and counts
// its classes (the largest label + 1); nil labels when there is none
// (unlabelled).
func idxLabels(images string) (path string, labels []int32, classes int, err error) {
	path, ok := labelsFor(images)
	if !ok {
		return "", nil, 0, nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return path, nil, 0, nil // unlabelled
	}
	raw, err := ReadIDXLabels(path)
	if err != nil {
		return path, nil, 0, fmt.Errorf("data: %w", err)
	}
	labels = make([]int32, len(raw))
	for i, l := range raw {
		labels[i] = int32(l)
		classes = max(classes, int(l)+1)
	}
	return path, labels, classes, nil
}

// ReadIDXLabels reads an IDX file of unsigned-byte labels (magic
// 0x00000801, the count as a big-endian uint32, then one byte per label),
// raw or gzip-compressed.
func ReadIDXLabels(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, closeGz, err := idxStream(f, path)
	if err != nil {
		return nil, err
	}
	defer closeGz()
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%s: %w", path, idxTruncated(err))
	}
	if magic := binary.BigEndian.Uint32(hdr[:4]); magic != 0x801 {
		return nil, fmt.Errorf("%s: not an IDX labels file (magic %#08x; MNIST labels start 0x00000801)", path, magic)
	}
	n := int64(binary.BigEndian.Uint32(hdr[4:]))
	var buf bytes.Buffer
	got, err := io.Copy(&buf, io.LimitReader(r, n))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if got < n {
		return nil, fmt.Errorf("%s: truncated: the header promises %d labels, the file holds %d", path, n, got)
	}
	if extra, _ := io.Copy(io.Discard, io.LimitReader(r, 1)); extra > 0 {
		return nil, fmt.Errorf("%s: more bytes than the header's %d labels; the file is corrupt", path, n)
	}
	return buf.Bytes(), nil
}
