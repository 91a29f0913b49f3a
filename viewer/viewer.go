package viewer

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/live"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// GLFW must run on the process's main thread: main's goroutine starts
// there, and this keeps it there.
func init() { runtime.LockOSThread() }

// ErrNoDisplay says no window can be opened: no display, or no way to draw
// into a window with Vulkan.
var ErrNoDisplay = errors.New("no display found")

// Window is the viewer: a GLFW window whose swapchain lives on the device
// that trains. Open, then open the device with Extensions, Attach it, and
// Run the loop on the main goroutine. Everything but Live's requests
// happens on that goroutine.
type Window struct {
	win   *glfw.Window
	title string

	dev     *vk.Device
	sc      *vk.Swapchain
	painter *layers.Frame
	seq     *vk.Sequence
	frame   *vk.Buffer // the painted pixels, copied into the swapchain
	panel   *vk.Buffer // the panel's RGBA8 pixels, drawn on the host
	layout  layers.FrameLayout
	grid    *vk.Buffer // what seq was recorded with

	live    *live.Live
	wakeMu  sync.Mutex // held while waking the loop, and while Close marks GLFW as stopping
	awake   bool       // GLFW is up: the driver may wake the loop
	drawn   int        // the snapshot's Changes last drawn
	dirty   bool
	cols    int // the grid is cols×cols images
	help    bool
	paused  bool
	walking bool
	real    bool
	quit    bool
	message string
	titleAt time.Time
}

// Open starts GLFW and opens a window of width×height (screen coordinates)
// titled title. Without a display it returns an error wrapping ErrNoDisplay
// that says what to do.
func Open(title string, width, height int) (*Window, error) {
	if err := initGLFW(); err != nil {
		return nil, fmt.Errorf("%w (%v); run without --view, or under xvfb-run", ErrNoDisplay, oneLine(err))
	}
	if !glfw.VulkanSupported() {
		glfw.Terminate()
		return nil, fmt.Errorf("%w: GLFW cannot present with Vulkan here (no loader, or no surface extensions); run without --view", ErrNoDisplay)
	}
	glfw.WindowHint(glfw.ClientAPI, glfw.NoAPI)
	win, err := glfw.CreateWindow(width, height, title, nil, nil)
	if err != nil {
		glfw.Terminate()
		return nil, fmt.Errorf("%w: cannot open a window (%v); run without --view", ErrNoDisplay, oneLine(err))
	}
	w := &Window{win: win, title: title, cols: 8, dirty: true, awake: true}
	win.SetKeyCallback(w.onKey)
	win.SetCharCallback(w.onChar)
	win.SetFramebufferSizeCallback(func(*glfw.Window, int, int) { w.dirty = true })
	win.SetRefreshCallback(func(*glfw.Window) { w.dirty = true })
	return w, nil
}

// initGLFW starts GLFW. go-gl's Init returns nil when the display cannot
// be opened and writes GLFW's error to the standard logger instead: catch
// it there and return it.
func initGLFW() error {
	var logged bytes.Buffer
	flags := log.Flags()
	log.SetOutput(&logged)
	log.SetFlags(0)
	err := glfw.Init()
	log.SetOutput(os.Stderr)
	log.SetFlags(flags)
	if err == nil && logged.Len() > 0 {
		err = errors.New(strings.TrimPrefix(strings.TrimSpace(logged.String()), "PlatformError: "))
	}
	return err
}

// Extensions are the instance extensions the device needs to show this
// window (vk.Options.Present).
func (w *Window) Extensions() []string { return w.win.GetRequiredInstanceExtensions() }

// Attach makes the window's surface and swapchain on d, and what painting
// frames needs.
func (w *Window) Attach(d *vk.Device) error {
	// GLFW wants the VkInstance as a typed pointer, and hands back the
	// address of the VkSurfaceKHR it made.
	addr, err := w.win.CreateWindowSurface((*byte)(d.Instance()), nil)
	if err != nil {
		return fmt.Errorf("viewer: %w", err)
	}
	surface := **(**uint64)(unsafe.Pointer(&addr))
	fw, fh := w.win.GetFramebufferSize()
	if w.sc, err = d.NewSwapchain(surface, fw, fh); err != nil {
		return err
	}
	w.dev = d
	if w.painter, err = layers.NewFrame(d); err != nil {
		return err
	}
	if w.seq, err = d.NewSequence("viewer frame"); err != nil {
		return err
	}
	return nil
}

// Close destroys what Attach made, the window, and GLFW's state.
func (w *Window) Close() {
	w.wakeMu.Lock()
	w.awake = false
	w.wakeMu.Unlock()
	if w.seq != nil {
		w.seq.Close()
	}
	if w.frame != nil {
		w.frame.Close()
	}
	if w.panel != nil {
		w.panel.Close()
	}
	if w.painter != nil {
		w.painter.Close()
	}
	if w.sc != nil {
		w.sc.Close()
	}
	w.seq, w.frame, w.panel, w.painter, w.sc = nil, nil, nil, nil, nil
	if w.win != nil {
		w.win.Destroy()
		w.win = nil
		glfw.Terminate()
	}
}

// Run shows feed until done is closed. Closing the window, Esc or Q ask
// feed to quit (a training run then writes its checkpoint); the loop goes
// on drawing until the driver has finished and closed done.
func (w *Window) Run(feed *live.Live, done <-chan struct{}) error {
	w.live = feed
	feed.OnChange(w.wake)
	for {
		select {
		case <-done:
			return nil
		default:
		}
		if w.win.ShouldClose() && !w.quit {
			w.askQuit()
		}
		snap := feed.Snapshot()
		if snap.Paused && w.message == msgPausing {
			w.message = ""
		}
		if snap.Changes != w.drawn || w.dirty {
			if err := w.draw(snap); err != nil {
				return err
			}
			w.drawn, w.dirty = snap.Changes, false
		}
		if time.Since(w.titleAt) >= 250*time.Millisecond {
			w.win.SetTitle(title(w.title, snap))
			w.titleAt = time.Now()
		}
		glfw.WaitEventsTimeout(0.25)
	}
}

// wake ends the loop's wait for events; any goroutine may call it, also
// after Close (when it does nothing).
func (w *Window) wake() {
	w.wakeMu.Lock()
	defer w.wakeMu.Unlock()
	if w.awake {
		glfw.PostEmptyEvent()
	}
}

func (w *Window) askQuit() {
	w.quit = true
	if s := w.live.Snapshot(); s.Training {
		w.message = "writing a checkpoint, then closing"
	}
	w.dirty = true
	w.live.Quit()
}

const msgPausing = "pausing after this step"

// title is the window's title: the numbers a glance needs.
func title(name string, s live.Snapshot) string {
	t := fmt.Sprintf("%s · step %d", name, s.Step)
	if s.Total > 0 {
		t += fmt.Sprintf("/%d", s.Total)
	}
	t += fmt.Sprintf(" · epoch %.2f · %.1f img/s", s.Epoch, s.ImgPerS)
	if s.Elapsed > 0 {
		t += " · " + s.Elapsed.Round(time.Second).String()
	}
	switch {
	case s.Paused:
		t += " · paused"
	case s.Done:
		t += " · done"
	}
	return t
}

func (w *Window) onKey(_ *glfw.Window, key glfw.Key, _ int, action glfw.Action, mods glfw.ModifierKey) {
	if action != glfw.Press {
		return
	}
	s := w.live.Snapshot()
	w.message = ""
	switch key {
	case glfw.KeySpace:
		if !s.Training {
			w.message = "Space pauses training; this window is not training"
			break
		}
		w.paused = !w.paused
		w.live.Pause(w.paused)
		if w.paused {
			w.message = msgPausing
		}
	case glfw.KeyS:
		w.save(s)
	case glfw.KeyN:
		w.walking = false
		w.live.NewZ()
	case glfw.KeyI:
		w.walking = !w.walking
		w.live.Walk(w.walking)
	case glfw.KeyF:
		w.real = !w.real
		w.live.Real(w.real)
	case glfw.KeyH:
		w.help = !w.help
	case glfw.KeyEscape, glfw.KeyQ:
		if !w.quit {
			w.askQuit()
		}
	case glfw.KeyKPAdd:
		w.cols = min(8, w.cols+1)
	case glfw.KeyMinus, glfw.KeyKPSubtract:
		w.cols = max(1, w.cols-1)
	}
	w.dirty = true
}

// onChar catches '+', which is a shifted key on most layouts.
func (w *Window) onChar(_ *glfw.Window, r rune) {
	if r == '+' || r == '=' {
		w.cols = min(8, w.cols+1)
		w.dirty = true
	}
}

// save writes the grid shown as a PNG: into the run's samples/ as
// view_step_NNNNNN.png (numbered when that exists), or the working folder.
func (w *Window) save(s live.Snapshot) {
	if s.N == 0 {
		w.message = "no grid to save yet"
		return
	}
	n := w.shown(s)
	imgs := make([]float32, n*s.C*s.S*s.S)
	if err := s.Grid.Download(0, vk.Float32Bytes(imgs)); err != nil {
		w.message = "saving: " + err.Error()
		return
	}
	dir := "."
	if s.Run != "" {
		dir = filepath.Join(s.Run, "samples")
	}
	kind := "step"
	if s.Real {
		kind = "real"
	}
	path := filepath.Join(dir, fmt.Sprintf("view_%s_%06d.png", kind, s.GridStep))
	for i := 2; exists(path); i++ {
		path = filepath.Join(dir, fmt.Sprintf("view_%s_%06d_%d.png", kind, s.GridStep, i))
	}
	if err := gan.WritePNG(path, gan.Grid(imgs, n, s.C, s.S, w.cols)); err != nil {
		w.message = "saving: " + err.Error()
		return
	}
	w.message = "saved " + path
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// shown is how many images the grid shows: cols×cols, or fewer if the grid
// has fewer.
func (w *Window) shown(s live.Snapshot) int { return min(s.N, w.cols*w.cols) }

// draw paints a frame and presents it; a swapchain that went out of date
// is remade for the new framebuffer and the frame painted again.
func (w *Window) draw(s live.Snapshot) error {
	for try := 0; ; try++ {
		err := w.paint(s)
		if !errors.Is(err, vk.ErrOutOfDate) || try == 2 {
			return err
		}
		fw, fh := w.win.GetFramebufferSize()
		if err := w.sc.Resize(fw, fh); err != nil {
			return err
		}
	}
}

func (w *Window) paint(s live.Snapshot) error {
	fw, fh := w.win.GetFramebufferSize()
	if sw, sh, _ := w.sc.Extent(); sw != fw || sh != fh {
		if err := w.sc.Resize(fw, fh); err != nil {
			return err
		}
	}
	sw, sh, bgra := w.sc.Extent()
	if sw == 0 || sh == 0 {
		return nil // minimised: nothing to show
	}
	cs, _ := w.win.GetContentScale()
	scale := max(1, int(cs+0.5))
	n := 0
	if s.N > 0 {
		n = w.shown(s)
	}
	l := Layout(sw, sh, scale, n, w.cols, s.S)
	l.C = uint32(s.C)
	if bgra {
		l.BGRA = 1
	}
	var err error
	if w.frame, err = ensure(w.dev, w.frame, "viewer frame", 4*sw*sh); err != nil {
		return err
	}
	if w.panel, err = ensure(w.dev, w.panel, "viewer panel", 4*max(1, l.PanelPixels())); err != nil {
		return err
	}
	if l.PW > 0 && l.PH > 0 {
		img := image.NewRGBA(image.Rect(0, 0, int(l.PW/l.Scale), int(l.PH/l.Scale)))
		drawPanel(img, s, panelState{help: w.help, cols: w.cols, shown: n, message: w.message})
		if err := w.panel.Upload(0, img.Pix); err != nil {
			return err
		}
	}
	if l != w.layout || w.grid != s.Grid {
		if err := w.seq.Reset(); err != nil {
			return err
		}
		w.painter.Paint(w.seq, w.frame, s.Grid, w.panel, l)
		w.layout, w.grid = l, s.Grid
	}
	if err := w.seq.Submit(); err != nil {
		return err
	}
	return w.sc.Present(w.frame)
}

// ensure returns b when it holds size bytes, or a new buffer that does
// (the sequence is re-recorded whenever the layout changes, and a bigger
// frame changes it).
func ensure(d *vk.Device, b *vk.Buffer, name string, size int) (*vk.Buffer, error) {
	if b != nil && b.Size() >= size {
		return b, nil
	}
	if b != nil {
		b.Close()
	}
	return d.NewBuffer(name, size)
}

func oneLine(err error) string {
	s := err.Error()
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
