package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/run"
	"github.com/gan-vk/gan-vk/internal/gantest"
	"github.com/gan-vk/gan-vk/mpi"
	"github.com/gan-vk/gan-vk/mpi/mpitest"
)

// mpirunGankv is gan-vk on 2 ranks under mpirun (the test binary as
// gan-vk, TestMain), with the validation layer on; mca are mpirun's
// options before its program, and each rank writes its pid and exit code
// into exits (runMain).
func mpirunGankv(t *testing.T, exits string, mca []string, args ...string) *exec.Cmd {
	t.Helper()
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		t.Fatal("mpirun is missing: ./build.sh deps installs Open MPI (openmpi-bin)")
	}
	argv := append(append(mpitest.Args(2), mca...), os.Args[0])
	cmd := exec.Command(mpirun, append(argv, args...)...)
	cmd.Env = append(os.Environ(), "GAN_VK_RUN_MAIN=1", "GAN_VK_VALIDATION=1", "GAN_VK_EXIT_DIR="+exits)
	return cmd
}

// rankExits reads the exit codes the ranks wrote.
func rankExits(t *testing.T, exits string) [2]int {
	t.Helper()
	var codes [2]int
	for r := range codes {
		b, err := os.ReadFile(filepath.Join(exits, fmt.Sprintf("exit-rank%d", r)))
		if err != nil {
			t.Fatalf("rank %d wrote no exit code: %v", r, err)
		}
		codes[r], _ = strconv.Atoi(string(b))
	}
	return codes
}

// startUntil starts cmd, a training into run, with its output collected,
// and returns once run has lines steps of metrics (or two minutes passed),
// with a channel that gets its exit.
func startUntil(t *testing.T, cmd *exec.Cmd, run string, lines int) (*bytes.Buffer, chan error) {
	t.Helper()
	log := new(bytes.Buffer)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(2 * time.Minute)
	for metricLines(run) < lines && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	return log, exited
}

// failedRanks checks that no rank exited 0. When one exits first, mpirun
// ends the others, which may then write no exit code.
func failedRanks(t *testing.T, exits string) {
	t.Helper()
	wrote := 0
	for r := range 2 {
		b, err := os.ReadFile(filepath.Join(exits, fmt.Sprintf("exit-rank%d", r)))
		if err != nil {
			continue
		}
		wrote++
		if string(b) == "0" {
			t.Errorf("rank %d exited 0", r)
		}
	}
	if wrote == 0 {
		t.Errorf("no rank wrote its exit code")
	}
}

func noPanic(t *testing.T, out []byte) {
	t.Helper()
	if bytes.Contains(out, []byte("goroutine ")) || bytes.Contains(out, []byte("panic:")) {
		t.Errorf("a panic reached the user:\n%s", out)
	}
}

// TestParallelTrain trains a tiny class-conditional run (each rank with
// its rows of every batch and their classes; gan/run's TestRankLabels
// checks the rows' classes) on 2 ranks under mpirun: straight through;
// killed (SIGKILL to rank 1) in the middle and resumed, which must end on
// the same checkpoint, byte for byte, and the same losses; resumed where
// rank 0 cannot write its checkpoint, which must stop both ranks after
// the same step, each with a line; and stopped by SIGTERM to mpirun, which
// must end every rank with exit 0 after the same step, with one checkpoint
// of it.
func TestParallelTrain(t *testing.T) {
	dir := t.TempDir()
	train := tinyTrain(t, dir)
	labelled := gantest.LabelledIDX(t, filepath.Join(dir, "labelled"), 48, 3)
	const steps = 12
	flags := func(run string, steps int, extra ...string) []string {
		return train(run, steps, append([]string{"--sample-every", "4", "--checkpoint-every", "1", "--keep", "2",
			"--conditional", "--data", labelled}, extra...)...)
	}

	straight := filepath.Join(dir, "straight")
	exits := t.TempDir()
	out, err := mpirunGankv(t, exits, nil, flags(straight, steps)...).CombinedOutput()
	if err != nil {
		t.Fatalf("mpirun -np 2 gan-vk train: %v\n%s", err, out)
	}
	noPanic(t, out)
	cfg, err := run.ReadConfig(straight)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Ranks != 2 || cfg.Train.Model.Classes != 4 {
		t.Errorf("config.json records %d ranks and %d classes, want 2 and 4", cfg.Ranks, cfg.Train.Model.Classes)
	}
	ms := losses(t, straight)
	if len(ms) != steps {
		t.Fatalf("rank 0 wrote %d metrics lines, want %d (one per step, from one rank)", len(ms), steps)
	}
	b, _ := os.ReadFile(filepath.Join(straight, "metrics.jsonl"))
	if !bytes.Contains(b, []byte(`"allreduce_ms":`)) {
		t.Errorf("metrics.jsonl has no allreduce_ms:\n%s", b)
	}

	t.Run("kill -9 of a rank, then resume", func(t *testing.T) {
		killed := filepath.Join(dir, "killed")
		exits := t.TempDir()
		cmd := mpirunGankv(t, exits, nil, flags(killed, steps)...)
		log, exited := startUntil(t, cmd, killed, steps/2)
		pid, err := os.ReadFile(filepath.Join(exits, "pid-rank1"))
		if err != nil {
			t.Fatal(err)
		}
		p, _ := strconv.Atoi(string(pid))
		if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		select {
		case err = <-exited:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			t.Fatalf("mpirun did not end after a rank died:\n%s", log.String())
		}
		if err == nil {
			t.Fatalf("mpirun exited 0 after a rank was killed:\n%s", log.String())
		}
		noPanic(t, log.Bytes())
		stopped := newestStep(t, killed)
		if stopped >= steps {
			t.Fatalf("the run finished (step %d) before the kill landed", stopped)
		}
		checkWhole(t, killed, 1)
		out, err := mpirunGankv(t, t.TempDir(), nil, "train", "--resume", killed, "--quiet").CombinedOutput()
		if err != nil {
			t.Fatalf("the resume: %v\n%s", err, out)
		}
		last := fmt.Sprintf("step_%09d.safetensors", steps)
		if !bytes.Equal(readFile(t, filepath.Join(straight, "checkpoints", last)), readFile(t, filepath.Join(killed, "checkpoints", last))) {
			t.Errorf("the resumed run's last checkpoint differs from the uninterrupted run's (killed at step %d)", stopped)
		}
		got := losses(t, killed)
		for i := range min(len(got), len(ms)) {
			if got[i] != ms[i] {
				t.Errorf("step %d: losses %+v after the kill, %+v straight", i+1, got[i], ms[i])
			}
		}
		if len(got) != steps {
			t.Errorf("%d metrics lines after the resume, want %d", len(got), steps)
		}
	})

	t.Run("rank 0 cannot write", func(t *testing.T) {
		// A copy of the straight run resumed where a folder stands in the
		// way of its next checkpoint (mpirun itself fails under a file-size
		// limit): rank 0's write fails, rank 1 learns it after the same
		// step, and both stop.
		full := filepath.Join(dir, "full")
		if err := os.CopyFS(full, os.DirFS(straight)); err != nil {
			t.Fatal(err)
		}
		block := filepath.Join(full, "checkpoints", fmt.Sprintf("step_%09d.safetensors", steps+1))
		if err := os.MkdirAll(filepath.Join(block, "in the way"), 0o755); err != nil {
			t.Fatal(err)
		}
		exits := t.TempDir()
		out, err := mpirunGankv(t, exits, nil, "train", "--resume", full, "--steps", strconv.Itoa(steps+4), "--quiet").CombinedOutput()
		if err == nil {
			t.Fatalf("training where its checkpoint cannot be written succeeded:\n%s", out)
		}
		noPanic(t, out)
		last := filepath.Join(full, "checkpoints", fmt.Sprintf("step_%09d.safetensors", steps))
		for _, want := range []string{"file exists; training stopped and its last checkpoint " + last + " is whole",
			fmt.Sprintf("rank 1: another rank of the run failed after step %d (it said why); training stopped and its last checkpoint %s is whole: continue with: mpirun -np 2 gan-vk train --resume %s", steps+1, last, full)} {
			if n := strings.Count(string(out), want); n != 1 {
				t.Errorf("%q appears %d times, want once:\n%s", want, n, out)
			}
		}
		failedRanks(t, exits)
		if err := os.RemoveAll(block); err != nil {
			t.Fatal(err)
		}
		if got := newestStep(t, full); got != steps {
			t.Errorf("the newest checkpoint is of step %d, want the last whole one, %d", got, steps)
		}
		checkWhole(t, full, 1)
	})

	t.Run("SIGTERM to mpirun", func(t *testing.T) {
		termed := filepath.Join(dir, "termed")
		exits := t.TempDir()
		// mpirun passes its SIGTERM on after odls_base_sigkill_timeout
		// seconds and kills as long after that. In that time each rank
		// ends its step, rank 0 writes the checkpoint, and MPI_Finalize
		// waits out PMIx's 2 s for an answer mpirun no longer gives once
		// it is stopping (measured here: 0.1 s, then 2.05 s). 3 s left CI,
		// with every package's tests running at once, too little: 10 is
		// where gan-vk stops warning that the timeout is short.
		cmd := mpirunGankv(t, exits, []string{"--mca", "odls_base_sigkill_timeout", "10"},
			train(termed, 100000, "--sample-every", "0", "--checkpoint-every", "0", "--checkpoint-minutes", "0")...)
		log, exited := startUntil(t, cmd, termed, 3)
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			t.Fatalf("mpirun did not end after SIGTERM:\n%s", log.String())
		}
		noPanic(t, log.Bytes())
		// mpirun itself exits 1 after a signal whatever its processes do
		// (Open MPI 4.1): the ranks' own exit codes are what gan-vk says.
		if codes := rankExits(t, exits); codes != [2]int{0, 0} {
			t.Errorf("the ranks exited %v after SIGTERM, want 0 and 0:\n%s", codes, log.String())
		}
		files, _ := run.Checkpoints(filepath.Join(termed, "checkpoints"))
		if len(files) != 1 {
			t.Fatalf("%d checkpoints after SIGTERM, want 1: %v\n%s", len(files), files, log.String())
		}
		if got, lines := newestStep(t, termed), metricLines(termed); got != lines {
			t.Errorf("the checkpoint is of step %d, and rank 0 wrote %d steps of metrics", got, lines)
		}
		if want := "continue with: mpirun -np 2 gan-vk train --resume " + termed; !strings.Contains(log.String(), want) {
			t.Errorf("no %q line:\n%s", want, log.String())
		}
	})
}

// TestParallelBadStarts: runs mpirun cannot start give one line from
// gan-vk and a non-zero exit.
func TestParallelBadStarts(t *testing.T) {
	dir := t.TempDir()
	train := tinyTrain(t, dir)
	for _, c := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"batch that does not divide", train(filepath.Join(dir, "odd"), 2, "--batch", "7"), nil,
			"batch 7 does not divide among 2 processes: give --batch a multiple of 2"},
		{"MPI missing", train(filepath.Join(dir, "nompi"), 2), []string{"GAN_VK_MPI_LIBRARY=libgan-vk-no-such-mpi.so"},
			"mpirun started gan-vk, but mpi: the MPI library is missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			exits := t.TempDir()
			cmd := mpirunGankv(t, exits, nil, c.args...)
			cmd.Env = append(cmd.Env, c.env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("mpirun exited 0:\n%s", out)
			}
			noPanic(t, out)
			if n := strings.Count(string(out), c.want); n != 1 {
				t.Errorf("%q appears %d times, want once:\n%s", c.want, n, out)
			}
			failedRanks(t, exits)
		})
	}
	t.Run("ranks started for different runs", func(t *testing.T) {
		mpirun, err := exec.LookPath("mpirun")
		if err != nil {
			t.Fatal(err)
		}
		exits := t.TempDir()
		run := filepath.Join(dir, "mixed")
		// mpirun's MPMD form: one rank with --batch 8, the other 16.
		args := append(append(append([]string{"--allow-run-as-root", "--oversubscribe", "-np", "1", os.Args[0]}, train(run, 2)...),
			":", "-np", "1", os.Args[0]), train(run, 2, "--batch", "16")...)
		cmd := exec.Command(mpirun, args...)
		cmd.Env = append(os.Environ(), "GAN_VK_RUN_MAIN=1", "GAN_VK_EXIT_DIR="+exits)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("mpirun exited 0:\n%s", out)
		}
		noPanic(t, out)
		want := "rank 1 was started for another run than rank 0 (config.train.batch is 16 here, 8 on rank 0)"
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q line:\n%s", want, out)
		}
		failedRanks(t, exits)
		if _, err := os.Stat(filepath.Join(run, "config.json")); err == nil {
			t.Errorf("a run folder was written")
		}
	})
	t.Run("resume on another count", func(t *testing.T) {
		// The folder of a run trained alone: its config.json is enough,
		// since the count is checked before anything is built.
		alone := filepath.Join(dir, "alone")
		m, err := gan.DefaultModel("dcgan28", 1)
		if err != nil {
			t.Fatal(err)
		}
		cfg := run.Config{Train: gan.TrainConfig{Model: m, Batch: 8, LR: 2e-4, Beta1: 0.5, GSteps: 2, Seed: 1},
			Data: filepath.Join(dir, "images.idx"), Crop: "square", Steps: 2, Keep: 1}
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(alone, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(alone, "config.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := mpirunGankv(t, t.TempDir(), nil, "train", "--resume", alone).CombinedOutput()
		if err == nil {
			t.Fatalf("mpirun exited 0:\n%s", out)
		}
		noPanic(t, out)
		want := "was trained on 1 process(es) and this is one of 2: resume it with gan-vk train --resume " + alone + ", without mpirun"
		if n := strings.Count(string(out), want); n != 1 {
			t.Errorf("%q appears %d times, want once:\n%s", want, n, out)
		}
	})
}

// A --device list gives each process on a machine its entry.
func TestDeviceForRank(t *testing.T) {
	r := &ranks{launch: mpi.Launch{Size: 4, Rank: 3, LocalRank: 1, LocalSize: 2}}
	for _, c := range []struct {
		flag, want, err string
	}{{"0,1", "1", ""}, {"nvidia", "nvidia", ""}, {"0, 2", "2", ""},
		{"0,1,2", "", `--device "0,1,2" lists 3 devices for the 2 processes on this machine`}} {
		got, err := r.deviceFor(c.flag)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("--device %q: error %v, want %q", c.flag, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("--device %q gives local rank 1 %q (%v), want %q", c.flag, got, err, c.want)
		}
	}
	got, err := r.deviceFor("")
	if err != nil || got == "" {
		t.Errorf("no --device: %q, %v; want a device of the machine's", got, err)
	}
}

func TestJSONDiff(t *testing.T) {
	a := `{"config":{"train":{"batch":16,"lr":0.0002},"steps":2},"run":""}`
	b := `{"config":{"train":{"batch":8,"lr":0.0002},"steps":2,"keep":3},"run":"x"}`
	want := `config.keep is unset here, 3 on rank 0; config.train.batch is 16 here, 8 on rank 0; run is "" here, "x" on rank 0`
	if got := jsonDiff([]byte(a), []byte(b)); got != want {
		t.Errorf("jsonDiff = %q\nwant      %q", got, want)
	}
	if got := jsonDiff([]byte(a), []byte(a)); got != "" {
		t.Errorf("the same configuration differs: %q", got)
	}
}
