package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gan-vk/gan-vk/gan/live"
	"github.com/gan-vk/gan-vk/gan/run"
	"github.com/gan-vk/gan-vk/viewer"
	"github.com/gan-vk/gan-vk/vk"
)

const viewSynopsis = `view [--device D] [--weights ema|raw] RUN|CHECKPOINT

Opens the viewer on a run folder or a checkpoint: the generator's sample
grid from the checkpoint (the same fixed z as the run's sample PNGs), and
the run's loss and D(x), D(G(z)) curves from metrics.jsonl. On a run folder
that another process is training it follows along: a newer checkpoint is
loaded, and a sample PNG newer than the checkpoint is shown as it appears.

Keys:

` + viewer.Keys

func runView(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("view", viewSynopsis, stdout, stderr)
	device := fs.String("device", "", "Vulkan device: an index or part of a name")
	weights := weightsFlag(fs)
	var path string
	if len(args) > 0 && len(args[len(args)-1]) > 0 && args[len(args)-1][0] != '-' {
		path, args = args[len(args)-1], args[:len(args)-1]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if path == "" {
		return &usageError{"give a run folder or a checkpoint file to view"}
	}
	target, err := live.OpenViewTarget(path)
	if err != nil {
		return err
	}
	if target.Weights, err = parseWeights(*weights, target.Config); err != nil {
		return err
	}
	w, d, err := openViewer("gan-vk view · "+path, *device)
	if err != nil {
		return err
	}
	defer closeDevice(d, stderr, &err)
	defer w.Close()
	m := target.Config.Model
	feed, err := live.New(d, target.Run, m.Channels, m.Size())
	if err != nil {
		return err
	}
	defer feed.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed.OnQuit = cancel
	defer stopOnSignal(cancel)()
	done := make(chan struct{})
	var ferr error
	go func() {
		defer close(done)
		ferr = live.Follow(ctx, d, target, feed)
	}()
	if err := w.Run(feed, done); err != nil {
		cancel()
		<-done
		return err
	}
	return ferr
}

// openViewer opens the window, then the device with what the window needs,
// and attaches the two. Without a display it fails before anything else.
func openViewer(title, device string) (*viewer.Window, *vk.Device, error) {
	w, err := viewer.Open(title, 1100, 720)
	if err != nil {
		return nil, nil, err
	}
	d, err := vk.Open(vk.Options{Device: device, Validation: os.Getenv("GAN_VK_VALIDATION") == "1", Present: w.Extensions()})
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	if err := w.Attach(d); err != nil {
		w.Close()
		d.Close()
		return nil, nil, err
	}
	return w, d, nil
}

// stopOnSignal calls stop on each Ctrl-C or SIGTERM until the function it
// returns is called.
func stopOnSignal(stop func()) func() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		for range sigs {
			stop()
		}
	}()
	return func() { signal.Stop(sigs) }
}

// trainWithViewer trains r in a goroutine while w shows it on the main
// one. When training ends at its last step the window stays open on the
// finished run (following its folder, so N and I still explore) until it
// is closed; a stop (Q, Esc, closing the window, a signal) ends training
// with a checkpoint first.
func trainWithViewer(ctx context.Context, cancel func(), w *viewer.Window, d *vk.Device, r *run.Run, resume bool, out *progress) (int, error) {
	m := r.Config.Train.Model
	feed, err := live.New(d, r.Dir, m.Channels, m.Size())
	if err != nil {
		return 0, err
	}
	defer feed.Close()
	feed.OnQuit = cancel
	r.Watch = feed.Watch
	done := make(chan struct{})
	var step int
	var terr error
	go func() {
		defer close(done)
		step, terr = r.Train(ctx, d, resume)
		if terr != nil || ctx.Err() != nil {
			return
		}
		out.finish()
		out.log("trained %d steps; the window stays open on the run: close it (or press Q) to exit", step)
		feed.SetDone(fmt.Sprintf("trained %d steps; Q closes", step))
		terr = live.Follow(ctx, d, live.ViewTarget{Run: r.Dir, Config: r.Config.Train}, feed)
	}()
	if err := w.Run(feed, done); err != nil {
		cancel()
		<-done
		return step, errors.Join(err, terr)
	}
	return step, terr
}
