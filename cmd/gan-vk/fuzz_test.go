package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// FuzzCLI feeds the command line arbitrary arguments. Whatever they are,
// gan-vk answers with exit 0, 1 or 2 and, on failure, a message, never a
// panic. It runs with no Vulkan driver and no display, so a command line
// that parses fails at opening the device (or the window) instead of
// training; arguments holding a
// path separator are cut at it, so the parser never walks the file
// system beyond the fuzzing folder.
func FuzzCLI(f *testing.F) {
	for _, seed := range []string{
		"train --steps 3 --gf 4 --df 4 --batch 8",
		"train --preset dcgan64 --batch -1",
		"train --resume r --lr 1",
		"train --epochs 0 --steps 0",
		"train --crop sideways --data d",
		"train --gf 99999999999999999999",
		"sample --n 0 --checkpoint c",
		"sample --bn maybe --checkpoint c --grid g.png",
		"bench --tile 1,2,3,4,shared --sweep-batch 1,,2",
		"bench --preset dcgan64 --profile --json",
		"devices --device 7",
		"help train",
		"--help",
		"trian",
		"train --=x",
		"train -steps=1e9",
		"train --view --steps 1",
		"view r",
		"view --device 0",
		"timelapse r --every 0 --fps 9",
		"timelapse --out p.gif r extra",
		"interpolate --checkpoint c --seeds 1,,2 --frames 3",
		"interpolate --checkpoint c --arith (1,2)-3+(4",
		"complete --checkpoint c --images i --mask m.png --n 65",
		"export --checkpoint c --onnx g.onnx --weights ema",
	} {
		f.Add(seed)
	}
	wd, err := os.Getwd()
	if err != nil {
		f.Fatal(err)
	}
	if err := os.Chdir(f.TempDir()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.Chdir(wd) })
	// No display either: --view and view fail at opening the window.
	for k, v := range map[string]string{"VK_DRIVER_FILES": "/nonexistent.json", "VK_ICD_FILENAMES": "/nonexistent.json",
		"DISPLAY": "", "WAYLAND_DISPLAY": ""} {
		old, had := os.LookupEnv(k)
		os.Setenv(k, v)
		f.Cleanup(func() {
			if had {
				os.Setenv(k, old)
			} else {
				os.Unsetenv(k)
			}
		})
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		for i, a := range args {
			if j := strings.IndexAny(a, `/\`); j >= 0 {
				args[i] = a[:j]
			}
		}
		var out, errb bytes.Buffer
		code := execute(args, &out, &errb)
		switch {
		case code < 0 || code > 2:
			t.Fatalf("gan-vk %q exited %d", args, code)
		case code != 0 && errb.Len() == 0:
			t.Fatalf("gan-vk %q exited %d without a word", args, code)
		case strings.Contains(errb.String(), "goroutine ") || strings.Contains(errb.String(), "panic"):
			t.Fatalf("gan-vk %q panicked:\n%s", args, errb.String())
		}
	})
}
