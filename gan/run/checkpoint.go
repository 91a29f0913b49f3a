package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/safetensors"
	"github.com/gan-vk/gan-vk/vk"
)

// A checkpoint is a safetensors file of a trainer's whole state (gan.Tensor
// names the tensors: a PyTorch state_dict of the same architecture, with
// Adam's moments); __metadata__ holds the format, the configuration and
// where the run stands.

// checkpointFormat marks our checkpoints in __metadata__["format"].
const checkpointFormat = "gan-vk/1"

// Checkpoint is a checkpoint read into memory.
type Checkpoint struct {
	Path string
	Meta map[string]string
	file *safetensors.File
}

// CheckpointState is where a run stands in a checkpoint's metadata.
type CheckpointState struct {
	Step   int             // steps taken
	Config gan.TrainConfig // the trainer's configuration
}

// ReadCheckpoint reads and checks the structure of a checkpoint: the header
// fits the file, every tensor's bytes lie inside the data and match its
// dtype and shape, and the metadata names our format.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	f, err := safetensors.Read(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %w", err)
	}
	c := &Checkpoint{Path: path, Meta: f.Meta, file: f}
	return c, checkFormat(c)
}

// checkFormat refuses a safetensors file gan-vk did not write.
func checkFormat(c *Checkpoint) error {
	if c.Meta["format"] != checkpointFormat {
		return fmt.Errorf("checkpoint %s: not written by gan-vk (metadata format %q, want %q)", c.Path, c.Meta["format"], checkpointFormat)
	}
	return nil
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

// Floats returns a tensor's values after checking its dtype, its shape and
// that every value is finite: a checkpoint is a gan.TensorSource.
func (c *Checkpoint) Floats(name string, shape []int) ([]float32, error) {
	e, ok := c.file.Entry(name)
	if !ok {
		return nil, fmt.Errorf("checkpoint %s has no tensor %q; it was written for another model (preset, --gf, --df or data channels differ)", c.Path, name)
	}
	if e.DType != "F32" {
		return nil, fmt.Errorf("checkpoint %s: tensor %q is %s, want F32", c.Path, name, e.DType)
	}
	if !slices.Equal(e.Shape, shape) {
		return nil, fmt.Errorf("checkpoint %s: tensor %q has shape %v, this model's is %v (preset, --gf, --df or data channels differ)", c.Path, name, e.Shape, shape)
	}
	v, err := c.file.Floats(name)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %w", err)
	}
	for _, x := range v {
		if x-x != 0 { // NaN or infinite
			return nil, fmt.Errorf("checkpoint %s: tensor %q holds NaN or infinite values", c.Path, name)
		}
	}
	return v, nil
}

// SaveCheckpoint writes the trainer's whole state to path atomically: a
// temporary file beside it, synced, then renamed over it, and the directory
// synced. A failure leaves whatever was at path untouched; a state that is
// not finite is gan.ErrDiverged, and nothing is written.
func SaveCheckpoint(t *gan.Trainer, path string, extra map[string]string) error {
	cfg, err := json.Marshal(t.Config)
	if err != nil {
		return err
	}
	meta := map[string]string{"format": checkpointFormat, "preset": t.Config.Model.Preset, "config": string(cfg),
		"step": strconv.Itoa(t.Steps()), "seed": strconv.FormatUint(t.Config.Seed, 10),
		"d_clock": strconv.Itoa(t.Steps() * t.Config.DUpdates()), "g_clock": strconv.Itoa(t.Steps() * t.Config.GSteps)}
	for k, v := range extra {
		meta[k] = v
	}
	state, err := t.State()
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tensors := make([]safetensors.Tensor, len(state))
	for i, s := range state {
		if s.I64 != nil {
			tensors[i] = safetensors.I64(s.Name, s.Shape, s.I64)
		} else {
			tensors[i] = safetensors.F32(s.Name, s.Shape, s.F32)
		}
	}
	if err := safetensors.Write(path, meta, tensors); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Restore replaces the trainer's state with the checkpoint's, after
// checking that it was written for the same model and hyper-parameters.
func Restore(t *gan.Trainer, c *Checkpoint) error {
	st, err := c.State()
	if err != nil {
		return err
	}
	if !st.Config.Equal(t.Config) {
		return fmt.Errorf("checkpoint %s was written by a run configured %s; this run is %s", c.Path, describe(st.Config), describe(t.Config))
	}
	return t.Restore(st.Step, c)
}

// LoadGenerator puts one of a checkpoint's generators (parameters and
// running statistics) on the device.
func LoadGenerator(d *vk.Device, c *Checkpoint, w gan.Weights) (*gan.Generator, error) {
	st, err := c.State()
	if err != nil {
		return nil, err
	}
	g, err := gan.LoadGenerator(d, st.Config, st.Step, w, c)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", c.Path, err)
	}
	return g, nil
}

func describe(c gan.TrainConfig) string {
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

// NewestCheckpoint finds the newest checkpoint in a run folder that reads
// whole, noting each newer one it had to pass over.
func NewestCheckpoint(dir string, log func(string, ...any)) (*Checkpoint, error) {
	files, err := Checkpoints(filepath.Join(dir, "checkpoints"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for i := len(files) - 1; i >= 0; i-- {
		c, err := ReadCheckpoint(files[i])
		if err == nil {
			return c, nil
		}
		if log != nil {
			log("passing over %s: %v", files[i], err)
		}
	}
	return nil, fmt.Errorf("%w in %s", ErrNoCheckpoint, filepath.Join(dir, "checkpoints"))
}
