package main

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/viewer"
)

// TestViewNoDisplay: --view without a display says so in one line and
// exits non-zero before training starts.
func TestViewNoDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	run := filepath.Join(t.TempDir(), "run")
	cmd := gankv(tinyTrain(t, t.TempDir())(run, 2, "--view")...)
	out, err := cmd.CombinedOutput()
	if err == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("train --view without a display: %v, want exit 1\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "no display found") || !strings.Contains(lines[0], "xvfb-run") {
		t.Errorf("want one line naming the missing display and xvfb-run, got:\n%s", out)
	}
	if _, err := os.Stat(run); err == nil {
		t.Errorf("%s was made: training started", run)
	}
}

// xvfb starts an X server of its own for the test and returns its display.
// -noreset keeps what xrdb sets when its client disconnects.
func xvfb(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"Xvfb", "xdotool", "xwd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing (./build.sh deps installs xvfb, xdotool and x11-apps)", tool)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x960x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("Xvfb did not say its display: %v", err)
	}
	return ":" + strings.TrimSpace(line)
}

// syncBuffer is a bytes.Buffer a running process writes while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startViewer starts gan-vk train --view with args on display, with the
// validation layer on (a message fails the command), and waits for its
// window. The process is killed when the test ends.
func startViewer(t *testing.T, display string, args ...string) (win string, out *syncBuffer, exited chan error) {
	t.Helper()
	return startWindow(t, display, append([]string{"train", "--view"}, args...)...)
}

// startWindow starts gan-vk with args as startViewer does.
func startWindow(t *testing.T, display string, args ...string) (win string, out *syncBuffer, exited chan error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "GAN_VK_RUN_MAIN=1", "GAN_VK_VALIDATION=1", "DISPLAY="+display)
	out = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited = make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return window(t, display), out, exited
}

// exitsCleanly waits up to a minute for a gan-vk process to exit 0; what
// says what should have ended it.
func exitsCleanly(t *testing.T, exited chan error, out *syncBuffer, what string) {
	t.Helper()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s:\n%s", what, out.String())
	}
}

// x runs an X tool on display and returns its output.
func x(t *testing.T, display string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out
}

// window waits for gan-vk's window and returns its id.
func window(t *testing.T, display string) string {
	t.Helper()
	cmd := exec.Command("xdotool", "search", "--sync", "--name", "^gan-vk")
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	done := make(chan []byte, 1)
	go func() { out, _ := cmd.Output(); done <- out }()
	select {
	case out := <-done:
		return strings.Fields(string(out))[0]
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no gan-vk window within a minute")
	}
	return ""
}

func keys(t *testing.T, display, win string, names ...string) {
	t.Helper()
	x(t, display, "xdotool", append([]string{"windowfocus", "--sync", win, "key", "--delay", "50"}, names...)...)
}

// screenshot takes the whole screen (the window sits at its origin: there
// is no window manager).
func screenshot(t *testing.T, display string) *image.RGBA {
	t.Helper()
	m, err := decodeXWD(bytes.NewReader(x(t, display, "xwd", "-root", "-silent")))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestViewShowsTheGrid trains under --view with the validation layer on and
// compares a screenshot of the window with the sample PNG of the last step:
// the window shows what training produced. Q then closes it cleanly.
func TestViewShowsTheGrid(t *testing.T) {
	display := xvfb(t)
	run := filepath.Join(t.TempDir(), "run")
	win, out, exited := startViewer(t, display, "--steps", "6", "--gf", "8", "--df", "8", "--batch", "16",
		"--sample-every", "6", "--run", run)
	if !waitFor(90*time.Second, func() bool { return strings.Contains(out.String(), "the window stays open") }) {
		t.Fatalf("training under --view did not finish:\n%s", out.String())
	}
	want := readPNG(t, filepath.Join(run, "samples", "step_000006.png"))
	var shot *image.RGBA
	var bad, total int
	// The window shows the last grid within moments of the last step.
	waitFor(10*time.Second, func() bool {
		shot = screenshot(t, display)
		bad, total = compareGrid(shot, want, 1100, 720, 28)
		return bad*200 < total
	})
	if bad*200 >= total { // more than 0.5 % of the grid's pixels off by more than 2
		savePNG(t, shot)
		t.Fatalf("%d of the grid's %d pixels differ from samples/step_000006.png", bad, total)
	}
	// The panel has text on it, not just its background.
	lit := 0
	for y := 0; y < 200; y++ {
		for x := 800; x < 1100; x++ {
			if c := shot.RGBAAt(x, y); c.R > 0xc0 && c.G > 0xc0 {
				lit++
			}
		}
	}
	if lit < 200 {
		t.Errorf("the panel shows %d bright pixels of text; want its numbers", lit)
	}
	keys(t, display, win, "q")
	exitsCleanly(t, exited, out, "Q did not close the window")
}

// compareGrid maps each pixel of the grid's place in a w×h window back to
// the grid PNG as the frame shader does, and counts pixels more than 2 off.
func compareGrid(shot *image.RGBA, want image.Image, w, h, s int) (bad, total int) {
	return compareGridAt(shot, want, viewer.Layout(w, h, 1, 64, 8, s))
}

// compareGridAt is compareGrid for the grid's place in layout l.
func compareGridAt(shot *image.RGBA, want image.Image, l layers.FrameLayout) (bad, total int) {
	lw, lh := want.Bounds().Dx(), want.Bounds().Dy()
	for y := int(l.GY); y < int(l.GY+l.GH); y++ {
		for x := int(l.GX); x < int(l.GX+l.GW); x++ {
			lx, ly := (x-int(l.GX))*lw/int(l.GW), (y-int(l.GY))*lh/int(l.GH)
			r, _, _, _ := want.At(lx, ly).RGBA()
			got := shot.RGBAAt(x, y)
			if d := int(got.R) - int(r>>8); d > 2 || d < -2 || got.R != got.G || got.G != got.B {
				bad++
			}
			total++
		}
	}
	return bad, total
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// savePNG keeps a failing screenshot for a person to look at.
func savePNG(t *testing.T, m image.Image) {
	p := filepath.Join(os.TempDir(), fmt.Sprintf("gan-vk-%s.png", t.Name()))
	if f, err := os.Create(p); err == nil {
		png.Encode(f, m)
		f.Close()
		t.Logf("screenshot: %s", p)
	}
}

// TestViewResizeKeysAndQuit resizes the window and presses every key while
// training runs under the validation layer: training goes on (and holds
// while paused), S saves a grid, and Esc stops with a checkpoint that a
// later run resumes from.
func TestViewResizeKeysAndQuit(t *testing.T) {
	display := xvfb(t)
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	win, out, exited := startViewer(t, display, "--steps", "100000", "--gf", "8", "--df", "8", "--batch", "16",
		"--sample-every", "0", "--checkpoint-every", "0", "--checkpoint-minutes", "0", "--run", run)
	training := func(what string) {
		t.Helper()
		n := metricLines(run)
		if !waitFor(30*time.Second, func() bool { return metricLines(run) >= n+3 }) {
			t.Fatalf("%s: training stopped at %d steps\n%s", what, n, out.String())
		}
	}
	training("start")
	for _, size := range [][2]int{{640, 900}, {1, 1}, {180, 120}, {1000, 600}} {
		x(t, display, "xdotool", "windowsize", "--sync", win, fmt.Sprint(size[0]), fmt.Sprint(size[1]))
		training(fmt.Sprintf("resized to %d×%d", size[0], size[1]))
	}
	// Hidden (what minimising is without a window manager), then back.
	x(t, display, "xdotool", "windowunmap", "--sync", win)
	training("hidden")
	x(t, display, "xdotool", "windowmap", "--sync", win)
	training("shown again")
	keys(t, display, win, "h", "minus", "minus", "plus", "KP_Add", "f", "n", "f", "i", "h")
	training("after the keys")

	keys(t, display, win, "space")
	paused := func() bool { return strings.Contains(string(x(t, display, "xdotool", "getwindowname", win)), "paused") }
	if !waitFor(30*time.Second, paused) {
		t.Fatalf("Space did not pause training (title %q)", x(t, display, "xdotool", "getwindowname", win))
	}
	n := metricLines(run)
	time.Sleep(1500 * time.Millisecond)
	if m := metricLines(run); m != n {
		t.Errorf("paused, training went on from %d to %d steps", n, m)
	}
	keys(t, display, win, "s")
	if !waitFor(10*time.Second, func() bool {
		saved, _ := filepath.Glob(filepath.Join(run, "samples", "view_step_*.png"))
		return len(saved) == 1
	}) {
		t.Errorf("S saved no samples/view_step_*.png")
	}
	keys(t, display, win, "space")
	training("resumed")

	keys(t, display, win, "Escape")
	exitsCleanly(t, exited, out, "Esc did not stop training")
	var step int
	i := strings.LastIndex(out.String(), "stopped at step")
	if _, err := fmt.Sscanf(out.String()[max(i, 0):], "stopped at step %d", &step); i < 0 || err != nil {
		t.Fatalf("no 'stopped at step' line:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(run, "checkpoints", fmt.Sprintf("step_%09d.safetensors", step))); err != nil {
		t.Fatalf("no checkpoint of step %d: %v", step, err)
	}
	resume := gankv("train", "--resume", run, "--steps", fmt.Sprint(step+2), "--quiet")
	if b, err := resume.CombinedOutput(); err != nil || !strings.Contains(string(b), fmt.Sprintf("trained %d steps", step+2)) {
		t.Fatalf("resuming after Esc: %v\n%s", err, b)
	}
}

// TestViewCloseButton closes the window as a window manager's close button
// does while training runs: training stops with a checkpoint, and exits 0.
func TestViewCloseButton(t *testing.T) {
	display := xvfb(t)
	xclose := filepath.Join(t.TempDir(), "xclose")
	if b, err := exec.Command("go", "build", "-o", xclose, "./testdata/xclose").CombinedOutput(); err != nil {
		t.Fatalf("building testdata/xclose: %v\n%s", err, b)
	}
	run := filepath.Join(t.TempDir(), "run")
	win, out, exited := startViewer(t, display, "--steps", "100000", "--gf", "8", "--df", "8", "--batch", "16",
		"--sample-every", "0", "--checkpoint-every", "0", "--checkpoint-minutes", "0", "--run", run)
	if !waitFor(30*time.Second, func() bool { return metricLines(run) >= 3 }) {
		t.Fatalf("no training:\n%s", out.String())
	}
	x(t, display, xclose, win)
	exitsCleanly(t, exited, out, "closing the window did not stop training")
	files, _ := filepath.Glob(filepath.Join(run, "checkpoints", "*.safetensors"))
	if !strings.Contains(out.String(), "stopped at step") || len(files) != 1 {
		t.Fatalf("closing the window left %d checkpoints:\n%s", len(files), out.String())
	}
}

// TestViewCommand opens gan-vk view on a finished run (the window shows the
// checkpoint's grid, which is the run's last sample PNG), then follows the
// run while another process trains it further.
func TestViewCommand(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	train := tinyTrain(t, dir)
	if b, err := gankv(train(run, 4, "--sample-every", "4")...).CombinedOutput(); err != nil {
		t.Fatalf("train: %v\n%s", err, b)
	}
	// Bad targets fail before any window opens.
	for _, bad := range [][]string{{"view"}, {"view", filepath.Join(dir, "nothing")}, {"view", dir}} {
		b, err := gankv(bad...).CombinedOutput()
		if err == nil || len(strings.Split(strings.TrimSpace(string(b)), "\n")) > 2 {
			t.Errorf("gan-vk %s: %v\n%s", strings.Join(bad[1:], " "), err, b)
		}
	}
	display := xvfb(t)
	win, out, exited := startWindow(t, display, "view", run)
	shows := func(png string) bool {
		want := readPNG(t, filepath.Join(run, "samples", png))
		ok := waitFor(30*time.Second, func() bool {
			bad, total := compareGrid(screenshot(t, display), want, 1100, 720, 28)
			return bad*200 < total
		})
		return ok
	}
	if !shows("step_000004.png") {
		savePNG(t, screenshot(t, display))
		t.Fatalf("gan-vk view does not show the run's last grid\n%s", out.String())
	}
	if b, err := gankv("train", "--resume", run, "--steps", "8", "--sample-every", "8", "--quiet").CombinedOutput(); err != nil {
		t.Fatalf("training on: %v\n%s", err, b)
	}
	if !shows("step_000008.png") {
		savePNG(t, screenshot(t, display))
		t.Fatalf("gan-vk view did not follow the run to step 8\n%s", out.String())
	}
	if name := string(x(t, display, "xdotool", "getwindowname", win)); !strings.Contains(name, "step 8") {
		t.Errorf("the title %q does not say step 8", name)
	}
	quit := func() {
		t.Helper()
		keys(t, display, win, "q")
		exitsCleanly(t, exited, out, "Q did not close gan-vk view")
	}
	quit()

	// One checkpoint, named: its own grid, though the run has newer ones.
	win, out, exited = startWindow(t, display, "view", filepath.Join(run, "checkpoints", "step_000000004.safetensors"))
	if !shows("step_000004.png") {
		savePNG(t, screenshot(t, display))
		t.Fatalf("gan-vk view CHECKPOINT does not show its grid\n%s", out.String())
	}
	quit()
}

// TestViewHiDPI runs the viewer on a display of 192 dpi (Xft.dpi, which is
// where GLFW reads X11's content scale): the panel is drawn at twice the
// size, and the grid still matches the run's PNG in the space left.
func TestViewHiDPI(t *testing.T) {
	display := xvfb(t)
	xrdb := exec.Command("xrdb", "-nocpp", "-merge")
	xrdb.Env = append(os.Environ(), "DISPLAY="+display)
	xrdb.Stdin = strings.NewReader("Xft.dpi: 192\n")
	if b, err := xrdb.CombinedOutput(); err != nil {
		t.Fatalf("xrdb (./build.sh deps installs x11-xserver-utils): %v\n%s", err, b)
	}
	run := filepath.Join(t.TempDir(), "run")
	win, out, exited := startViewer(t, display, "--steps", "2", "--gf", "8", "--df", "8", "--batch", "16", "--run", run)
	if !waitFor(90*time.Second, func() bool { return strings.Contains(out.String(), "the window stays open") }) {
		t.Fatalf("training under --view did not finish:\n%s", out.String())
	}
	want := readPNG(t, filepath.Join(run, "samples", "step_000002.png"))
	l := viewer.Layout(1100, 720, 2, 64, 8, 28)
	var shot *image.RGBA
	var bad, total int
	waitFor(10*time.Second, func() bool {
		shot = screenshot(t, display)
		bad, total = compareGridAt(shot, want, l)
		return bad*200 < total
	})
	if bad*200 >= total {
		savePNG(t, shot)
		t.Fatalf("%d of the grid's %d pixels differ from samples/step_000002.png at scale 2", bad, total)
	}
	// basicfont's glyphs are 13 pixels high; at scale 2 a line of text is
	// 26: count the rows of the panel's first lines that hold bright text.
	rows := 0
	for y := 0; y < 60; y++ {
		for x := int(l.PX); x < int(l.PX+l.PW); x++ {
			if c := shot.RGBAAt(x, y); c.R > 0xc0 && c.G > 0xc0 {
				rows++
				break
			}
		}
	}
	if rows < 14 { // "gan-vk" alone spans 9 rows at scale 1 and 18 at scale 2
		savePNG(t, shot)
		t.Errorf("the first line of the panel spans %d rows; at scale 2 it spans at least 14", rows)
	}
	keys(t, display, win, "q")
	exitsCleanly(t, exited, out, "Q did not close the window")
}
