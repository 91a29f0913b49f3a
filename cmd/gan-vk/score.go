package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/data"
	"github.com/gan-vk/gan-vk/gan/run"
	"github.com/gan-vk/gan-vk/gan/score"
	"github.com/gan-vk/gan-vk/gan/tune"
	"github.com/gan-vk/gan-vk/vk"
)

const scoreSynopsis = `score (--checkpoint RUN|FILE [--n 10000] [--seed 1] [--weights ema|raw] [--bn eval|batch] | --images PATH) [--data PATH] [--json]

Scores generated images against the training data: the Fréchet distance
(FD) and kernel distance (KID, with its spread over subsets) between their
features and the reference data's, precision and recall (k-nearest-
neighbour manifolds), and for labelled data the Inception score's analogue
and the class histogram of the images, which shows mode collapse.

--checkpoint draws --n images from a run's generator (the EMA one when the
run keeps it; --weights raw for the trained one) on the device; --images
scores a folder of PNG or JPEG images (or an IDX file) from anywhere,
cropped, resized and converted to the reference's size and channels as the
data loader does. --data names the reference (default: the run's data with
--checkpoint, else Fashion-MNIST).

The features come from a network gan-vk builds for the reference data once
and caches (keyed by the data's content): a classifier it trains on the
labels (an IDX labels file beside the images), whose held-out accuracy it
prints, or for unlabelled data a network with fixed random weights, whose
FD compares only between runs on the same data at the same size.`

type scoreFlags struct {
	ckpt, images, ref, weights, bn, device, cache *string
	n                                             *int
	seed                                          *uint64
	json, perClass                                *bool
}

func runScore(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("score", scoreSynopsis, stdout, stderr)
	f := scoreFlags{
		ckpt:     fs.String("checkpoint", "", "score a generator: a checkpoint `file`, or a run folder (its newest checkpoint)"),
		images:   fs.String("images", "", "score the images in this `folder` (PNG or JPEG) or IDX file"),
		ref:      fs.String("data", "", "reference data (default: the run's with --checkpoint, else "+data.Default+")"),
		n:        fs.Int("n", 10000, "images to draw with --checkpoint"),
		seed:     fs.Uint64("seed", 1, "seed of the z's drawn with --checkpoint"),
		weights:  weightsFlag(fs),
		bn:       fs.String("bn", "eval", "batch norm with --checkpoint: eval (running statistics) or batch (each drawn batch's statistics), as sample"),
		json:     fs.Bool("json", false, "print the result as one JSON object"),
		perClass: fs.Bool("per-class", false, "with --checkpoint and labelled reference data: score each class (a conditional generator's images drawn for it, with the share the classifier puts in it; an unconditional one's the classifier puts in it) against the reference images of the class"),
		device:   fs.String("device", "", "Vulkan device: an index or part of a name"),
		cache:    fs.String("cache", "", "`folder` for the feature networks and reference statistics (default: the user's cache folder, gan-vk/score)"),
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	var c *run.Checkpoint
	var w gan.Weights
	if *f.ckpt != "" {
		if c, w, err = openGenerator(*f.ckpt, *f.weights); err != nil {
			return err
		}
	}
	refOpt, err := f.reference(c)
	if err != nil {
		return err
	}
	cacheDir, err := f.cacheDir()
	if err != nil {
		return err
	}
	d, err := openDevice(*f.device)
	if err != nil {
		return err
	}
	defer closeDevice(d, stderr, &err)
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	refOpt.Log, refOpt.CacheDir = logf, filepath.Join(cacheDir, "data")
	ref, err := openReference(d, refOpt, score.Options{CacheDir: cacheDir, Log: logf})
	if err != nil {
		return err
	}
	defer ref.Close()
	var res interface{ Write(io.Writer) }
	switch {
	case *f.perClass:
		res, err = scoreClasses(d, ref, refOpt, c, w, *f.bn == "batch", *f.n, *f.seed, logf)
	case c != nil:
		res, err = scoreCheckpoint(d, ref, c, w, *f.bn == "batch", *f.n, *f.seed, logf)
	default:
		res, err = scoreImages(ref, *f.images, logf)
	}
	if err != nil {
		return err
	}
	if *f.json {
		return json.NewEncoder(stdout).Encode(res)
	}
	res.Write(stdout)
	return nil
}

// scoreClasses is --per-class: the checkpoint's generator scored class by
// class against the labelled reference data.
func scoreClasses(d *vk.Device, ref *score.Reference, opt data.Options, c *run.Checkpoint, w gan.Weights, batchStats bool, n int, seed uint64, logf func(string, ...any)) (score.ClassScore, error) {
	if ref.Classes == 0 {
		return score.ClassScore{}, fmt.Errorf("--per-class: the reference %s is not labelled; give labelled data with --data", ref.Source)
	}
	opt.Log = nil
	ds, err := data.Open(opt)
	if err != nil {
		return score.ClassScore{}, err
	}
	defer ds.Close()
	g, err := run.LoadGenerator(d, c, w)
	if err != nil {
		return score.ClassScore{}, err
	}
	defer g.Close()
	names := g.Config.Model.ClassNames
	if !g.Config.Model.Conditional() {
		names, _ = data.Classes(opt.Path) // numbers when it has no names
	}
	s, err := g.NewSampler(d, min(n, 128), seed, batchStats)
	if err != nil {
		return score.ClassScore{}, err
	}
	defer s.Close()
	logf("score: %d images from %s (step %d, %s weights), class by class", n, c.Path, g.Step, g.Weights)
	return ref.ScoreClasses(s, ds, names, n, seed)
}

// check reads the flags that need more than their type.
func (f scoreFlags) check() error {
	switch {
	case (*f.ckpt == "") == (*f.images == ""):
		return &usageError{"give one of --checkpoint (a run or checkpoint to draw from) and --images (a folder of images)"}
	case *f.ckpt != "" && (*f.n < score.MinSamples || *f.n > 1<<20):
		return &usageError{fmt.Sprintf("--n %d: the score needs at least %d images (%d or more for a stable FD), at most %d", *f.n, score.MinSamples, score.WarnSamples, 1<<20)}
	case *f.images != "" && *f.weights != "":
		return &usageError{"--weights picks a generator of --checkpoint; --images has none"}
	case *f.bn != "eval" && *f.bn != "batch":
		return &usageError{fmt.Sprintf("--bn %q: use eval or batch", *f.bn)}
	case *f.perClass && *f.ckpt == "":
		return &usageError{"--per-class scores a generator: give --checkpoint"}
	}
	if *f.images != "" {
		if st, err := os.Stat(*f.images); err != nil {
			return fmt.Errorf("--images: %w", err)
		} else if !st.IsDir() && !st.Mode().IsRegular() {
			return fmt.Errorf("--images %s is neither a folder nor a file", *f.images)
		}
	}
	return nil
}

// reference is how to open the reference data: --data, else the run's
// training data (config.json beside the checkpoints), else the default,
// at the size and channels of the checkpoint's model or the data's own.
func (f scoreFlags) reference(c *run.Checkpoint) (data.Options, error) {
	opt := data.Options{Path: *f.ref, Labels: true}
	if c != nil {
		st, err := c.State()
		if err != nil {
			return opt, err
		}
		opt.Size, opt.Channels = st.Config.Model.Size(), st.Config.Model.Channels
		if opt.Path == "" {
			runDir := filepath.Dir(filepath.Dir(c.Path))
			if cfg, err := run.ReadConfig(runDir); err == nil {
				opt.Path, opt.Crop = cfg.Data, cfg.Crop
			}
		}
	}
	if opt.Path == "" {
		opt.Path = data.Default
	}
	if opt.Size == 0 {
		channels, preset, err := data.Probe(opt.Path)
		if err != nil {
			return opt, err
		}
		m, err := gan.DefaultModel(preset, channels)
		if err != nil {
			return opt, err
		}
		opt.Size = m.Size()
	}
	return opt, nil
}

func (f scoreFlags) cacheDir() (string, error) {
	if *f.cache != "" {
		return *f.cache, nil
	}
	return scoreCacheDir()
}

// scoreCacheDir is where the score's feature networks and reference
// statistics are cached: gan-vk/score in the user's cache folder.
func scoreCacheDir() (string, error) {
	dir, err := tune.CacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder for the score's feature networks (%v); set XDG_CACHE_HOME", err)
	}
	return filepath.Join(dir, "score"), nil
}

func openReference(d *vk.Device, opt data.Options, sopt score.Options) (*score.Reference, error) {
	ds, err := data.Open(opt)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	if ds.Converted != "" {
		sopt.Log("score: reference %s: %s, as the model sees it", ds.Source, ds.Converted)
	}
	return score.OpenReference(d, ds, sopt)
}

func scoreCheckpoint(d *vk.Device, ref *score.Reference, c *run.Checkpoint, w gan.Weights, batchStats bool, n int, seed uint64, logf func(string, ...any)) (score.Result, error) {
	g, err := run.LoadGenerator(d, c, w)
	if err != nil {
		return score.Result{}, err
	}
	defer g.Close()
	s, err := g.NewSampler(d, min(n, 128), seed, batchStats)
	if err != nil {
		return score.Result{}, err
	}
	defer s.Close()
	logf("score: %d images from %s (step %d, %s weights)", n, c.Path, g.Step, g.Weights)
	return ref.Sampled(s, n, seed)
}

func scoreImages(ref *score.Reference, path string, logf func(string, ...any)) (score.Result, error) {
	cfg := ref.Net.Config
	ds, err := data.Open(data.Options{Path: path, Size: cfg.Size, Channels: cfg.Channels, Log: logf})
	if err != nil {
		return score.Result{}, err
	}
	defer ds.Close()
	note := fmt.Sprintf("resized to %d×%d as the data loader does", cfg.Size, cfg.Size)
	if ds.Converted != "" {
		note += ", " + ds.Converted
	}
	logf("score: %d images of %s (%s)", ds.N, path, note)
	if ds.N < score.MinSamples {
		return score.Result{}, fmt.Errorf("%s holds %d images; the score needs at least %d (%d or more for a stable FD)", path, ds.N, score.MinSamples, score.WarnSamples)
	}
	return ref.Score(ds.N, ds.Image)
}
