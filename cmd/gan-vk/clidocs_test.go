package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/gan-vk/gan-vk/gan/run"
)

var update = flag.Bool("update", false, "rewrite docs/cli from each command's --help")

// TestCLIDocs holds docs/cli/<command>.txt to `gan-vk <command> --help`,
// so a flag's text lives in one place, the code: go test -run CLIDocs
// -update ./cmd/gan-vk rewrites them.
func TestCLIDocs(t *testing.T) {
	dir := filepath.Join("..", "..", "docs", "cli")
	want := map[string]bool{"gan-vk.txt": true}
	pages := map[string][]byte{}
	var usage bytes.Buffer
	if code := execute([]string{"help"}, &usage, &usage); code != 0 {
		t.Fatalf("gan-vk help exited %d:\n%s", code, usage.String())
	}
	pages["gan-vk.txt"] = usage.Bytes()
	for _, c := range commands() {
		var out bytes.Buffer
		if code := execute([]string{c.name, "--help"}, &out, &out); code != 0 {
			t.Fatalf("gan-vk %s --help exited %d:\n%s", c.name, code, out.String())
		}
		pages[c.name+".txt"] = out.Bytes()
		want[c.name+".txt"] = true
	}
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range pages {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, b := range pages {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("docs/cli/%s is not what --help prints (go test -run CLIDocs -update ./cmd/gan-vk rewrites it)", name)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		if !want[filepath.Base(f)] {
			t.Errorf("docs/cli/%s is no command's", filepath.Base(f))
		}
	}
}

// The lines that say how to resume name gan-vk as the user started it.
func TestProgram(t *testing.T) {
	t.Setenv("GAN_VK_PROGRAM", "./build.sh run")
	if got := program(); got != "./build.sh run" {
		t.Errorf("under ./build.sh run: %q", got)
	}
	t.Setenv("GAN_VK_PROGRAM", "")
	if got := program(); got != os.Args[0] { // a path: the test binary's
		t.Errorf("started as %s: %q", os.Args[0], got)
	}
	r := &run.Run{Dir: "runs/x", Program: "bin/gan-vk"}
	if got, want := r.ResumeCommand(), "bin/gan-vk train --resume runs/x"; got != want {
		t.Errorf("resume line %q, want %q", got, want)
	}
	r.Config.Ranks = 2
	if got, want := r.ResumeCommand(), "mpirun -np 2 bin/gan-vk train --resume runs/x"; got != want {
		t.Errorf("resume line %q, want %q", got, want)
	}
}
