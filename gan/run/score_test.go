package run

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gan-vk/gan-vk/gan/data"
	"github.com/gan-vk/gan-vk/internal/gantest"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// --score-every puts FD and KID of both generators into the scored steps'
// metrics lines, and the run ends on the same checkpoint as without it.
func TestScoreEveryLeavesTrainingAlone(t *testing.T) {
	d := vktest.Open(t)
	dir := t.TempDir()
	images := gantest.WriteFile(t, filepath.Join(dir, "images.idx"), gantest.IDX(300, 28, 28))
	newRun := func(name string, scoreEvery int) *Run {
		return &Run{Dir: filepath.Join(dir, name), ScoreCache: filepath.Join(dir, "score"),
			Config: Config{Train: gantest.TinyConfig(t), Data: images, Crop: data.CropSquare, Steps: 4,
				SampleEvery: 2, CheckpointEvery: 4, Keep: 1, ScoreEvery: scoreEvery, ScoreN: 200}}
	}
	plain, scored := newRun("plain", 0), newRun("scored", 2)
	var fds []float64
	scored.Report = func(ev Event) {
		if ev.FDRaw != 0 {
			fds = append(fds, ev.FD, ev.FDRaw)
		}
	}
	for _, r := range []*Run{plain, scored} {
		if _, err := r.Train(context.Background(), d, false); err != nil {
			t.Fatal(err)
		}
	}
	a, err := os.ReadFile(filepath.Join(plain.checkpointsDir(), checkpointName(4)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(scored.checkpointsDir(), checkpointName(4)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("scoring during training changed the checkpoint")
	}
	ms, err := readMetrics(scored.metricsPath())
	if err != nil || len(ms) != 4 {
		t.Fatalf("%d metrics lines, %v", len(ms), err)
	}
	for _, m := range ms {
		has := m.FD > 0 && m.FDRaw > 0 && m.ScoreSeconds > 0 && m.KID != 0 && m.KIDRaw != 0
		if want := m.Step%2 == 0; has != want {
			t.Errorf("step %d: fd %g fd_raw %g kid %g kid_raw %g score_seconds %g; scored steps are 2 and 4", m.Step, m.FD, m.FDRaw, m.KID, m.KIDRaw, m.ScoreSeconds)
		}
	}
	if len(fds) != 4 {
		t.Errorf("the report carried %d scores, want FD and raw FD at 2 steps", len(fds))
	}
}
