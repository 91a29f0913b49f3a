package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/anim"
	"github.com/gan-vk/gan-vk/gan/latent"
	"github.com/gan-vk/gan-vk/gan/run"
	"github.com/gan-vk/gan-vk/vk"
)

const interpolateSynopsis = `interpolate --checkpoint RUN|FILE [--seeds 1,2,3] [--n 1] [--frames 16] [--lerp] [--out interpolation.gif | --out DIR]
       gan-vk interpolate --checkpoint RUN|FILE --arith EXPR [--n 1] [--out arith.png]

Walks a generator's latent space. Each seed is a z as gan-vk sample draws
it (--n walks side by side: walk i goes through image i of 'gan-vk sample
--seed S --n N' for each seed S). The walk visits the seeds in order and
loops back to the first, --frames frames per leg, along great circles
(spherical interpolation, which keeps a Gaussian z's length) or straight
lines with --lerp. It is written as an animated GIF, or, when --out does
not end in .gif, as a folder of PNGs (frame_0000.png, …). The frame at a
seed is exactly that seed's sample.

--arith is the DCGAN paper's vector arithmetic: seeds joined by + and -,
each term a seed or the mean z of a parenthesised list of seeds, as
"(1,2,3)-(4,5,6)+(7,8,9)". Each row of the PNG shows every term's image and
then the image of the result.

The generator and batch norm are chosen as for gan-vk sample (--weights,
--bn).

A class-conditional model (train --conditional) needs a class: --class K
walks z (or does --arith) within class K; --classes A,B,… instead walks
between classes at the z of the first of --seeds, blending the classes'
embeddings in its conditional batch norms (BigGAN's class interpolation):
the frame at a class is exactly that class's sample. Classes are names or
numbers, as sample --class takes them.`

type interpolateFlags struct {
	ckpt, seeds, out, arith, bn, weights, device string
	class, classes                               string
	n, frames, fps, cols                         int
	lerp                                         bool
}

func runInterpolate(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("interpolate", interpolateSynopsis, stdout, stderr)
	var f interpolateFlags
	fs.StringVar(&f.ckpt, "checkpoint", "", "a checkpoint `file`, or a run folder (its newest checkpoint)")
	fs.StringVar(&f.seeds, "seeds", "1,2,3", "the seeds the walk visits in order, comma-separated (at least two)")
	fs.IntVar(&f.n, "n", 1, "walks side by side (rows of --arith)")
	fs.IntVar(&f.frames, "frames", 16, "frames per leg of the walk")
	fs.BoolVar(&f.lerp, "lerp", false, "walk along straight lines instead of great circles")
	fs.IntVar(&f.fps, "fps", 12, "frames per second of the GIF")
	fs.IntVar(&f.cols, "cols", 8, "walks per row of each frame")
	fs.StringVar(&f.out, "out", "", "a .gif `file`, or a folder for one PNG per frame (default interpolation.gif; arith.png with --arith)")
	fs.StringVar(&f.arith, "arith", "", "latent arithmetic on seeds, as 1-2+3 or (1,2,3)-(4,5,6)+(7,8,9)")
	fs.StringVar(&f.bn, "bn", "eval", "batch norm: eval (running statistics) or batch (the drawn batch's statistics)")
	fs.StringVar(&f.class, "class", "", "a conditional model's class to walk (or do --arith) in: a name or number")
	fs.StringVar(&f.classes, "classes", "", "a conditional model's classes to walk between, comma-separated, at the z of the first of --seeds")
	w := weightsFlag(fs)
	fs.StringVar(&f.device, "device", "", "Vulkan device: an index or part of a name")
	if err := parse(fs, args); err != nil {
		return err
	}
	f.weights = *w
	seeds, expr, err := f.check(fs)
	if err != nil {
		return err
	}
	c, wt, err := openGenerator(f.ckpt, f.weights)
	if err != nil {
		return err
	}
	classes, err := f.walkClasses(c, expr != nil)
	if err != nil {
		return err
	}
	d, err := openDevice(f.device)
	if err != nil {
		return err
	}
	defer closeDevice(d, stderr, &err)
	g, err := run.LoadGenerator(d, c, wt)
	if err != nil {
		return err
	}
	defer g.Close()
	batch := f.bn == "batch"
	switch {
	case expr != nil:
		return writeArith(g, d, expr, f, classes, batch, stdout)
	case len(classes) > 1:
		return writeClassWalk(g, d, seeds[0], classes, f, batch, stdout)
	}
	return writeWalk(g, d, seeds, f, classes, batch, stdout)
}

// walkClasses reads --class and --classes against the checkpoint's model:
// nil for an unconditional one, one class for a walk in z or --arith,
// several for a walk between classes.
func (f *interpolateFlags) walkClasses(c *run.Checkpoint, arith bool) ([]uint32, error) {
	st, err := c.State()
	if err != nil {
		return nil, err
	}
	m := st.Config.Model
	given := f.class
	switch {
	case !m.Conditional() && (f.class != "" || f.classes != ""):
		return nil, &usageError{fmt.Sprintf("--class and --classes are for a class-conditional model; %s was trained without --conditional", c.Path)}
	case !m.Conditional():
		return nil, nil
	case f.class != "" && f.classes != "":
		return nil, &usageError{"give --class (a walk in z within a class) or --classes (a walk between classes), not both"}
	case f.classes != "" && arith:
		return nil, &usageError{"--arith works within one class: give --class, not --classes"}
	case f.class == "" && f.classes == "":
		return nil, &usageError{fmt.Sprintf("%s is class-conditional: give --class K (a walk in z within class K) or --classes A,B (a walk between classes); its classes are %s",
			c.Path, m.ClassList())}
	case f.classes != "":
		given = f.classes
	}
	out, err := m.ParseClasses(given)
	switch {
	case err != nil:
		return nil, &usageError{err.Error()}
	case f.classes != "" && len(out) < 2:
		return nil, &usageError{fmt.Sprintf("--classes %q: a walk needs at least two classes, as 0,1", f.classes)}
	case f.class != "" && len(out) > 1:
		return nil, &usageError{fmt.Sprintf("--class %q: a walk in z is within one class; walk between classes with --classes", f.class)}
	}
	return out, nil
}

// oneClass gives every image of a conditional model's sampler the class
// (none for an unconditional one).
func oneClass(s *gan.Sampler, classes []uint32) error {
	if len(classes) == 0 {
		return nil
	}
	return s.SetClass(classes[0])
}

// check reads the flags that need more than their type: the seeds of a
// walk, or the expression of --arith.
func (f *interpolateFlags) check(fs *flag.FlagSet) ([]uint64, latent.Expr, error) {
	switch {
	case f.ckpt == "":
		return nil, nil, &usageError{"--checkpoint is required: a checkpoint file or a run folder"}
	case f.n < 1 || f.n > 256:
		return nil, nil, &usageError{fmt.Sprintf("--n %d must be in [1, 256]", f.n)}
	case f.frames < 1 || f.frames > 1000:
		return nil, nil, &usageError{fmt.Sprintf("--frames %d must be in [1, 1000]", f.frames)}
	case f.fps < 1 || f.fps > 50:
		return nil, nil, &usageError{fmt.Sprintf("--fps %d must be in [1, 50] (a GIF's delays are hundredths of a second)", f.fps)}
	case f.cols < 1:
		return nil, nil, &usageError{"--cols must be at least 1"}
	case f.bn != "eval" && f.bn != "batch":
		return nil, nil, &usageError{fmt.Sprintf("--bn %q: use eval or batch", f.bn)}
	}
	if f.arith != "" {
		set := false
		fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "seeds" })
		if set {
			return nil, nil, &usageError{"--arith takes its seeds from its expression: give --seeds or --arith, not both"}
		}
		e, err := latent.ParseExpr(f.arith)
		if err != nil {
			return nil, nil, &usageError{"--arith " + err.Error()}
		}
		if f.out == "" {
			f.out = "arith.png"
		}
		if !strings.EqualFold(filepath.Ext(f.out), ".png") {
			return nil, nil, &usageError{fmt.Sprintf("--out %s: --arith writes one PNG; give a name ending in .png", f.out)}
		}
		return nil, e, nil
	}
	var seeds []uint64
	for _, s := range strings.Split(f.seeds, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, nil, &usageError{fmt.Sprintf("--seeds %q: %q is not a seed (a whole number); write them as 1,2,3", f.seeds, s)}
		}
		seeds = append(seeds, v)
	}
	if len(seeds) < 2 {
		return nil, nil, &usageError{fmt.Sprintf("--seeds %q: a walk needs at least two seeds, as 1,2", f.seeds)}
	}
	if f.out == "" {
		f.out = "interpolation.gif"
	}
	return seeds, nil, nil
}

// seedZ reads the z's gan-vk sample --seed s --n n draws, for each seed.
func seedZ(s *gan.Sampler, seeds []uint64) ([][]float32, error) {
	out := make([][]float32, len(seeds))
	for i, seed := range seeds {
		if err := s.Redraw(seed, 0); err != nil {
			return nil, err
		}
		z, err := s.ZValues()
		if err != nil {
			return nil, err
		}
		out[i] = z
	}
	return out, nil
}

func writeWalk(g *gan.Generator, d *vk.Device, seeds []uint64, f interpolateFlags, classes []uint32, batch bool, stdout io.Writer) error {
	s, err := g.NewSampler(d, f.n, seeds[0], batch)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := oneClass(s, classes); err != nil {
		return err
	}
	points, err := seedZ(s, seeds)
	if err != nil {
		return err
	}
	zs := latent.Walk(points, f.frames, s.Z, !f.lerp)
	if err := writeFrames(s, f, len(zs), stdout, func(i int) error { return s.SetZ(zs[i]) }); err != nil {
		return err
	}
	how := "great circles"
	if f.lerp {
		how = "straight lines"
	}
	fmt.Fprintf(stdout, "wrote %s: %d frames, %d walks through seeds %s along %s (step %d, %s weights)\n",
		f.out, len(zs), f.n, f.seeds, how, g.Step, g.Weights)
	return nil
}

// writeFrames writes frames frames of the sampler's images, each after
// set(i), as a GIF or a folder of PNGs.
func writeFrames(s *gan.Sampler, f interpolateFlags, frames int, stdout io.Writer, set func(i int) error) error {
	gifOut := strings.EqualFold(filepath.Ext(f.out), ".gif")
	if !gifOut {
		if err := os.MkdirAll(f.out, 0o755); err != nil {
			return err
		}
	}
	cols := min(f.cols, f.n)
	out := make([]anim.Frame, 0, frames)
	count := newCounter(stdout, "frame", frames)
	for i := range frames {
		if err := set(i); err != nil {
			return err
		}
		imgs, err := s.Images()
		if err != nil {
			return err
		}
		m := gan.Grid(imgs, s.N, s.C, s.S, cols)
		if gifOut {
			out = append(out, anim.Frame{Image: m, Delay: time.Second / time.Duration(f.fps)})
		} else if err := gan.WritePNG(filepath.Join(f.out, fmt.Sprintf("frame_%04d.png", i)), m); err != nil {
			return err
		}
		count.done(i+1, "")
	}
	if gifOut {
		if err := anim.Write(f.out, out); err != nil {
			return fmt.Errorf("writing %s: %w", f.out, err)
		}
	}
	return nil
}

// writeClassWalk walks between classes at the z of seed: each frame draws
// every image for a blend of two classes' embeddings (written into the
// first class's rows, which every image is drawn for), --frames a leg,
// looping back to the first class.
func writeClassWalk(g *gan.Generator, d *vk.Device, seed uint64, classes []uint32, f interpolateFlags, batch bool, stdout io.Writer) error {
	s, err := g.NewSampler(d, f.n, seed, batch)
	if err != nil {
		return err
	}
	defer s.Close()
	slot := classes[0]
	if err := oneClass(s, []uint32{slot}); err != nil {
		return err
	}
	legs := len(classes)
	err = writeFrames(s, f, legs*f.frames, stdout, func(i int) error {
		a, b := classes[i/f.frames], classes[(i/f.frames+1)%legs]
		return g.BlendClasses(int(slot), int(a), int(b), float32(i%f.frames)/float32(f.frames))
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d frames, %d walks between classes %s at seed %d (step %d, %s weights)\n",
		f.out, legs*f.frames, f.n, f.classes, seed, g.Step, g.Weights)
	return nil
}

// writeArith writes the rows of an arithmetic expression: each term's mean
// z's image, then the result's.
func writeArith(g *gan.Generator, d *vk.Device, e latent.Expr, f interpolateFlags, classes []uint32, batch bool, stdout io.Writer) error {
	draw, err := g.NewSampler(d, f.n, 1, batch)
	if err != nil {
		return err
	}
	defer draw.Close()
	cache := map[uint64][]float32{}
	z := func(seed uint64) ([]float32, error) {
		if v, ok := cache[seed]; ok {
			return v, nil
		}
		v, err := seedZ(draw, []uint64{seed})
		if err != nil {
			return nil, err
		}
		cache[seed] = v[0]
		return v[0], nil
	}
	result, terms, err := e.Eval(z)
	if err != nil {
		return err
	}
	cols := len(terms) + 1
	show, err := g.NewSampler(d, f.n*cols, 1, batch)
	if err != nil {
		return err
	}
	defer show.Close()
	if err := oneClass(show, classes); err != nil {
		return err
	}
	zs := make([]float32, 0, f.n*cols*show.Z)
	for r := 0; r < f.n; r++ { // row r: z r of every term, then of the result
		for _, t := range append(terms, result) {
			zs = append(zs, t[r*show.Z:(r+1)*show.Z]...)
		}
	}
	if err := show.SetZ(zs); err != nil {
		return err
	}
	imgs, err := show.Images()
	if err != nil {
		return err
	}
	if err := gan.WritePNG(f.out, gan.Grid(imgs, show.N, show.C, show.S, cols)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d rows of %s = the last column (step %d, %s weights)\n", f.out, f.n, e, g.Step, g.Weights)
	return nil
}
