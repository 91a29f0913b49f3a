package main

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTrainAndSample trains a tiny model through the command line with the
// validation layer on, resumes it, and samples from the result.
func TestTrainAndSample(t *testing.T) {
	t.Setenv("GAN_VK_VALIDATION", "1")
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	tiny := []string{"--steps", "3", "--gf", "4", "--df", "4", "--batch", "8", "--run", run, "--sample-every", "2"}
	// The first run augments and mirrors; its resume reads them back from config.json.
	code, stdout, stderr := runCLI(t, append([]string{"train", "--augment", "translation,color", "--augment-p", "0.5", "--mirror"}, tiny...)...)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"dcgan28 (1×28×28)", "fashion-mnist", "augmented (color,translation at p 0.5) and mirrored",
		"step 3/3", " p 0.500 ", "trained 3 steps"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("train's output lacks %q:\n%s", want, stdout)
		}
	}
	for _, want := range []string{`"augment":"color,translation"`, `"augment_p":0.5`, `"mirror":true`} {
		if b := readFile(t, filepath.Join(run, "config.json")); !strings.Contains(string(bytes.Join(bytes.Fields(b), nil)), want) {
			t.Errorf("config.json lacks %s:\n%s", want, b)
		}
	}
	if b := readFile(t, filepath.Join(run, "metrics.jsonl")); !strings.Contains(string(b), `"augment_p":0.5,"r_t":`) {
		t.Errorf("metrics.jsonl lacks the augmentation's p and r_t:\n%s", b)
	}
	for _, f := range []string{"config.json", "metrics.jsonl", "samples/real.png", "samples/step_000002.png",
		"samples/step_000003.png", "checkpoints/step_000000003.safetensors"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("the run folder lacks %s", f)
		}
	}
	code, stdout, stderr = runCLI(t, "train", "--resume", run, "--steps", "4", "--quiet")
	if code != 0 || !strings.Contains(stdout, "trained 4 steps") {
		t.Fatalf("resume: exit %d\n%s\n%s", code, stdout, stderr)
	}
	grid := filepath.Join(dir, "grid.png")
	code, stdout, stderr = runCLI(t, "sample", "--checkpoint", run, "--n", "6", "--grid", grid, "--out", filepath.Join(dir, "each"))
	if code != 0 || !strings.Contains(stdout, "(step 4, ema weights)") {
		t.Fatalf("sample: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "each")); len(ents) != 6 {
		t.Errorf("--out wrote %d files, want 6", len(ents))
	}
	if _, err := os.Stat(grid); err != nil {
		t.Errorf("--grid: %v", err)
	}
	batchGrid := filepath.Join(dir, "batch.png")
	code, stdout, stderr = runCLI(t, "sample", "--checkpoint", run, "--n", "6", "--bn", "batch", "--grid", batchGrid)
	if code != 0 {
		t.Fatalf("sample --bn batch: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if a, b := readFile(t, grid), readFile(t, batchGrid); bytes.Equal(a, b) {
		t.Errorf("--bn batch drew the same grid as --bn eval")
	}
	rawGrid := filepath.Join(dir, "raw.png")
	code, stdout, stderr = runCLI(t, "sample", "--checkpoint", run, "--n", "6", "--weights", "raw", "--grid", rawGrid)
	if code != 0 || !strings.Contains(stdout, "raw weights") {
		t.Fatalf("sample --weights raw: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if a, b := readFile(t, grid), readFile(t, rawGrid); bytes.Equal(a, b) {
		t.Errorf("--weights raw drew the same grid as the EMA generator")
	}
	if code, _, stderr = runCLI(t, "sample", "--checkpoint", run, "--weights", "best"); code != 2 || !strings.Contains(stderr, "want raw or ema") {
		t.Errorf("--weights best: exit %d, %s", code, stderr)
	}
	// A run without an EMA generator samples its raw one, and refuses --weights ema.
	noEMA := filepath.Join(dir, "no-ema")
	tiny[len(tiny)-3] = noEMA
	if code, stdout, stderr = runCLI(t, append([]string{"train", "--ema", "0", "--quiet"}, tiny...)...); code != 0 {
		t.Fatalf("train --ema 0: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, stderr = runCLI(t, "sample", "--checkpoint", noEMA, "--n", "4", "--grid", rawGrid); code != 0 || !strings.Contains(stdout, "raw weights") {
		t.Errorf("sample of a run without EMA: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "sample", "--checkpoint", noEMA, "--weights", "ema")
	if code != 2 || !strings.Contains(stderr, "keeps no EMA generator") {
		t.Errorf("--weights ema on a run without one: exit %d, %s", code, stderr)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTrainBadInput: each mistake gets one clear line and the right exit code.
func TestTrainBadInput(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	os.MkdirAll(existing, 0o755)
	os.WriteFile(filepath.Join(existing, "config.json"), []byte("{}"), 0o644)
	corrupt := filepath.Join(dir, "corrupt.idx")
	os.WriteFile(corrupt, []byte{0, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3}, 0o644)
	emptyDir := filepath.Join(dir, "empty")
	os.MkdirAll(emptyDir, 0o755)
	badCkpt := filepath.Join(dir, "bad.safetensors")
	os.WriteFile(badCkpt, []byte("not a checkpoint at all"), 0o644)
	for _, c := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"unknown preset", []string{"train", "--preset", "dcgan48"}, 2, `unknown preset "dcgan48"`},
		{"batch 0", []string{"train", "--batch", "0"}, 2, "batch 0 must be at least 1"},
		{"negative lr", []string{"train", "--lr", "-1"}, 2, "learning rate -1 must be positive"},
		{"dropout on dcgan64", []string{"train", "--preset", "dcgan64", "--dropout", "0.3"}, 2, "dcgan64's has none"},
		{"bad crop", []string{"train", "--crop", "round"}, 2, `--crop "round"`},
		{"missing data", []string{"train", "--data", filepath.Join(dir, "nowhere")}, 1, "no such file or directory"},
		{"corrupt data", []string{"train", "--data", corrupt, "--run", filepath.Join(dir, "r1")}, 1, "truncated"},
		{"empty folder", []string{"train", "--data", emptyDir, "--run", filepath.Join(dir, "r2")}, 1, "holds no .jpg"},
		{"run exists", []string{"train", "--run", existing}, 2, "already holds a run"},
		{"batch beyond the device", []string{"train", "--preset", "dcgan64", "--batch", "2048", "--run", filepath.Join(dir, "r3")}, 1,
			"is too large for"},
		{"resume changes lr", []string{"train", "--resume", existing, "--lr", "0.1"}, 2, "--lr cannot be given with --resume"},
		{"negative lr-d", []string{"train", "--lr-d", "-1"}, 2, "lr-d -1 and lr-g 0 must be positive"},
		{"size not a power of two", []string{"train", "--size", "100"}, 2, "size 100: give a power of two from 32 to 256"},
		{"size against preset", []string{"train", "--preset", "dcgan128", "--size", "64"}, 2, "size 64: dcgan128 makes 128×128 images"},
		{"size with unknown preset", []string{"train", "--preset", "dcgan48", "--size", "64"}, 2, `unknown preset "dcgan48"`},
		{"unknown loss", []string{"train", "--loss", "wasserstein"}, 2, `--loss: "wasserstein" is not a loss: use bce or hinge`},
		{"sn on dcgan28", []string{"train", "--preset", "dcgan28", "--sn"}, 2, "are for the DCGAN family (dcgan32 to dcgan256), not dcgan28"},
		{"unknown d-norm", []string{"train", "--size", "32", "--d-norm", "layer"}, 2, `--d-norm: "layer" is not a normalisation: use bn or none`},
		{"d-steps 0", []string{"train", "--d-steps", "0"}, 2, "--d-steps 0: give at least 1"},
		{"d-steps beyond", []string{"train", "--d-steps", "17"}, 2, "d-steps 17 and g-steps 2 must be in [1, 16]"},
		{"resume adds sn", []string{"train", "--resume", existing, "--sn"}, 2, "--sn cannot be given with --resume"},
		{"unknown augmentation", []string{"train", "--augment", "color,rotation"}, 2, `"rotation" is not a transform`},
		{"augment-p over 1", []string{"train", "--augment", "cutout", "--augment-p", "1.5"}, 2, `--augment-p "1.5": give a probability in [0, 1]`},
		{"augment-p not a number", []string{"train", "--augment-p", "sometimes"}, 2, `--augment-p "sometimes"`},
		{"resume adds augmentation", []string{"train", "--resume", existing, "--augment", "color"}, 2, "--augment cannot be given with --resume"},
		{"resume adds mirror", []string{"train", "--resume", existing, "--mirror"}, 2, "--mirror cannot be given with --resume"},
		{"resume no run", []string{"train", "--resume", dir}, 1, "not a gan-vk run folder"},
		{"resume corrupt config", []string{"train", "--resume", existing}, 1, "config.json"},
		{"sample no checkpoint flag", []string{"sample"}, 2, "--checkpoint is required"},
		{"sample bad file", []string{"sample", "--checkpoint", badCkpt}, 1, "truncated or corrupt"},
		{"sample empty run", []string{"sample", "--checkpoint", emptyDir}, 1, "no checkpoint"},
		{"sample n", []string{"sample", "--checkpoint", badCkpt, "--n", "0"}, 2, "--n 0"},
		{"sample bn", []string{"sample", "--checkpoint", badCkpt, "--bn", "train"}, 2, `--bn "train"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, stdout, stderr)
			}
			if !strings.Contains(stderr, c.err) {
				t.Errorf("stderr lacks %q:\n%s", c.err, stderr)
			}
			first := strings.SplitN(strings.TrimSpace(stderr), "\n", 2)[0]
			if !strings.Contains(first, c.err) {
				t.Errorf("the first line does not say what was wrong: %q", first)
			}
			if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
				t.Errorf("a panic reached the user:\n%s", stderr)
			}
		})
	}
	for _, r := range []string{"r1", "r2", "r3"} { // a run that could not start leaves no folder
		if _, err := os.Stat(filepath.Join(dir, r)); err == nil {
			t.Errorf("a failed start left the run folder %s", r)
		}
	}
}

// TestTrainImageFolder trains dcgan64 on a folder of JPEGs (colour, not
// square, one of them broken) and resumes it: the second run reads the
// decoded images from the cache.
func TestTrainImageFolder(t *testing.T) {
	t.Setenv("GAN_VK_VALIDATION", "1")
	dir := t.TempDir()
	faces := filepath.Join(dir, "img_align_celeba")
	os.MkdirAll(faces, 0o755)
	for i := 0; i < 12; i++ {
		m := image.NewRGBA(image.Rect(0, 0, 60, 80))
		for p := range m.Pix {
			m.Pix[p] = byte(p*7 + i*31)
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, m, nil); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(faces, fmt.Sprintf("%06d.jpg", i)), b.Bytes(), 0o644)
	}
	os.WriteFile(filepath.Join(faces, "broken.jpg"), []byte("truncated"), 0o644)
	run := filepath.Join(dir, "runs", "celeba")
	code, stdout, stderr := runCLI(t, "train", "--data", faces, "--crop", "celeba", "--gf", "2", "--df", "2", "--batch", "4",
		"--steps", "2", "--run", run)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"dcgan64 (3×64×64)", "decoding 13 images", "skipping", "broken.jpg",
		"12 of 12 images are smaller than 64×64 and are upscaled", "trained 2 steps"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "runs", ".cache")); len(ents) != 1 {
		t.Errorf("the cache beside the runs holds %d files, want 1", len(ents))
	}
	code, stdout, stderr = runCLI(t, "train", "--resume", run, "--steps", "3")
	if code != 0 || !strings.Contains(stdout, "from the cache") {
		t.Fatalf("resume: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Another size of the family: the images decoded again at its side,
	// no longer upscaled; its generator samples at that side.
	run32 := filepath.Join(dir, "runs", "celeba32")
	code, stdout, stderr = runCLI(t, "train", "--data", faces, "--size", "32", "--gf", "1", "--df", "1", "--batch", "4",
		"--steps", "1", "--run", run32)
	if code != 0 || !strings.Contains(stdout, "dcgan32 (3×32×32)") || strings.Contains(stdout, "upscaled") {
		t.Fatalf("train --size 32: exit %d\n%s\n%s", code, stdout, stderr)
	}
	grid := filepath.Join(dir, "grid32.png")
	if code, stdout, stderr = runCLI(t, "sample", "--checkpoint", run32, "--n", "4", "--grid", grid); code != 0 {
		t.Fatalf("sample: exit %d\n%s\n%s", code, stdout, stderr)
	}
	f, err := os.Open(grid)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || (cfg.Height-2)%34 != 0 || (cfg.Width-2)%34 != 0 {
		t.Errorf("a grid of 32×32 samples (2 pixels apart) is %d×%d (%v)", cfg.Width, cfg.Height, err)
	}
}

// TestMain lets a test run the command in a process of its own: with
// GAN_VK_RUN_MAIN=1 the test binary is gan-vk.
//
// Every test, and every process it starts, keeps its tuned kernels in a
// cache folder of its own, never the user's.
func TestMain(m *testing.M) {
	if os.Getenv("GAN_VK_RUN_MAIN") == "1" {
		os.Exit(runMain())
	}
	cache, err := os.MkdirTemp("", "gan-vk-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	os.Setenv("GAN_VK_PROGRAM", "gan-vk") // the resume lines the tests look for
	code := m.Run()
	os.RemoveAll(cache)
	os.Exit(code)
}

// runMain is the test binary run as gan-vk. With GAN_VK_EXIT_DIR (the
// tests of mpirun's ranks) it writes its pid there when it starts and its
// exit code when it ends, per rank: pid-rank0, exit-rank0.
func runMain() int {
	dir := os.Getenv("GAN_VK_EXIT_DIR")
	name := func(what string) string {
		return filepath.Join(dir, what+"-rank"+os.Getenv("OMPI_COMM_WORLD_RANK"))
	}
	if dir != "" {
		os.WriteFile(name("pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	code := execute(os.Args[1:], os.Stdout, os.Stderr)
	if dir != "" {
		os.WriteFile(name("exit"), []byte(strconv.Itoa(code)), 0o644)
	}
	return code
}

// TestTrainSIGTERM stops a training process with SIGTERM: it finishes the
// step, writes a checkpoint, says how to resume and exits 0.
func TestTrainSIGTERM(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	cmd := exec.Command(os.Args[0], "train", "--steps", "100000", "--gf", "4", "--df", "4", "--batch", "8",
		"--run", run, "--sample-every", "0", "--checkpoint-every", "0")
	cmd.Env = append(os.Environ(), "GAN_VK_RUN_MAIN=1", "GAN_VK_VALIDATION=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for { // wait until it is training
		b, _ := os.ReadFile(filepath.Join(run, "metrics.jsonl"))
		if bytes.Count(b, []byte("\n")) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no training after 60 s:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s\n%s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "continue with: gan-vk train --resume "+run) {
		t.Errorf("no line saying how to resume:\n%s", out.String())
	}
	ckpts, _ := filepath.Glob(filepath.Join(run, "checkpoints", "step_*.safetensors"))
	if len(ckpts) != 1 {
		t.Fatalf("checkpoints after SIGTERM: %v", ckpts)
	}
	code, stdout, stderr := runCLI(t, "sample", "--checkpoint", run, "--grid", filepath.Join(dir, "g.png"))
	if code != 0 {
		t.Errorf("the checkpoint SIGTERM left does not sample: %d\n%s\n%s", code, stdout, stderr)
	}
}
