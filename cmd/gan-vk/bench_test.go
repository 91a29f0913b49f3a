package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/internal/gantest"
)

// tinyBench is a model small enough to time in a test.
var tinyBench = []string{"bench", "--gf", "4", "--df", "4", "--batch", "4", "--steps", "2", "--warmup", "1"}

// TestBench runs gan-vk bench with the validation layer on: the plain
// report with a profile, the JSON report, and a sweep.
func TestBench(t *testing.T) {
	t.Setenv("GAN_VK_VALIDATION", "1")
	code, stdout, stderr := runCLI(t, append(tinyBench, "--profile")...)
	if code != 0 {
		t.Fatalf("bench --profile: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"dcgan28 (1×28×28)", "images/s", "GFLOP per step", "dispatches", "device ", "blocks for",
		"profile:", "G.4 convT 16→8 7×7", "D.0 conv 1→4 14×14", "Adam", "by kind:", "backward-filter"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("bench's report lacks %q:\n%s", want, stdout)
		}
	}

	code, stdout, stderr = runCLI(t, append(tinyBench, "--json", "--preset", "dcgan64")...)
	if code != 0 {
		t.Fatalf("bench --json: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var r benchReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("bench --json printed no JSON object: %v\n%s", err, stdout)
	}
	if r.Preset != "dcgan64" || r.Batch != 4 || r.ImagesPerSec <= 0 || r.StepGFLOP <= 0 || r.MsMin > r.MsMedian ||
		r.MsMedian > r.MsMax || r.Dispatches == 0 || r.DeviceBufs == 0 || r.DeviceAlloc < r.DeviceBufs || r.Device == "" {
		t.Errorf("implausible report %+v", r)
	}

	code, stdout, stderr = runCLI(t, append(tinyBench, "--sweep-batch", "2,4", "--json")...)
	if code != 0 {
		t.Fatalf("bench --sweep-batch: exit %d\n%s\n%s", code, stdout, stderr)
	}
	r = benchReport{}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Sweep) != 2 || r.Sweep[0].Batch != 2 || r.Sweep[1].Batch != 4 ||
		r.Sweep[1].ImagesPerSec <= 0 {
		t.Errorf("sweep report %+v (%v)\n%s", r, err, stdout)
	}

	// A forced tile still computes: the step's losses are finite, which
	// Step checks, and the command succeeds.
	if code, stdout, stderr = runCLI(t, append(tinyBench, "--tile", "4,4,8,4")...); code != 0 {
		t.Fatalf("bench --tile: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

func TestBenchRefuses(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "dcgan48"}, `unknown preset "dcgan48"`},
		{[]string{"--steps", "0"}, "--steps must be at least 1"},
		{[]string{"--sweep-batch", "16,x"}, `--sweep-batch "16,x"`},
		{[]string{"--sweep-batch", "0"}, `--sweep-batch "0"`},
		{[]string{"--tile", "8,8"}, "four numbers"},
		{[]string{"--tile", "8,8,6,4"}, "multiple of 4"},
		{[]string{"--tile", "64,64,4,4"}, "more than 1024"},
		{[]string{"--batch", "0"}, "batch 0 must be at least 1"},
		{[]string{"--channels", "2"}, "2 channels"},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"bench"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "panic") {
			t.Errorf("bench %v: exit %d, stderr %q (want exit 2 and %q)\n%s", tc.args, code, stderr, tc.want, stdout)
		}
	}
}

// A step whose losses are not finite fails the bench, naming the step and
// the update, rather than timing garbage.
func TestBenchStepNotFinite(t *testing.T) {
	cfg := gantest.TinyConfig(t)
	good := gan.Stats{DReal: 0.7, DFake: 0.7, G: 0.7, DX: 0.5, DGZ: 0.5, DGZAfter: 0.5}
	if err := benchStep(func() (gan.Stats, error) { return good, nil }, cfg, "warm-up", 0, 1); err != nil {
		t.Fatalf("a finite step: %v", err)
	}
	for _, c := range []struct {
		st   func(*gan.Stats)
		want string
	}{
		{func(s *gan.Stats) { s.DReal = float32(math.NaN()) }, "the D update's loss on the real batch is NaN"},
		{func(s *gan.Stats) { s.G = float32(math.Inf(1)) }, "the last G update's loss is +Inf"},
		{func(s *gan.Stats) { s.DGZAfter = float32(math.NaN()) }, "D(G(z)) in the last G update is NaN"},
	} {
		st := good
		c.st(&st)
		err := benchStep(func() (gan.Stats, error) { return st, nil }, cfg, "timed", 2, 5)
		for _, want := range []string{"dcgan28 at batch 8, timed step 3 of 5", c.want, "time would mean nothing"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%+v: %v, want it to say %q", st, err, want)
			}
		}
	}
}
