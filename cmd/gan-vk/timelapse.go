package main

import (
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gan-vk/gan-vk/gan/anim"
	"github.com/gan-vk/gan-vk/gan/run"
)

const timelapseSynopsis = `timelapse RUN [--out RUN/progress.gif] [--fps 8] [--every K] [--hold 2s]

Makes an animated GIF of a run's sample grids (samples/step_N.png, the
same fixed z after each --sample-every steps) in step order, each frame
labelled with its step and the last held, so the GIF shows the generator
learning. On a run still training it takes the grids written so far.
train --gif writes it when the run ends.`

// timelapseFlags are the GIF's settings, shared by timelapse and train --gif.
type timelapseFlags struct {
	fps, every int
	hold       time.Duration
}

func (t *timelapseFlags) add(fs *flag.FlagSet) {
	fs.IntVar(&t.fps, "fps", 8, "frames per second, 1 to 50")
	fs.IntVar(&t.every, "every", 1, "use every K-th grid (the last is always used)")
	fs.DurationVar(&t.hold, "hold", 2*time.Second, "how long the last frame is shown before the GIF loops")
}

func (t *timelapseFlags) check() error {
	switch {
	case t.fps < 1 || t.fps > 50:
		return &usageError{fmt.Sprintf("--fps %d must be in [1, 50] (a GIF's delays are hundredths of a second)", t.fps)}
	case t.every < 1:
		return &usageError{fmt.Sprintf("--every %d must be at least 1", t.every)}
	case t.hold < 0:
		return &usageError{fmt.Sprintf("--hold %s must not be negative", t.hold)}
	}
	return nil
}

func runTimelapse(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("timelapse", timelapseSynopsis, stdout, stderr)
	out := fs.String("out", "", "the GIF `file` to write (default progress.gif in the run folder)")
	var t timelapseFlags
	t.add(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return &usageError{"give the run folder whose sample grids to animate"}
	case len(pos) > 1:
		return &usageError{fmt.Sprintf("unexpected argument %q: give one run folder", pos[1])}
	}
	if err := t.check(); err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join(pos[0], "progress.gif")
	}
	grids, err := writeTimelapse(pos[0], *out, t)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d frames, steps %d to %d\n", *out, len(grids), grids[0].Step, grids[len(grids)-1].Step)
	return nil
}

// writeTimelapse writes the GIF of a run's sample grids to out and
// returns the grids it used.
func writeTimelapse(dir, out string, t timelapseFlags) ([]run.SampleGrid, error) {
	all, err := run.SampleGrids(dir)
	if err != nil {
		return nil, err
	}
	var grids []run.SampleGrid
	for i, g := range all {
		if i%t.every == 0 || i == len(all)-1 {
			grids = append(grids, g)
		}
	}
	frames := make([]anim.Frame, len(grids))
	for i, g := range grids {
		m, err := decodePNG(g.Path)
		if err != nil {
			return nil, err
		}
		frames[i] = anim.Frame{Image: m, Label: fmt.Sprintf("step %d", g.Step), Delay: time.Second / time.Duration(t.fps)}
	}
	frames[len(frames)-1].Delay = max(frames[len(frames)-1].Delay, t.hold)
	if err := anim.Write(out, frames); err != nil {
		return nil, fmt.Errorf("writing %s: %w", out, err)
	}
	return grids, nil
}

// decodePNG decodes a PNG file, naming it in the error.
func decodePNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s does not decode as a PNG: %w", path, err)
	}
	return m, nil
}

// parseInterleaved parses flags that may come before, between or after
// the positional arguments, and returns those.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
