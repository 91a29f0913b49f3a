package main

import (
	"flag"
	"fmt"
	"image"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/data"
	"github.com/gan-vk/gan-vk/gan/mask"
)

const completeSynopsis = `complete --checkpoint RUN|FILE --images IN [--mask center|left|right|top|bottom|random|MASK.png] [--out complete.png]

Fills in the missing part of images with a trained generator (Yeh et al.
2017, as bamos/dcgan-completion.tensorflow does it): it searches for the z
whose image matches the known pixels (the contextual loss, an L1 distance,
--weighted for Yeh's weighting towards the hole) and that the
discriminator takes for real (λ·log(1 − D(G(z))), the perceptual loss), by
--iters steps of Adam on z, on the device. IN is an image, a folder of
images or an IDX file; the first --n are completed, each resized (and its
channels converted) as the data loader does. A mask file is the model's
size, white where a pixel is known and black where it is missing.

The PNG shows a row per image: the image with its hole (grey), G(z), and
the blend (the known pixels, and G(z)'s in the hole).`

type completeFlags struct {
	ckpt, images, mask, out, device string
	weights                         *string
	n, iters                        int
	lambda, lr                      float64
	seed                            uint64
	weighted                        bool
}

func runComplete(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("complete", completeSynopsis, stdout, stderr)
	var f completeFlags
	f.add(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	c, w, err := openGenerator(f.ckpt, *f.weights)
	if err != nil {
		return err
	}
	st, err := c.State()
	if err != nil {
		return err
	}
	m := st.Config.Model
	if m.Conditional() { // before any work: the completer refuses it too
		return fmt.Errorf("%s is class-conditional (trained with --conditional), and complete does not search over classes; complete with an unconditional run", c.Path)
	}
	imgs, n, err := completionInputs(f, m, stdout)
	if err != nil {
		return err
	}
	masks, weights, err := completionMasks(f, m, n)
	if err != nil {
		return err
	}
	d, err := openDevice(f.device)
	if err != nil {
		return err
	}
	defer closeDevice(d, stderr, &err)
	o := gan.DefaultComplete
	o.N, o.Lambda, o.LR, o.Seed = n, float32(f.lambda), float32(f.lr), f.seed
	comp, err := gan.NewCompleter(d, st.Config, w, c, o)
	if err != nil {
		return err
	}
	defer comp.Close()
	if err := comp.SetTarget(imgs, weights); err != nil {
		return err
	}
	first, last, err := search(comp, f.iters, stdout)
	if err != nil {
		return err
	}
	if err := gan.WritePNG(f.out, completionGrid(imgs, masks, last.Images, n, m)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d images completed in %d iterations (mean loss %.4g from %.4g; contextual %.4g from %.4g), %s generator of %s (step %d)\n",
		f.out, n, f.iters, meanLoss(last, n), meanLoss(first, n), mean(last.Contextual), mean(first.Contextual), w.For(st.Config), c.Path, st.Step)
	return nil
}

func (f *completeFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.ckpt, "checkpoint", "", "a checkpoint `file`, or a run folder (its newest checkpoint)")
	fs.StringVar(&f.images, "images", "", "the images to complete: an image `file`, a folder of images or an IDX file")
	fs.StringVar(&f.mask, "mask", "center", "what is missing: "+strings.Join(mask.Kinds, ", ")+", or a mask `PNG` (white known, black missing)")
	fs.StringVar(&f.out, "out", "complete.png", "the PNG `file` to write")
	fs.IntVar(&f.n, "n", 8, "images of --images to complete (the first ones), at most 64")
	fs.IntVar(&f.iters, "iters", 1000, "steps of Adam on z")
	fs.Float64Var(&f.lambda, "lambda", decimal(gan.DefaultComplete.Lambda), "weight of the perceptual loss against the contextual one")
	fs.Float64Var(&f.lr, "lr", decimal(gan.DefaultComplete.LR), "Adam's learning rate on z")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the starting z's (gan-vk sample's for this seed)")
	fs.BoolVar(&f.weighted, "weighted", false, "weight each known pixel by the share of missing pixels within 7 pixels of it (Yeh et al.)")
	f.weights = weightsFlag(fs)
	fs.StringVar(&f.device, "device", "", "Vulkan device: an index or part of a name")
}

func (f *completeFlags) check() error {
	switch {
	case f.ckpt == "":
		return &usageError{"--checkpoint is required: a checkpoint file or a run folder"}
	case f.images == "":
		return &usageError{"--images is required: an image, a folder of images or an IDX file to complete"}
	case f.n < 1 || f.n > 64:
		return &usageError{fmt.Sprintf("--n %d must be in [1, 64]", f.n)}
	case f.iters < 0 || f.iters > 1000000:
		return &usageError{fmt.Sprintf("--iters %d must be in [0, 1000000]", f.iters)}
	case !(f.lambda >= 0) || f.lambda > 1e6:
		return &usageError{fmt.Sprintf("--lambda %g must be in [0, 1e6]", f.lambda)}
	case !(f.lr > 0) || f.lr > 10:
		return &usageError{fmt.Sprintf("--lr %g must be in (0, 10]", f.lr)}
	case !strings.EqualFold(filepath.Ext(f.out), ".png"):
		return &usageError{fmt.Sprintf("--out %s: complete writes a PNG; give a name ending in .png", f.out)}
	}
	return nil
}

// completionInputs reads the first n images of --images at the model's
// size and channels, as floats in [-1, 1].
func completionInputs(f completeFlags, m gan.ModelConfig, stdout io.Writer) ([]float32, int, error) {
	logs := func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }
	ds, err := data.Open(data.Options{Path: f.images, Size: m.Size(), Channels: m.Channels, Log: logs})
	if err != nil {
		return nil, 0, err
	}
	defer ds.Close()
	n := min(f.n, ds.N)
	note := fmt.Sprintf("at %d×%d as the data loader makes them (an image folder's cropped to the centred square and resized)", m.Size(), m.Size())
	if ds.Converted != "" {
		note += ", " + ds.Converted
	}
	fmt.Fprintf(stdout, "complete: %d of the %d images of %s, %s\n", n, ds.N, f.images, note)
	px := ds.ImageBytes()
	imgs := make([]float32, n*px)
	for i := 0; i < n; i++ {
		if err := ds.Image(i, imgs[i*px:(i+1)*px]); err != nil {
			return nil, 0, err
		}
	}
	return imgs, n, nil
}

// completionMasks is each image's mask (1 known, 0 missing) and the
// contextual loss's weight of each of its values, every channel alike.
func completionMasks(f completeFlags, m gan.ModelConfig, n int) (masks, weights []float32, err error) {
	s := m.Size()
	var fixed []float32
	isKind := false
	for _, k := range mask.Kinds {
		isKind = isKind || f.mask == k
	}
	if !isKind {
		if !strings.EqualFold(filepath.Ext(f.mask), ".png") {
			return nil, nil, &usageError{fmt.Sprintf("--mask %q: use one of %s, or a mask .png file", f.mask, strings.Join(mask.Kinds, ", "))}
		}
		if fixed, err = mask.Read(f.mask, s); err != nil {
			return nil, nil, err
		}
	}
	for i := 0; i < n; i++ {
		mk := fixed
		if mk == nil {
			if mk, err = mask.Named(f.mask, s, f.seed+uint64(i)); err != nil {
				return nil, nil, err
			}
		}
		wt := mk
		if f.weighted {
			wt = mask.Weighted(mk, s)
		}
		for c := 0; c < m.Channels; c++ {
			masks, weights = append(masks, mk...), append(weights, wt...)
		}
	}
	return masks, weights, nil
}

// search runs the iterations, with progress, and returns the results
// before and after them.
func search(comp *gan.Completer, iters int, stdout io.Writer) (first, last gan.Result, err error) {
	if first, err = comp.Result(); err != nil {
		return
	}
	count := newCounter(stdout, "iteration", iters)
	const chunk = 50 // iterations between progress reports (each reads the loss back)
	for done := 0; done < iters; {
		k := min(chunk, iters-done)
		if err = comp.Step(k); err != nil {
			return
		}
		done += k
		if last, err = comp.Result(); err != nil {
			return
		}
		count.done(done, fmt.Sprintf("  loss %.4g (contextual %.4g)", meanLoss(last, comp.N), mean(last.Contextual)))
	}
	if iters == 0 {
		last = first
	}
	return first, last, nil
}

// completionGrid lays out a row per image: the image with its hole grey,
// G(z), and the blend.
func completionGrid(imgs, masks, gen []float32, n int, m gan.ModelConfig) image.Image {
	px := m.Channels * m.Size() * m.Size()
	cells := make([]float32, 0, 3*n*px)
	for i := 0; i < n; i++ {
		in, mk, g := imgs[i*px:(i+1)*px], masks[i*px:(i+1)*px], gen[i*px:(i+1)*px]
		holed, blend := make([]float32, px), make([]float32, px)
		for j := range in {
			if mk[j] != 0 {
				holed[j], blend[j] = in[j], in[j]
			} else {
				blend[j] = g[j] // holed stays 0: mid-grey
			}
		}
		cells = append(append(append(cells, holed...), g...), blend...)
	}
	return gan.Grid(cells, 3*n, m.Channels, m.Size(), 3)
}

func mean(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(max(1, len(v)))
}

func meanLoss(r gan.Result, n int) float64 {
	s := 0.0
	for i := 0; i < n; i++ {
		s += float64(r.Loss(i))
	}
	return s / float64(n)
}

// decimal is a float32 as the float64 of its shortest decimal, so that a
// default of 0.1 prints as 0.1, not 0.10000000149011612.
func decimal(x float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	return v
}
