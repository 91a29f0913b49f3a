package gan

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gan-vk/gan-vk/vk"
)

// A checkpoint is a safetensors file: a little-endian u64 header length,
// a JSON header naming each tensor's dtype, shape and byte range, then the
// raw little-endian tensors. Names follow the PyTorch state_dict of an
// nn.Sequential of the same architecture (generator.0.weight, …, with BN's
// running_mean, running_var and num_batches_tracked); Adam's moments are
// optimizer.<name>.exp_avg and .exp_avg_sq; __metadata__ holds the format,
// the configuration and where the run stands.

// checkpointFormat marks our checkpoints in __metadata__["format"].
const checkpointFormat = "gan-vk/1"

// maxHeader bounds the JSON header a reader accepts.
const maxHeader = 16 << 20

// Checkpoint is a checkpoint read into memory.
type Checkpoint struct {
	Path    string
	Meta    map[string]string
	entries map[string]stEntry
	data    []byte
}

type stEntry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// CheckpointState is where a run stands in a checkpoint's metadata.
type CheckpointState struct {
	Step   int         // steps taken
	Config TrainConfig // the trainer's configuration
}

// ReadCheckpoint reads and checks the structure of a checkpoint: the header
// fits the file, every tensor's bytes lie inside the data and match its
// dtype and shape, and the metadata names our format.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	c, err := readSafetensors(path)
	if err != nil {
		return nil, err
	}
	return c, checkFormat(c)
}

// checkFormat refuses a safetensors file gan-vk did not write.
func checkFormat(c *Checkpoint) error {
	if c.Meta["format"] != checkpointFormat {
		return fmt.Errorf("checkpoint %s: not written by gan-vk (metadata format %q, want %q)", c.Path, c.Meta["format"], checkpointFormat)
	}
	return nil
}

// readSafetensors reads any safetensors file of F32 and I64 tensors,
// checking its structure.
func readSafetensors(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return parseSafetensors(f, st.Size(), path)
}

// parseSafetensors reads a safetensors file of size bytes from f; path
// names it in errors. Nothing is allocated before the sizes it is for are
// checked against the file's.
func parseSafetensors(f io.Reader, size int64, path string) (*Checkpoint, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("checkpoint %s: %s; the file is truncated or corrupt (not a gan-vk safetensors checkpoint)", path, fmt.Sprintf(format, args...))
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(f, lenBuf[:]); err != nil {
		return nil, bad("%d bytes is too short for a header", size)
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen == 0 || hlen > maxHeader || int64(hlen) > size-8 {
		return nil, bad("the header claims %d bytes of a %d-byte file", hlen, size)
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(f, header); err != nil {
		return nil, bad("reading the header: %v", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, bad("the header is not JSON: %v", err)
	}
	c := &Checkpoint{Path: path, entries: map[string]stEntry{}}
	dataLen := size - 8 - int64(hlen)
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &c.Meta); err != nil {
				return nil, bad("__metadata__ is not a map of strings: %v", err)
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, bad("tensor %q: %v", name, err)
		}
		size, ok := dtypeSize(e.DType)
		if !ok {
			return nil, bad("tensor %q has dtype %q; gan-vk writes F32 and I64", name, e.DType)
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
		c.entries[name] = e
	}
	// No two tensors may share bytes (the safetensors rule): a writer that
	// overlapped them meant something gan-vk cannot know.
	spans := make([][2]int64, 0, len(c.entries))
	for _, e := range c.entries {
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
	c.data = make([]byte, dataLen)
	if _, err := io.ReadFull(f, c.data); err != nil {
		return nil, bad("reading the tensors: %v", err)
	}
	return c, nil
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

// State decodes the run's configuration and step from the metadata.
func (c *Checkpoint) State() (CheckpointState, error) {
	var s CheckpointState
	if err := json.Unmarshal([]byte(c.Meta["config"]), &s.Config); err != nil {
		return s, fmt.Errorf("checkpoint %s: metadata config: %v", c.Path, err)
	}
	step, err := strconv.Atoi(c.Meta["step"])
	if err != nil || step < 0 {
		return s, fmt.Errorf("checkpoint %s: metadata step %q is not a step count", c.Path, c.Meta["step"])
	}
	s.Step = step
	if err := s.Config.Check(); err != nil {
		return s, fmt.Errorf("checkpoint %s: metadata config: %v", c.Path, err)
	}
	return s, nil
}

// floats returns a tensor's F32 values after checking its dtype and shape.
func (c *Checkpoint) floats(name string, shape []int) ([]float32, error) {
	e, ok := c.entries[name]
	if !ok {
		return nil, fmt.Errorf("checkpoint %s has no tensor %q; it was written for another model (preset, --gf, --df or data channels differ)", c.Path, name)
	}
	if e.DType != "F32" {
		return nil, fmt.Errorf("checkpoint %s: tensor %q is %s, want F32", c.Path, name, e.DType)
	}
	if !slices.Equal(e.Shape, shape) {
		return nil, fmt.Errorf("checkpoint %s: tensor %q has shape %v, this model's is %v (preset, --gf, --df or data channels differ)", c.Path, name, e.Shape, shape)
	}
	b := c.data[e.Offsets[0]:e.Offsets[1]]
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// stTensor is one tensor to write.
type stTensor struct {
	name  string
	dtype string
	shape []int
	data  []byte
}

func f32Tensor(name string, shape []int, v []float32) stTensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return stTensor{name, "F32", shape, b}
}

// stateTensor is one tensor of a network's saved state: where its floats
// live on the device, under its state_dict name and shape.
type stateTensor struct {
	name  string
	shape []int
	buf   *vk.Buffer
	off   int // float offset in buf
	count int
}

// state lists a network's state to save or load: parameters, BN running
// statistics and, with optimizer, Adam's moments.
func (p *netParams) state(optimizer bool) []stateTensor {
	var out []stateTensor
	for i, l := range p.spec.layers {
		for _, t := range p.layers[i] {
			out = append(out, stateTensor{t.name, t.shape, t.val, 0, t.count()})
		}
		if rs := p.running[i]; rs != nil {
			prefix := fmt.Sprintf("%s.%d.", p.spec.name, l.module)
			out = append(out, stateTensor{prefix + "running_mean", []int{l.k}, rs, 0, l.k},
				stateTensor{prefix + "running_var", []int{l.k}, rs, l.k, l.k})
		}
	}
	if optimizer {
		for _, t := range p.all {
			out = append(out, stateTensor{"optimizer." + t.name + ".exp_avg", t.shape, t.m, 0, t.count()},
				stateTensor{"optimizer." + t.name + ".exp_avg_sq", t.shape, t.v, 0, t.count()})
		}
	}
	return out
}

// Save writes the trainer's whole state to path atomically: a temporary
// file beside it, synced, then renamed over it, and the directory synced.
// A failure leaves whatever was at path untouched.
func (t *Trainer) Save(path string, extra map[string]string) error {
	cfg, err := json.Marshal(t.Config)
	if err != nil {
		return err
	}
	meta := map[string]string{"format": checkpointFormat, "preset": t.Config.Model.Preset, "config": string(cfg),
		"step": strconv.Itoa(t.step), "seed": strconv.FormatUint(t.Config.Seed, 10),
		"d_clock": strconv.Itoa(t.step), "g_clock": strconv.Itoa(t.step * t.Config.GSteps)}
	for k, v := range extra {
		meta[k] = v
	}
	var tensors []stTensor
	bnForwards := t.Config.counts().bnForwards
	for id, p := range [nets]*netParams{t.g, t.d} {
		for _, st := range p.state(true) {
			v, err := readRange(st.buf, st.off, st.count)
			if err != nil {
				return fmt.Errorf("checkpoint: reading %s from the device: %w", st.name, err)
			}
			if !finite(v) {
				return fmt.Errorf("%w: %s holds NaN or infinite values, which no checkpoint keeps", ErrDiverged, st.name)
			}
			tensors = append(tensors, f32Tensor(st.name, st.shape, v))
		}
		for i, l := range p.spec.layers {
			if p.running[i] != nil {
				var b [8]byte
				binary.LittleEndian.PutUint64(b[:], uint64(t.step*bnForwards[id])) // PyTorch's num_batches_tracked
				tensors = append(tensors, stTensor{fmt.Sprintf("%s.%d.num_batches_tracked", p.spec.name, l.module), "I64", []int{}, b[:]})
			}
		}
	}
	return writeSafetensors(path, meta, tensors)
}

func readRange(b *vk.Buffer, off, n int) ([]float32, error) {
	out := make([]float32, n)
	if err := b.Download(4*off, vk.Float32Bytes(out)); err != nil {
		return nil, err
	}
	return out, nil
}

func writeSafetensors(path string, meta map[string]string, tensors []stTensor) error {
	header := map[string]any{"__metadata__": meta}
	var off int64
	for _, t := range tensors {
		header[t.name] = stEntry{t.dtype, t.shape, [2]int64{off, off + int64(len(t.data))}}
		off += int64(len(t.data))
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hj)%8 != 0 { // the data starts 8-byte aligned, as safetensors pads it
		hj = append(hj, ' ')
	}
	err = writeAtomic(path, func(w io.Writer) error {
		var lenBuf [8]byte
		binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hj)))
		if _, err := w.Write(lenBuf[:]); err != nil {
			return err
		}
		if _, err := w.Write(hj); err != nil {
			return err
		}
		for _, t := range tensors {
			if _, err := w.Write(t.data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Load replaces the trainer's state with a checkpoint's, after checking
// that the checkpoint was written for the same model and hyper-parameters.
func (t *Trainer) Load(c *Checkpoint) error {
	st, err := c.State()
	if err != nil {
		return err
	}
	if !st.Config.Equal(t.Config) {
		return fmt.Errorf("checkpoint %s was written by a run configured %s; this run is %s", c.Path, describe(st.Config), describe(t.Config))
	}
	for _, p := range []*netParams{t.g, t.d} {
		if err := loadState(c, p.state(true)); err != nil {
			return err
		}
	}
	if err := t.weightsChanged(); err != nil {
		return err
	}
	return t.setStep(st.Step)
}

func loadState(c *Checkpoint, sts []stateTensor) error {
	for _, s := range sts {
		v, err := c.floats(s.name, s.shape)
		if err != nil {
			return err
		}
		if !finite(v) {
			return fmt.Errorf("checkpoint %s: tensor %q holds NaN or infinite values", c.Path, s.name)
		}
		if err := s.buf.Upload(4*s.off, vk.Float32Bytes(v)); err != nil {
			return fmt.Errorf("checkpoint: loading %s onto the device: %w", s.name, err)
		}
	}
	return nil
}

func describe(c TrainConfig) string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Checkpoints lists the checkpoint files of a run folder's checkpoints
// directory, oldest first (by step, from their names).
func Checkpoints(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, "step_") && strings.HasSuffix(n, ".safetensors") && e.Type().IsRegular() {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Strings(out) // step_%09d sorts by step
	return out, nil
}

// checkpointName is the file of the checkpoint at step.
func checkpointName(step int) string { return fmt.Sprintf("step_%09d.safetensors", step) }

// ErrNoCheckpoint says a run folder holds no checkpoint that loads.
var ErrNoCheckpoint = errors.New("no checkpoint")
