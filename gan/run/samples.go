package run

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// SampleGrid is one of a run's sample grids, samples/step_N.png: the
// fixed-z grid after step N.
type SampleGrid struct {
	Step int
	Path string
}

// SampleGrids lists a run folder's sample grids in step order: those
// written so far, when the run is still training.
func SampleGrids(dir string) ([]SampleGrid, error) {
	if _, err := ReadConfig(dir); err != nil {
		return nil, err
	}
	samples := filepath.Join(dir, "samples")
	ents, err := os.ReadDir(samples)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var out []SampleGrid
	for _, e := range ents {
		n := e.Name()
		digits, ok := strings.CutSuffix(strings.TrimPrefix(n, "step_"), ".png")
		if !ok || len(digits) == len(n)-len(".png") || !e.Type().IsRegular() {
			continue
		}
		step, err := strconv.Atoi(digits)
		if err != nil || step < 0 {
			continue
		}
		out = append(out, SampleGrid{step, filepath.Join(samples, n)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no sample grids yet (train writes samples/step_N.png every --sample-every steps)", dir)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step }) // step_%06d stops sorting by name past a million
	return out, nil
}
