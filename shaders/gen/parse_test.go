package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTree(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
}

// The parser finds a shader's constants (its includes' first, the
// workgroup size among them), its bindings (a TENSOR_ macro as two) and
// names them for Go.
func TestParse(t *testing.T) {
	writeTree(t, map[string]string{
		"include/tile.glsl": "layout(local_size_x = 8, local_size_y = 4) in;\nlayout(local_size_x_id = 0, local_size_y_id = 1) in;\n" +
			"layout(constant_id = 2) const uint TM = 4; // rows\n#define TENSOR_IN(name, b) layout(binding = b) uniform imageBuffer name;\n",
		"include/plain.glsl": "// nothing to declare\n",
		"k.comp": "#include \"plain.glsl\"\n#include \"tile.glsl\"\n" +
			"layout(constant_id = 30) const float LOG_BETA1 = -0.69;\nlayout(constant_id = 7) const bool EVAL = false;\n" +
			"// layout(constant_id = 9) const uint COMMENTED = 1;\n" +
			"layout(std430, binding = 0) readonly buffer Clock { uint clock[]; };\nTENSOR_IN(Param, 1)\n" +
			"layout(r32f, binding = 3) writeonly uniform imageBuffer Out;\n",
	})
	s, err := (&parser{includes: map[string]*include{}}).shader("k.comp")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range s.all() {
		got = append(got, field(c.name)+":"+c.typ+"="+c.def)
	}
	if want := "LocalX:uint=8 LocalY:uint=4 TM:uint=4 LogBeta1:float=-0.69 Eval:bool=false"; strings.Join(got, " ") != want {
		t.Errorf("constants %q, want %q", strings.Join(got, " "), want)
	}
	if len(s.includes) != 1 || s.includes[0].name != "tile" {
		t.Errorf("includes %v: only tile.glsl declares constants", s.includes)
	}
	got = nil
	for _, b := range s.bindings {
		got = append(got, b.name)
		for range b.n - 1 {
			got = append(got, b.name)
		}
	}
	if want := "Clock Param Param Out"; strings.Join(got, " ") != want {
		t.Errorf("bindings %q, want %q", strings.Join(got, " "), want)
	}
}

// What the generated Go could not state is refused, naming the file.
func TestParseRefusals(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"one id twice", "layout(constant_id = 4) const uint N = 1;\nlayout(constant_id = 4) const uint C = 1;\n", "constant_id 4 is both N and C"},
		{"a gap", "layout(std430, binding = 0) buffer A { float a[]; };\nlayout(std430, binding = 2) buffer B { float b[]; };\n", "binding B is at 2, want 1"},
		{"no include", "#include \"missing.glsl\"\n", "missing.glsl"},
	} {
		t.Run(c.name, func(t *testing.T) {
			writeTree(t, map[string]string{"k.comp": c.src, "include/x.glsl": ""})
			_, err := (&parser{includes: map[string]*include{}}).shader("k.comp")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "k.comp") {
				t.Errorf("got %v, want an error naming k.comp and %q", err, c.want)
			}
		})
	}
}

func TestField(t *testing.T) {
	for glsl, want := range map[string]string{"COUNT": "Count", "LR": "LR", "LOG_BETA1": "LogBeta1", "D0": "D0", "OH": "OH", "LOCAL_X": "LocalX"} {
		if got := field(glsl); got != want {
			t.Errorf("field(%s) = %s, want %s", glsl, got, want)
		}
	}
}
