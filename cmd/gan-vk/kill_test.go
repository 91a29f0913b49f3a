package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image/png"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gan-vk/gan-vk/gan/run"
)

// TestKillAndResume kills training processes at random moments — SIGKILL
// mostly, SIGTERM every fourth time — and resumes each time, many times
// over; a checkpoint and a sample grid are written every step, so the
// kills land in steps, checkpoint writes and grid writes alike. After every
// stop the run folder must hold only whole files: every checkpoint reads,
// every grid decodes, every metrics line but the last parses. The run's
// final checkpoint must equal, byte for byte, that of the same run trained
// without a stop, and so must every step's losses.
//
// GAN_VK_KILL_SEED=n replays one schedule of kills; the test logs the seed
// it used.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts gan-vk some 17 times")
	}
	seed := time.Now().UnixNano() % 1000
	if s := os.Getenv("GAN_VK_KILL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("kill schedule seed %d (GAN_VK_KILL_SEED=%d replays it)", seed, seed)
	r := rand.New(rand.NewSource(seed))

	const steps, kills = 100, 16
	dir := t.TempDir()
	train := tinyTrain(t, dir)
	flags := func(run string) []string {
		return train(run, steps, "--sample-every", "1", "--checkpoint-every", "1", "--keep", "2")
	}
	ref := filepath.Join(dir, "straight")
	if out, err := gankv(flags(ref)...).CombinedOutput(); err != nil {
		t.Fatalf("the uninterrupted run: %v\n%s", err, out)
	}

	run := filepath.Join(dir, "killed")
	args := flags(run)
	done, stops, terms, midWrite := false, 0, 0, 0
	for !done {
		cmd, out, exited := startGankv(t, args...)
		before := metricLines(run)
		var sig syscall.Signal
		if stops < kills {
			// Wait for a step of progress, then a random moment more.
			deadline := time.Now().Add(60 * time.Second)
			for metricLines(run) <= before && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond)
			}
			time.Sleep(time.Duration(r.Intn(25000)) * time.Microsecond)
			sig = syscall.SIGKILL
			if stops%4 == 3 {
				sig = syscall.SIGTERM
			}
			cmd.Process.Signal(sig)
		}
		var err error
		select {
		case err = <-exited:
		case <-time.After(90 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("stop %d: gan-vk did not exit:\n%s", stops, out.String())
		}
		switch {
		case sig == 0 || err == nil && strings.Contains(out.String(), fmt.Sprintf("trained %d steps", steps)):
			if err != nil {
				t.Fatalf("the last resume failed: %v\n%s", err, out.String())
			}
			done = true
		case sig == syscall.SIGTERM:
			// A SIGTERM finishes the step and writes its checkpoint — unless
			// it came before training began, which ends the process as a
			// signal does (no handler yet).
			if err == nil {
				terms++
				if !strings.Contains(out.String(), "continue with: gan-vk train --resume") {
					t.Errorf("stop %d: SIGTERM: no resume line:\n%s", stops, out.String())
				}
				if got, last := newestStep(t, run), metricLines(run); got != last {
					t.Errorf("stop %d: SIGTERM left checkpoint step %d, and %d steps of metrics", stops, got, last)
				}
			}
		case err == nil:
			t.Fatalf("stop %d: gan-vk exited 0 after SIGKILL:\n%s", stops, out.String())
		}
		if sig != 0 {
			stops++
		}
		checkWhole(t, run, stops)
		if tmp := tempFiles(run); len(tmp) > 0 {
			midWrite++ // a write it never finished: resume must clear it
		}
		args = []string{"train", "--resume", run, "--quiet"}
	}
	if stops < kills || terms == 0 {
		t.Errorf("%d stops (%d by SIGTERM with a checkpoint); want %d and some", stops, terms, kills)
	}
	t.Logf("%d stops, %d of them SIGTERM with a checkpoint, %d in the middle of writing a file", stops, terms, midWrite)

	last := fmt.Sprintf("step_%09d.safetensors", steps)
	a, b := readFile(t, filepath.Join(ref, "checkpoints", last)), readFile(t, filepath.Join(run, "checkpoints", last))
	if !bytes.Equal(a, b) {
		t.Errorf("the final checkpoint after %d stops differs from the uninterrupted run's", stops)
	}
	ma, mb := losses(t, ref), losses(t, run)
	if len(ma) != steps || len(mb) != steps {
		t.Fatalf("metrics hold %d and %d steps, want %d", len(ma), len(mb), steps)
	}
	for i := range ma {
		if ma[i] != mb[i] {
			t.Errorf("step %d: losses %+v after stops, %+v straight", i+1, mb[i], ma[i])
		}
	}
	if tmp := tempFiles(run); len(tmp) > 0 {
		t.Errorf("temporary files left after the last resume: %v", tmp)
	}
}

// tempFiles lists the unfinished writes in a run folder.
func tempFiles(run string) []string {
	var out []string
	for _, sub := range []string{"checkpoints", "samples"} {
		tmp, _ := filepath.Glob(filepath.Join(run, sub, ".*.tmp-*"))
		out = append(out, tmp...)
	}
	return out
}

// gankv is the test binary run as gan-vk (TestMain), without the
// validation layer: this test is about files, and starts it often.
func gankv(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "GAN_VK_RUN_MAIN=1", "GAN_VK_VALIDATION=")
	return cmd
}

// startGankv starts gankv(args) with its output collected, and returns a
// channel that gets its exit.
func startGankv(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, chan error) {
	cmd := gankv(args...)
	out := new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return cmd, out, exited
}

// tinyTrain writes a 48-image IDX file into dir and returns the flags of
// a tiny dcgan28 run on it: steps steps into run, plus extra.
func tinyTrain(t *testing.T, dir string) func(run string, steps int, extra ...string) []string {
	data := filepath.Join(dir, "images.idx")
	if err := os.WriteFile(data, idxImages(48, 28, 28), 0o644); err != nil {
		t.Fatal(err)
	}
	return func(run string, steps int, extra ...string) []string {
		return append([]string{"train", "--data", data, "--steps", strconv.Itoa(steps), "--gf", "4", "--df", "4",
			"--batch", "8", "--run", run, "--quiet"}, extra...)
	}
}

// idxImages is an IDX file of n synthetic images.
func idxImages(n, rows, cols int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, []uint32{0x803, uint32(n), uint32(rows), uint32(cols)})
	for i := 0; i < n*rows*cols; i++ {
		b.WriteByte(byte(i*7 + i/(rows*cols)*31))
	}
	return b.Bytes()
}

// metricLines counts the complete lines of a run's metrics.jsonl.
func metricLines(run string) int {
	b, _ := os.ReadFile(filepath.Join(run, "metrics.jsonl"))
	return bytes.Count(b, []byte("\n"))
}

func newestStep(t *testing.T, dir string) int {
	t.Helper()
	c, err := run.NewestCheckpoint(dir, nil)
	if err != nil {
		t.Fatalf("no checkpoint: %v", err)
	}
	st, err := c.State()
	if err != nil {
		t.Fatal(err)
	}
	return st.Step
}

// checkWhole holds a run folder after a stop to whole files only.
func checkWhole(t *testing.T, dir string, stop int) {
	t.Helper()
	files, _ := run.Checkpoints(filepath.Join(dir, "checkpoints"))
	for _, f := range files {
		if _, err := run.ReadCheckpoint(f); err != nil {
			t.Errorf("after stop %d: %v", stop, err)
		}
	}
	grids, _ := filepath.Glob(filepath.Join(dir, "samples", "*.png"))
	for _, g := range grids {
		f, err := os.Open(g)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(f); err != nil {
			t.Errorf("after stop %d: %s: %v", stop, g, err)
		}
		f.Close()
	}
	b, _ := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	lines := strings.Split(string(b), "\n")
	for i, l := range lines[:max(len(lines)-1, 0)] { // the last may be cut
		var m run.Metric
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("after stop %d: metrics line %d %q: %v", stop, i+1, l, err)
		}
	}
}

// losses is each step's numbers from a run's metrics, timings left out.
func losses(t *testing.T, dir string) []run.Metric {
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []run.Metric
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m run.Metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		m.ImagesPerSec, m.MsPerStep, m.AllreduceMs = 0, 0, 0
		out = append(out, m)
	}
	return out
}

// TestFullDisk resumes a run under a file-size limit smaller than a
// checkpoint (what a full disk looks like to the writer: the write fails
// part way). The checkpoint write fails, training stops with a message that
// says what happened and what to do, the previous checkpoint is intact and
// no temporary file is left; resumed without the limit, the run ends where
// a run never stopped ends.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	train := tinyTrain(t, dir)
	flags := func(run string, steps int) []string {
		return train(run, steps, "--sample-every", "0", "--checkpoint-every", "5")
	}
	straight := filepath.Join(dir, "straight")
	if out, err := gankv(flags(straight, 20)...).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	run := filepath.Join(dir, "run")
	if out, err := gankv(flags(run, 10)...).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// 32 blocks (16 KiB in dash, 32 in bash): config.json and the metrics
	// fit, a checkpoint (about 1 MiB here) does not.
	limited := gankv("train", "--resume", run, "--steps", "20")
	limited.Args = append([]string{"sh", "-c", `ulimit -f 32 && exec "$0" "$@"`}, limited.Args...)
	limited.Path = "/bin/sh"
	var stderr bytes.Buffer
	limited.Stderr = &stderr
	_, err := limited.Output()
	out := stderr.Bytes()
	if err == nil {
		t.Fatalf("training under a file-size limit succeeded:\n%s", out)
	}
	for _, want := range []string{"step_000000015.safetensors", "file too large", "training stopped", "step_000000010.safetensors is whole",
		"free some space", "continue with: gan-vk train --resume " + run} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the error lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(strings.TrimSpace(string(out)), "\n") != 0 || strings.Contains(string(out), "goroutine") {
		t.Errorf("the error is not one line:\n%s", out)
	}
	if got := newestStep(t, run); got != 10 {
		t.Errorf("the newest checkpoint is step %d, want the previous one, 10", got)
	}
	checkWhole(t, run, 1)
	if tmp := tempFiles(run); len(tmp) > 0 {
		t.Errorf("the failed write left %v", tmp)
	}
	if out, err := gankv("train", "--resume", run, "--steps", "20", "--quiet").CombinedOutput(); err != nil {
		t.Fatalf("resuming with room again: %v\n%s", err, out)
	}
	last := filepath.Join("checkpoints", "step_000000020.safetensors")
	if !bytes.Equal(readFile(t, filepath.Join(straight, last)), readFile(t, filepath.Join(run, last))) {
		t.Errorf("after the failed write and a resume, step 20 differs from the run never stopped")
	}
}

// TestSoak trains GAN_VK_SOAK_STEPS steps of a small dcgan28 on
// Fashion-MNIST in a process of its own (with data loading, metrics, a grid
// every 500 steps and a checkpoint every 1000), samples its resident memory
// (which on lavapipe includes the device's) every second, and fails if it
// grows by more than 5 % (and 20 MiB) from a tenth of the way in to the
// end. It is not part of ./build.sh test: ./build.sh soak runs it.
func TestSoak(t *testing.T) {
	steps, _ := strconv.Atoi(os.Getenv("GAN_VK_SOAK_STEPS"))
	if steps <= 0 {
		t.Skip("set GAN_VK_SOAK_STEPS (./build.sh soak)")
	}
	run := filepath.Join(t.TempDir(), "soak")
	cmd, out, exited := startGankv(t, "train", "--steps", strconv.Itoa(steps), "--gf", "16", "--df", "16", "--batch", "32",
		"--run", run, "--sample-every", "500", "--checkpoint-every", "1000", "--quiet")
	type sample struct{ step, rssKiB int }
	var samples []sample
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("the soak run failed: %v\n%s", err, out.String())
			}
			done = true
		case <-tick.C:
			b, err := os.ReadFile(status)
			if err != nil {
				continue
			}
			for _, l := range strings.Split(string(b), "\n") {
				if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
					var kb int
					fmt.Sscan(rest, &kb)
					samples = append(samples, sample{metricLines(run), kb})
				}
			}
		}
	}
	var base *sample
	peak := sample{}
	for i, s := range samples {
		if base == nil && s.step >= steps/10 {
			base = &samples[i]
		}
		if s.rssKiB > peak.rssKiB {
			peak = s
		}
	}
	for i := 0; i < len(samples); i += max(1, len(samples)/10) {
		t.Logf("step %6d: RSS %7.1f MiB", samples[i].step, float64(samples[i].rssKiB)/1024)
	}
	if base == nil || len(samples) < 3 {
		t.Fatalf("too few samples (%d) to judge; run more steps", len(samples))
	}
	end := samples[len(samples)-1]
	t.Logf("%d steps: RSS %.1f MiB at step %d, %.1f MiB at step %d, peak %.1f MiB at step %d",
		steps, float64(base.rssKiB)/1024, base.step, float64(end.rssKiB)/1024, end.step, float64(peak.rssKiB)/1024, peak.step)
	if limit := base.rssKiB + max(base.rssKiB/20, 20<<10); peak.rssKiB > limit {
		t.Errorf("RSS grew from %d KiB at step %d to %d KiB at step %d", base.rssKiB, base.step, peak.rssKiB, peak.step)
	}
}
