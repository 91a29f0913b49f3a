package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/run"
)

// weightsFlag adds --weights, which picks one of a run's generators.
func weightsFlag(fs *flag.FlagSet) *string {
	return fs.String("weights", "", "generator: ema (the moving average of its weights) or raw (the one Adam trains); default ema when the run keeps one")
}

// parseWeights reads --weights for a run configured cfg.
func parseWeights(s string, cfg gan.TrainConfig) (gan.Weights, error) {
	if s == "" {
		return gan.DefaultWeights, nil
	}
	w, err := gan.ParseWeights(s)
	if err != nil {
		return w, &usageError{"--" + err.Error()}
	}
	if _, _, err := w.Resolve(cfg); err != nil {
		return w, &usageError{"--weights " + s + ": " + err.Error()}
	}
	return w, nil
}

// openGenerator reads a checkpoint file (or a run folder's newest) and
// the generator --weights names in it.
func openGenerator(path, weights string) (*run.Checkpoint, gan.Weights, error) {
	c, err := openCheckpoint(path)
	if err != nil {
		return nil, 0, err
	}
	w, err := checkpointWeights(c, weights)
	if err != nil {
		return nil, 0, err
	}
	return c, w, nil
}

// openCheckpoint reads a checkpoint file, or a run folder's newest.
func openCheckpoint(path string) (*run.Checkpoint, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return run.NewestCheckpoint(path, nil)
	}
	c, err := run.ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// checkpointWeights is the generator --weights names in a checkpoint.
func checkpointWeights(c *run.Checkpoint, weights string) (gan.Weights, error) {
	st, err := c.State()
	if err != nil {
		return 0, err
	}
	w, err := parseWeights(weights, st.Config)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", c.Path, err)
	}
	return w, nil
}
