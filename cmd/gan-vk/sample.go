package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/run"
)

const sampleSynopsis = `sample --checkpoint PATH [--n 64] [--seed 1] [--grid out.png | --out dir/]

Draws images from a trained generator: --checkpoint takes a checkpoint file
or a run folder (its newest checkpoint). The generator is the moving average
of the trained one's weights when the run keeps it (--weights ema; its batch
norms' running statistics were recomputed for its weights when the
checkpoint was written), else the one Adam trains (--weights raw). Batch norm uses its running
statistics (--bn eval, PyTorch's eval mode) unless --bn batch normalises
with the statistics of the images drawn together (training mode, which
some generators look better in early on). The same checkpoint, --seed and
--n give the same images.

A class-conditional model (trained with --conditional) draws a row per
class, each column one z, unless --class picks classes by name or number:
one class draws every image of it, several a row each, in the order given.`

func runSample(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("sample", sampleSynopsis, stdout, stderr)
	ckpt := fs.String("checkpoint", "", "a checkpoint `file`, or a run folder (its newest checkpoint)")
	n := fs.Int("n", 64, "images to draw")
	seed := fs.Uint64("seed", 1, "seed of the z's")
	grid := fs.String("grid", "", "write the images as one grid PNG to this `file` (default sample.png when --out is not given)")
	out := fs.String("out", "", "write one PNG per image into this `folder`")
	cols := fs.Int("cols", 8, "images per row of the grid")
	bn := fs.String("bn", "eval", "batch norm: eval (running statistics) or batch (the drawn batch's statistics)")
	weights := weightsFlag(fs)
	class := fs.String("class", "", "a conditional model's classes to draw: names or numbers, comma-separated (default: a row per class)")
	device := fs.String("device", "", "Vulkan device: an index or part of a name")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *ckpt == "":
		return &usageError{"--checkpoint is required: a checkpoint file or a run folder"}
	case *n < 1 || *n > 4096:
		return &usageError{fmt.Sprintf("--n %d must be in [1, 4096]", *n)}
	case *cols < 1:
		return &usageError{"--cols must be at least 1"}
	case *bn != "eval" && *bn != "batch":
		return &usageError{fmt.Sprintf("--bn %q: use eval or batch", *bn)}
	}
	if *grid == "" && *out == "" {
		*grid = "sample.png"
	}
	c, w, err := openGenerator(*ckpt, *weights)
	if err != nil {
		return err
	}
	classes, err := sampleClasses(c, *class)
	if err != nil {
		return err
	}
	d, err := openDevice(*device)
	if err != nil {
		return err
	}
	defer closeDevice(d, stderr, &err)
	g, err := run.LoadGenerator(d, c, w)
	if err != nil {
		return err
	}
	defer g.Close()
	s, err := g.NewSampler(d, *n, *seed, *bn == "batch")
	if err != nil {
		return err
	}
	defer s.Close()
	if err := setClasses(s, classes, *cols, *seed); err != nil {
		return err
	}
	imgs, err := s.Images()
	if err != nil {
		return err
	}
	if *grid != "" {
		if err := gan.WritePNG(*grid, gan.Grid(imgs, s.N, s.C, s.S, *cols)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: %d images from %s (step %d, %s weights)\n", *grid, s.N, c.Path, g.Step, g.Weights)
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		for i := 0; i < s.N; i++ {
			if err := gan.WritePNG(filepath.Join(*out, fmt.Sprintf("%04d.png", i)), gan.Image(imgs, i, s.C, s.S)); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "wrote %d images to %s from %s (step %d, %s weights)\n", s.N, *out, c.Path, g.Step, g.Weights)
	}
	return nil
}

// sampleClasses reads --class against the checkpoint's model: nil for an
// unconditional one, every class when none are given.
func sampleClasses(c *run.Checkpoint, arg string) ([]uint32, error) {
	st, err := c.State()
	if err != nil {
		return nil, err
	}
	m := st.Config.Model
	if !m.Conditional() {
		if arg != "" {
			return nil, &usageError{fmt.Sprintf("--class %s: %s is not class-conditional (it was trained without --conditional)", arg, c.Path)}
		}
		return nil, nil
	}
	if arg == "" {
		return gan.CycleClasses(m.Classes, m.Classes), nil
	}
	out, err := m.ParseClasses(arg)
	if err != nil {
		return nil, &usageError{"--class: " + err.Error()}
	}
	return out, nil
}

// setClasses gives a conditional model's sampler its classes: one class
// for every image, each its own z; several as a grid of a row per class,
// a column per z.
func setClasses(s *gan.Sampler, classes []uint32, cols int, seed uint64) error {
	switch len(classes) {
	case 0:
		return nil
	case 1:
		return s.SetClass(classes[0])
	}
	return s.ClassGrid(cols, classes, seed, 0)
}
