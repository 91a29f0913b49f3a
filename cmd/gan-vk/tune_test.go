package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/layers"
)

// TestTune tunes a tiny model through the command line (quickly: two
// candidates a pass), then holds train and bench to what the cache says:
// a new run records the cached tiles in config.json; a resume builds what
// config.json records even after the cache changed, and ends on the same
// bits as a straight run; a cache that does not read is one warning line.
func TestTune(t *testing.T) {
	t.Setenv("GAN_VK_VALIDATION", "1")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	tiny := []string{"--gf", "4", "--df", "4", "--batch", "8"}
	code, stdout, stderr := runCLI(t, append([]string{"tune", "--preset", "dcgan28", "--max-candidates", "2"}, tiny...)...)
	if code != 0 {
		t.Fatalf("tune: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"tuning the GEMM passes of dcgan28", "[ 1/", "G.0 dense", "D.7 dense", "tuned kernels saved in"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("tune's output lacks %q:\n%s", want, stdout)
		}
	}
	files, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "gan-vk", "kernels-*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files %v", files)
	}
	cacheFile := files[0]
	tuned := readFile(t, cacheFile)
	cached := cachedTiles(t, tuned)

	dir := t.TempDir()
	train := func(args ...string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, append([]string{"train", "--quiet"}, args...)...)
		if code != 0 || stderr != "" {
			t.Fatalf("train %v: exit %d\n%s\n%s", args, code, stdout, stderr)
		}
	}
	straight, split := filepath.Join(dir, "straight"), filepath.Join(dir, "split")
	train(append([]string{"--steps", "4", "--run", straight}, tiny...)...)
	train(append([]string{"--steps", "2", "--run", split}, tiny...)...)
	recorded := recordedTiles(t, split)
	if len(recorded) == 0 {
		t.Fatal("config.json records no kernels")
	}
	for p, tile := range cached {
		if recorded[p] != tile {
			t.Errorf("%s: the cache says %s, config.json %s", p, tile, recorded[p])
		}
	}
	// Another cache: every pass with another tile, and the filter
	// gradients split (which sums in another order: other bits).
	var m map[string]any
	if err := json.Unmarshal(tuned, &m); err != nil {
		t.Fatal(err)
	}
	for key, e := range m["passes"].(map[string]any) {
		p, err := layers.ParsePass(key)
		if err != nil {
			t.Fatal(err)
		}
		other := layers.Tile{Form: layers.Register, LX: 4, LY: 2, TM: 4, TN: 2, Split: 2}.Fit(p)
		if other.String() == e.(map[string]any)["tile"] {
			other.TN++
		}
		e.(map[string]any)["tile"] = other.String()
	}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(cacheFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	train("--resume", split, "--steps", "4")
	if after := recordedTiles(t, split); len(after) != len(recorded) {
		t.Errorf("the resume changed config.json's kernels")
	} else {
		for p, tile := range recorded {
			if after[p] != tile {
				t.Errorf("%s: recorded %s, after the resume %s", p, tile, after[p])
			}
		}
	}
	ckpt := filepath.Join("checkpoints", "step_000000004.safetensors")
	if a, b := readFile(t, filepath.Join(straight, ckpt)), readFile(t, filepath.Join(split, ckpt)); string(a) != string(b) {
		t.Error("the resumed run, with the cache changed under it, differs from the straight run")
	}

	// A cache cut short: one warning, and bench runs on the heuristic.
	if err := os.WriteFile(cacheFile, tuned[:len(tuned)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, append([]string{"bench", "--steps", "1", "--warmup", "0"}, tiny...)...)
	if code != 0 || strings.Count(stderr, "warning:") != 1 || !strings.Contains(stderr, "cut short") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("bench with a truncated cache: exit %d, stderr %q\n%s", code, stderr, stdout)
	}
}

// Both presets tune at their default batch (64) on lavapipe within a
// small budget: the largest passes first, each saved in the cache as it is
// done, the rest left to the heuristic with a line saying so. (At batch 64
// a split filter gradient's slices pass lavapipe's maxStorageBufferRange;
// the tune used to stop there.)
func TestTuneDefaultBatch(t *testing.T) {
	t.Setenv("GAN_VK_VALIDATION", "1")
	for _, preset := range []string{"dcgan28", "dcgan64"} {
		t.Run(preset, func(t *testing.T) {
			t.Setenv("XDG_CACHE_HOME", t.TempDir())
			code, stdout, stderr := runCLI(t, "tune", "--preset", preset, "--budget", "2s")
			if code != 0 || stderr != "" {
				t.Fatalf("tune: exit %d\n%s\n%s", code, stdout, stderr)
			}
			for _, want := range []string{"at batch 64", "for at most 2s", "[ 1/", "the budget ran out", "smaller passes were not tuned", "tuned kernels saved in"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("tune's output lacks %q:\n%s", want, stdout)
				}
			}
			if strings.Contains(stdout, "skipped ") {
				t.Errorf("a candidate failed:\n%s", stdout)
			}
			files, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "gan-vk", "kernels-*.json"))
			if len(files) != 1 || len(cachedTiles(t, readFile(t, files[0]))) == 0 {
				t.Errorf("cache files %v hold no pass", files)
			}
		})
	}
}

func cachedTiles(t *testing.T, b []byte) map[string]string {
	var c struct {
		Passes map[string]struct{ Tile string } `json:"passes"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for p, e := range c.Passes {
		out[p] = e.Tile
	}
	return out
}

func recordedTiles(t *testing.T, run string) map[string]string {
	var c struct {
		Train struct {
			Kernels map[string]string `json:"kernels"`
		} `json:"train"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(run, "config.json")), &c); err != nil {
		t.Fatal(err)
	}
	return c.Train.Kernels
}

func TestTuneRefuses(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		args []string
		want string
	}{
		{"tune", []string{"--preset", "dcgan48"}, `unknown preset "dcgan48"`},
		{"tune", []string{"--max-candidates", "-1"}, "--max-candidates must not be negative"},
		{"tune", []string{"--budget", "-1s"}, "--budget must not be negative"},
		{"tune", []string{"--budget", "soon"}, "invalid value"},
		{"tune", []string{"--batch", "0"}, "batch 0 must be at least 1"},
		{"train", []string{"--resume", "somewhere", "--tune"}, "--tune cannot be given with --resume"},
	} {
		code, stdout, stderr := runCLI(t, append([]string{tc.cmd}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "panic") {
			t.Errorf("%s %v: exit %d, stderr %q (want exit 2 and %q)\n%s", tc.cmd, tc.args, code, stderr, tc.want, stdout)
		}
	}
}
