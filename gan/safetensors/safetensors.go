// Package safetensors reads and writes the safetensors format, F32 and I64
// tensors only, checking a file's structure before it trusts any of it.
//
// A file is a little-endian u64 header length, a JSON header naming each
// tensor's dtype, shape and byte range (and a "__metadata__" map of
// strings), then the raw little-endian tensors.
package safetensors

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"

	"github.com/gan-vk/gan-vk/gan/atomicfile"
)

// maxHeader bounds the JSON header a reader accepts.
const maxHeader = 16 << 20

// File is a safetensors file read into memory.
type File struct {
	Path    string
	Meta    map[string]string
	entries map[string]Entry
	data    []byte
}

// Entry is one tensor's line in the header.
type Entry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// Tensor is one tensor to write, or one read back: its raw little-endian
// bytes.
type Tensor struct {
	Name  string
	DType string // "F32" or "I64"
	Shape []int
	Data  []byte
}

// F32 is a tensor of float32 values.
func F32(name string, shape []int, v []float32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{name, "F32", shape, b}
}

// I64 is a tensor of int64 values.
func I64(name string, shape []int, v []int64) Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return Tensor{name, "I64", shape, b}
}

// Read reads and checks a safetensors file. Every error starts with path.
func Read(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	return Parse(f, st.Size(), path)
}

// unwrapPath drops the path an *fs.PathError would repeat.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse reads a safetensors file of size bytes from r; path names it in
// errors. The header must fit the file, every tensor's bytes must lie
// inside the data, match its dtype and shape and overlap no other's.
// Nothing is allocated before the sizes it is for are checked against the
// file's.
func Parse(r io.Reader, size int64, path string) (*File, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s; the file is truncated or corrupt (not a safetensors file gan-vk can read)", path, fmt.Sprintf(format, args...))
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, bad("%d bytes is too short for a header", size)
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen == 0 || hlen > maxHeader || int64(hlen) > size-8 {
		return nil, bad("the header claims %d bytes of a %d-byte file", hlen, size)
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, bad("reading the header: %v", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, bad("the header is not JSON: %v", err)
	}
	f := &File{Path: path, entries: map[string]Entry{}}
	dataLen := size - 8 - int64(hlen)
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Meta); err != nil {
				return nil, bad("__metadata__ is not a map of strings: %v", err)
			}
			continue
		}
		var e Entry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, bad("tensor %q: %v", name, err)
		}
		size, ok := dtypeSize(e.DType)
		if !ok {
			return nil, bad("tensor %q has dtype %q; gan-vk reads F32 and I64", name, e.DType)
		}
		n := int64(1)
		for _, d := range e.Shape {
			if d < 0 || d > 1<<31 {
				return nil, bad("tensor %q has shape %v", name, e.Shape)
			}
			n *= int64(d)
			if n > dataLen {
				return nil, bad("tensor %q has shape %v, more than the file holds", name, e.Shape)
			}
		}
		if e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] || e.Offsets[1] > dataLen || e.Offsets[1]-e.Offsets[0] != n*size {
			return nil, bad("tensor %q: bytes %v do not fit a %v %s tensor in %d bytes of data", name, e.Offsets, e.Shape, e.DType, dataLen)
		}
		f.entries[name] = e
	}
	// No two tensors may share bytes (the safetensors rule): a writer that
	// overlapped them meant something gan-vk cannot know.
	spans := make([][2]int64, 0, len(f.entries))
	for _, e := range f.entries {
		if e.Offsets[1] > e.Offsets[0] {
			spans = append(spans, e.Offsets)
		}
	}
	slices.SortFunc(spans, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	for i := 1; i < len(spans); i++ {
		if spans[i][0] < spans[i-1][1] {
			return nil, bad("tensors overlap at bytes %v and %v", spans[i-1], spans[i])
		}
	}
	f.data = make([]byte, dataLen)
	if _, err := io.ReadFull(r, f.data); err != nil {
		return nil, bad("reading the tensors: %v", err)
	}
	return f, nil
}

func dtypeSize(dt string) (int64, bool) {
	switch dt {
	case "F32":
		return 4, true
	case "I64":
		return 8, true
	}
	return 0, false
}

// Entry returns a tensor's header line.
func (f *File) Entry(name string) (Entry, bool) {
	e, ok := f.entries[name]
	return e, ok
}

// Tensors returns every tensor, in the order of their bytes.
func (f *File) Tensors() []Tensor {
	out := make([]Tensor, 0, len(f.entries))
	for name, e := range f.entries {
		out = append(out, Tensor{name, e.DType, e.Shape, f.data[e.Offsets[0]:e.Offsets[1]]})
	}
	slices.SortFunc(out, func(a, b Tensor) int {
		return cmp.Or(cmp.Compare(f.entries[a.Name].Offsets[0], f.entries[b.Name].Offsets[0]), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// DataLen is how many bytes of tensors the file holds.
func (f *File) DataLen() int { return len(f.data) }

// Floats decodes an F32 tensor's values.
func (f *File) Floats(name string) ([]float32, error) {
	e, ok := f.entries[name]
	if !ok {
		return nil, fmt.Errorf("%s has no tensor %q", f.Path, name)
	}
	if e.DType != "F32" {
		return nil, fmt.Errorf("%s: tensor %q is %s, want F32", f.Path, name, e.DType)
	}
	b := f.data[e.Offsets[0]:e.Offsets[1]]
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// Write writes tensors and meta to path atomically (atomicfile.Write), the
// tensors in the order given.
func Write(path string, meta map[string]string, tensors []Tensor) error {
	header := map[string]any{"__metadata__": meta}
	var off int64
	for _, t := range tensors {
		header[t.Name] = Entry{t.DType, t.Shape, [2]int64{off, off + int64(len(t.Data))}}
		off += int64(len(t.Data))
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hj)%8 != 0 { // the data starts 8-byte aligned, as safetensors pads it
		hj = append(hj, ' ')
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		var lenBuf [8]byte
		binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hj)))
		if _, err := w.Write(lenBuf[:]); err != nil {
			return err
		}
		if _, err := w.Write(hj); err != nil {
			return err
		}
		for _, t := range tensors {
			if _, err := w.Write(t.Data); err != nil {
				return err
			}
		}
		return nil
	})
}
