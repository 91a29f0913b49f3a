package score

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/gan-vk/gan-vk/gan/safetensors"
	"github.com/gan-vk/gan-vk/vk"
	"gonum.org/v1/gonum/mat"
)

// cacheFile is a reference cache read into memory: an nn.TensorSource for
// the feature network.
type cacheFile struct{ f *safetensors.File }

func (c cacheFile) Floats(name string, shape []int) ([]float32, error) {
	e, ok := c.f.Entry(name)
	if !ok {
		return nil, fmt.Errorf("%s has no tensor %q", c.f.Path, name)
	}
	if e.DType != "F32" || !slices.Equal(e.Shape, shape) {
		return nil, fmt.Errorf("%s: tensor %q is %s %v, want F32 %v", c.f.Path, name, e.DType, e.Shape, shape)
	}
	v, err := c.f.Floats(name)
	if err != nil {
		return nil, err
	}
	for _, x := range v {
		if x-x != 0 {
			return nil, fmt.Errorf("%s: tensor %q holds NaN or infinite values", c.f.Path, name)
		}
	}
	return v, nil
}

// loadReference reads a reference cache written for a network configured
// cfg; any flaw is an error (and the caller rebuilds it).
func loadReference(d *vk.Device, cfg FeatureConfig, path, source string) (*Reference, error) {
	f, err := safetensors.Read(path)
	if err != nil {
		return nil, err
	}
	if f.Meta["format"] != cacheFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", path, f.Meta["format"], cacheFormat)
	}
	r := &Reference{Source: source, Classes: cfg.Classes, Cache: path}
	classes, err1 := strconv.Atoi(f.Meta["classes"])
	images, err2 := strconv.Atoi(f.Meta["images"])
	acc, err3 := strconv.ParseFloat(f.Meta["accuracy"], 64)
	err4 := json.Unmarshal([]byte(f.Meta["labels"]), &r.Labels)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || classes != cfg.Classes || len(r.Labels) != classes {
		return nil, fmt.Errorf("%s: metadata does not describe this data's reference", path)
	}
	r.Images, r.Accuracy = images, acc
	src := cacheFile{f}
	dim := FeatureDim
	mean, err := src.Floats("reference.mean", []int{dim})
	if err != nil {
		return nil, err
	}
	cov, err := src.Floats("reference.cov", []int{dim, dim})
	if err != nil {
		return nil, err
	}
	e, ok := f.Entry("reference.features")
	if !ok || len(e.Shape) != 2 || e.Shape[1] != dim || e.Shape[0] < 2 {
		return nil, fmt.Errorf("%s: no reference features of %d dimensions", path, dim)
	}
	feats, err := src.Floats("reference.features", e.Shape)
	if err != nil {
		return nil, err
	}
	r.Stats = Gaussian{Mean: to64(mean), Cov: mat.NewSymDense(dim, to64(cov))}
	r.Features = Features{N: e.Shape[0], Dim: dim, V: to64(feats)}
	if r.Net, err = NewFeatureNet(d, cfg); err != nil {
		return nil, err
	}
	if err := r.Net.Load(src); err != nil {
		r.Net.Close()
		return nil, err
	}
	return r, nil
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
