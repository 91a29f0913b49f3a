// Command gan-vk trains DCGANs with every tensor op a Vulkan compute shader.
//
//	gan-vk train      train a DCGAN (Fashion-MNIST by default), or --resume a run
//	gan-vk sample     draw images from a checkpoint
//	gan-vk score      score generated images against the training data
//	gan-vk interpolate walk between latent points, or do arithmetic on z
//	gan-vk timelapse  make an animated GIF of a run's sample grids as it learned
//	gan-vk complete   fill in the missing part of images by searching z
//	gan-vk export     write a trained generator as an ONNX model
//	gan-vk view       open the viewer on a run folder or checkpoint
//	gan-vk devices    list the Vulkan devices and mark the one training would use
//	gan-vk bench      time training steps on synthetic data; --profile shows where the time goes
//	gan-vk tune       find the fastest kernels for each pass of a step on the device
//
// Run "gan-vk help" for the commands and "gan-vk <command> --help" for flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/vk"
)

// command is one subcommand. run gets the arguments after its name and
// returns an error for the user; a *usageError exits 2, anything else 1.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"train", "train a DCGAN (Fashion-MNIST by default), or --resume a run", runTrain},
		{"sample", "draw images from a checkpoint", runSample},
		{"score", "score generated images against the training data: FD, KID, precision/recall, class histogram", runScore},
		{"interpolate", "walk between latent points (a GIF or PNGs), or do the DCGAN paper's arithmetic on z", runInterpolate},
		{"timelapse", "make an animated GIF of a run's sample grids as it learned", runTimelapse},
		{"complete", "fill in the missing part of images by searching the generator's z (Yeh et al. 2017)", runComplete},
		{"export", "write a trained generator as an ONNX model (z in, images out)", runExport},
		{"view", "open the viewer on a run folder or checkpoint (following a run being trained)", runView},
		{"devices", "list the Vulkan devices and mark the one training would use", runDevices},
		{"bench", "time training steps on synthetic data; --profile shows where the time goes", runBench},
		{"tune", "find the fastest kernels for each pass of a training step on the device, for train and bench", runTune},
	}
}

// usageError is a mistake on the command line; the message says what to fix.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}

// program is how the user started gan-vk, as the lines that say what to
// run next name it: GAN_VK_PROGRAM where a wrapper sets it (./build.sh
// run), else the path typed (bin/gan-vk), else gan-vk, found on PATH.
func program() string {
	if p := os.Getenv("GAN_VK_PROGRAM"); p != "" {
		return p
	}
	if strings.ContainsRune(os.Args[0], filepath.Separator) {
		return os.Args[0]
	}
	return "gan-vk"
}

func execute(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "help":
		if len(args) > 1 {
			return execute([]string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		return report(stderr, name, c.run(args[1:], stdout, stderr))
	}
	fmt.Fprintf(stderr, "gan-vk: unknown command %q\nRun 'gan-vk help' for the commands.\n", name)
	return 2
}

// report prints what a command's error says, once, and returns the exit
// code: 0, 2 for a usage error, 1 otherwise.
func report(stderr io.Writer, name string, err error) int {
	var ue *usageError
	var reported exitCode
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &reported): // said already (a rank of a data-parallel run)
		return int(reported)
	case errors.Is(err, gan.ErrAnotherRank): // another rank of the run said why
		return 1
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "gan-vk %s: %s\nRun 'gan-vk %s --help' for usage.\n", name, ue.msg, name)
		return 2
	}
	fmt.Fprintf(stderr, "gan-vk %s: %s%s\n", name, oneLine(err), hint(err))
	return 1
}

// exitCode is an error already reported: the command exits with it.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func usage(w io.Writer) {
	fmt.Fprintf(w, "gan-vk trains DCGANs on any Vulkan device, every tensor op a compute shader.\n\nUsage:\n\n\tgan-vk <command> [flags]\n\nCommands:\n\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "\t%-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'gan-vk <command> --help' for a command's flags.\n")
}

// newFlags makes a command's flag set: errors come back to run, which prints
// them once; --help prints the usage to stdout.
func newFlags(name, synopsis string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("gan-vk "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "Usage: gan-vk %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args into fs, turning a flag error into a usageError.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// hint is what to try after a device error, for any command.
func hint(err error) string {
	switch {
	case errors.Is(err, vk.ErrOutOfDeviceMemory):
		return "; the device ran out of memory: try a smaller --batch (or --gf and --df), or a device with more memory (gan-vk devices)"
	case errors.Is(err, vk.ErrDeviceLost):
		return "; the device was lost (a driver reset or a GPU fault): check the driver's log, then run again (train: --resume continues from the last checkpoint, which is whole)"
	}
	return ""
}

// oneLine keeps an error to one line: joined errors are separated by "; ".
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}
