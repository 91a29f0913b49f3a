package score

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/gan-vk/gan-vk/gan/data"
	"github.com/gan-vk/gan-vk/gan/safetensors"
	"github.com/gan-vk/gan-vk/vk"
)

// cacheFormat marks a reference cache file, and changes whenever the
// feature network or what the cache holds does.
const cacheFormat = "gan-vk score/1"

// The classifier's training: epochs over the nine tenths of the reference
// data it trains on (every tenth image is held out), in batches.
const (
	classifierEpochs = 2
	featureBatch     = 128
	heldOutEvery     = 10
	calibBatches     = 8     // the random network's batch-norm calibration
	maxReference     = 10000 // reference images kept for KID and precision/recall
)

// Reference is what scoring against a data set needs: its feature network
// and the features of its images.
type Reference struct {
	Source   string
	Net      *FeatureNet
	Classes  int     // 0: the random-weight network
	Accuracy float64 // the classifier's on the held-out tenth
	Images   int     // reference images
	Stats    Gaussian
	Features Features // of up to maxReference of them, for KID and precision/recall
	Labels   []int    // the classes of the reference images, counted
	Cache    string   // the cache file it came from or went to
}

// Options say where the cache is and where progress goes.
type Options struct {
	CacheDir string // "" computes everything and caches nothing
	Log      func(format string, args ...any)
}

// Close frees the feature network.
func (r *Reference) Close() { r.Net.Close() }

// OpenReference loads the reference for ds from the cache, or builds it:
// trains the classifier (labelled data) or draws the random network and
// calibrates its batch norms (unlabelled), computes the features of every
// image, and caches it all. A cache that does not read whole is rebuilt.
func OpenReference(d *vk.Device, ds *data.Dataset, opt Options) (*Reference, error) {
	if opt.Log == nil {
		opt.Log = func(string, ...any) {}
	}
	cfg := FeatureConfig{Channels: ds.C, Size: ds.S, Classes: ds.Classes, Batch: featureBatch, Seed: 1}
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("score: %s: %w", ds.Source, err)
	}
	if ds.N < 2*featureBatch {
		return nil, fmt.Errorf("score: %s holds %d images; a reference needs at least %d", ds.Source, ds.N, 2*featureBatch)
	}
	key, err := contentKey(ds)
	if err != nil {
		return nil, err
	}
	path := ""
	if opt.CacheDir != "" {
		path = filepath.Join(opt.CacheDir, fmt.Sprintf("score-%s-%d-%s.safetensors", filepath.Base(filepath.Clean(ds.Source)), ds.S, key))
		r, err := loadReference(d, cfg, path, ds.Source)
		if err == nil {
			opt.Log("score: the feature network and reference features of %s from %s", ds.Source, path)
			return r, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			opt.Log("score: rebuilding the reference cache: %v", err)
		}
	}
	r, err := buildReference(d, cfg, ds, opt)
	if err != nil {
		return nil, err
	}
	if path != "" {
		if err := r.save(path); err != nil {
			opt.Log("score: not caching the reference (%v); the next score builds it again", err)
		} else {
			r.Cache = path
		}
	}
	return r, nil
}

// contentKey names a data set's reference by everything that decides it:
// the images' bytes, their labels and the cache format.
func contentKey(ds *data.Dataset) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d %d %d %d\n", cacheFormat, ds.N, ds.C, ds.S, ds.Classes)
	raw := make([]byte, ds.ImageBytes())
	for i := range ds.N {
		if err := ds.RawImage(i, raw); err != nil {
			return "", err
		}
		h.Write(raw)
	}
	for _, l := range ds.Labels {
		binary.Write(h, binary.LittleEndian, l)
	}
	return fmt.Sprintf("%x", h.Sum(nil)[:12]), nil
}

func buildReference(d *vk.Device, cfg FeatureConfig, ds *data.Dataset, opt Options) (*Reference, error) {
	net, err := NewFeatureNet(d, cfg)
	if err != nil {
		return nil, err
	}
	r := &Reference{Source: ds.Source, Net: net, Classes: cfg.Classes, Images: ds.N}
	start := time.Now()
	if cfg.Classes > 0 {
		err = r.train(ds, opt)
	} else {
		opt.Log("score: %s has no labels: features from a network with fixed random weights (seed %d), its batch norms calibrated on the data", ds.Source, cfg.Seed)
		err = r.calibrate(ds)
	}
	if err == nil {
		err = r.referenceFeatures(ds, opt)
	}
	if err != nil {
		net.Close()
		return nil, err
	}
	opt.Log("score: reference for %s built in %s", ds.Source, time.Since(start).Round(time.Second))
	return r, nil
}

// train trains the classifier on every image but each tenth and measures
// its accuracy on those.
func (r *Reference) train(ds *data.Dataset, opt Options) error {
	var trainIdx, heldOut []int
	for i := range ds.N {
		if i%heldOutEvery == heldOutEvery-1 {
			heldOut = append(heldOut, i)
		} else {
			trainIdx = append(trainIdx, i)
		}
	}
	size := ds.ImageBytes()
	batch := make([]float32, featureBatch*size)
	labels := make([]int32, featureBatch)
	rnd := rand.New(rand.NewSource(1))
	steps := len(trainIdx) / featureBatch
	opt.Log("score: training the feature classifier on %s: %d classes, %d images, %d epochs of %d steps", ds.Source, ds.Classes, len(trainIdx), classifierEpochs, steps)
	for epoch := range classifierEpochs {
		rnd.Shuffle(len(trainIdx), func(i, j int) { trainIdx[i], trainIdx[j] = trainIdx[j], trainIdx[i] })
		var loss, acc float64
		for s := range steps {
			for b := range featureBatch {
				i := trainIdx[s*featureBatch+b]
				if err := ds.Image(i, batch[b*size:(b+1)*size]); err != nil {
					return err
				}
				labels[b] = ds.Labels[i]
			}
			l, a, err := r.Net.Train(batch, labels)
			if err != nil {
				return err
			}
			loss, acc = loss+float64(l), acc+float64(a)
		}
		opt.Log("score: classifier epoch %d/%d: loss %.3f, training accuracy %.3f", epoch+1, classifierEpochs, loss/float64(steps), acc/float64(steps))
	}
	_, logits, err := features(r.Net, len(heldOut), func(k int, dst []float32) error { return ds.Image(heldOut[k], dst) })
	if err != nil {
		return err
	}
	right := 0
	for k, i := range heldOut {
		row := logits[k*ds.Classes : (k+1)*ds.Classes]
		if slices.Index(row, slices.Max(row)) == int(ds.Labels[i]) {
			right++
		}
	}
	r.Accuracy = float64(right) / float64(len(heldOut))
	opt.Log("score: classifier accuracy on the %d held-out images: %.3f", len(heldOut), r.Accuracy)
	return nil
}

// calibrate sets the random network's batch-norm statistics from batches
// of the data spread over it.
func (r *Reference) calibrate(ds *data.Dataset) error {
	size := ds.ImageBytes()
	stride := max(1, ds.N/(calibBatches*featureBatch))
	k := 0
	return r.Net.Calibrate(calibBatches, func(dst []float32) error {
		for b := range featureBatch {
			if err := ds.Image((k*stride)%ds.N, dst[b*size:(b+1)*size]); err != nil {
				return err
			}
			k++
		}
		return nil
	})
}

// referenceFeatures computes every image's features: their Gaussian from
// all of them, and maxReference of them (drawn at random) kept for KID and
// precision/recall, all rounded to float32 as the cache keeps them, so a
// reference scores the same built or read back.
func (r *Reference) referenceFeatures(ds *data.Dataset, opt Options) error {
	opt.Log("score: features of the %d reference images", ds.N)
	all, _, err := features(r.Net, ds.N, func(i int, dst []float32) error { return ds.Image(i, dst) })
	if err != nil {
		return err
	}
	r.Stats = Fit(all).float32()
	r.Features = all.subset(maxReference, rand.New(rand.NewSource(2)))
	for i, v := range r.Features.V {
		r.Features.V[i] = float64(float32(v))
	}
	if ds.Classes > 0 {
		r.Labels = make([]int, ds.Classes)
		for _, l := range ds.Labels {
			r.Labels[l]++
		}
	}
	return nil
}

// features runs the network over n images that fill gives one at a time,
// a batch at a time (the last one padded), and returns their features and
// the classifier's logits.
func features(net *FeatureNet, n int, fill func(i int, dst []float32) error) (Features, []float32, error) {
	cfg := net.Config
	size := cfg.Channels * cfg.Size * cfg.Size
	batch := make([]float32, cfg.Batch*size)
	out := Features{N: n, Dim: FeatureDim, V: make([]float64, 0, n*FeatureDim)}
	var logits []float32
	for lo := 0; lo < n; lo += cfg.Batch {
		m := min(cfg.Batch, n-lo)
		clear(batch[m*size:])
		for b := range m {
			if err := fill(lo+b, batch[b*size:(b+1)*size]); err != nil {
				return out, nil, err
			}
		}
		f, l, err := net.Features(batch)
		if err != nil {
			return out, nil, err
		}
		for _, v := range f[:m*FeatureDim] {
			out.V = append(out.V, float64(v))
		}
		if l != nil {
			logits = append(logits, l[:m*cfg.Classes]...)
		}
	}
	return out, logits, nil
}

// save writes the reference to a cache file atomically.
func (r *Reference) save(path string) error {
	state, err := r.Net.State()
	if err != nil {
		return err
	}
	var tensors []safetensors.Tensor
	for _, t := range state {
		tensors = append(tensors, safetensors.F32(t.Name, t.Shape, t.F32))
	}
	dim := r.Features.Dim
	cov := make([]float64, dim*dim)
	for i := range dim {
		for j := range dim {
			cov[i*dim+j] = r.Stats.Cov.At(i, j)
		}
	}
	tensors = append(tensors, safetensors.F32("reference.mean", []int{dim}, to32(r.Stats.Mean)),
		safetensors.F32("reference.cov", []int{dim, dim}, to32(cov)),
		safetensors.F32("reference.features", []int{r.Features.N, dim}, to32(r.Features.V)))
	labels, _ := json.Marshal(r.Labels)
	meta := map[string]string{"format": cacheFormat, "source": r.Source, "classes": strconv.Itoa(r.Classes),
		"accuracy": strconv.FormatFloat(r.Accuracy, 'g', -1, 64), "images": strconv.Itoa(r.Images), "labels": string(labels)}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return safetensors.Write(path, meta, tensors)
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
