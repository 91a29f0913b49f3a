package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/vk"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLI(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		env        map[string]string
		code       int
		stdout     []string // substrings
		stderr     []string
		oneLineErr bool
	}{
		{name: "help", args: []string{"--help"}, code: 0, stdout: []string{"Usage:", "devices"}},
		{name: "help devices", args: []string{"help", "devices"}, code: 0, stdout: []string{"Usage: gan-vk devices", "-device"}},
		{name: "no command", args: nil, code: 2, stderr: []string{"Usage:"}},
		{name: "unknown command", args: []string{"trian"}, code: 2, stderr: []string{`unknown command "trian"`, "gan-vk help"}},
		{name: "unknown flag", args: []string{"devices", "--colour"}, code: 2, stderr: []string{"flag provided but not defined: -colour", "--help"}},
		{name: "devices", args: []string{"devices"}, code: 0, stdout: []string{"* 0: ", "<- training uses this device", "subgroup", "timestamps"}},
		{name: "devices by index", args: []string{"devices", "--device", "0"}, code: 0, stdout: []string{"* 0: "}},
		{name: "unknown device", args: []string{"devices", "--device", "no-such-gpu"}, code: 1,
			stdout: []string{"0: "}, stderr: []string{`no device name contains "no-such-gpu"`, "the devices are 0 "}, oneLineErr: true},
		{name: "no driver", args: []string{"devices"}, env: map[string]string{"VK_DRIVER_FILES": "/nonexistent.json", "VK_ICD_FILENAMES": "/nonexistent.json"},
			code: 1, stderr: []string{"no usable Vulkan device", "mesa-vulkan-drivers"}, oneLineErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if tc.oneLineErr && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("the error is not one line:\n%s", stderr)
			}
			if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
				t.Errorf("a panic reached the user:\n%s", stderr)
			}
		})
	}
}

// TestDeviceErrorHints: out of device memory and a lost device, which
// lavapipe cannot be made to report, get a line on what to try.
func TestDeviceErrorHints(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("gan: building the generator: %w", vk.ErrOutOfDeviceMemory), "try a smaller --batch"},
		{fmt.Errorf("gan: step 7: %w", vk.ErrDeviceLost), "--resume continues from the last checkpoint"},
		{errors.New("something else"), ""},
	} {
		if got := hint(c.err); c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("hint(%v) = %q, want %q in it", c.err, got, c.want)
		}
	}
}
