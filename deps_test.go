// The import rules of gan-vk's packages, as a test: a statement of policy.
package ganvk_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gan-vk/gan-vk"

// allowed lists, for each package of ours, the packages of ours and the
// outside modules its non-test files may import. The standard library is
// always allowed. "*" allows any package of ours.
var allowed = map[string][]string{
	"shaders":     {},
	"shaders/gen": {},
	"vk":          {"github.com/vulkan-go/vulkan"},
	"vk/vktest":   {"vk"},
	// MPI, loaded at run time (dlopen): data-parallel training's allreduce.
	"mpi":         {},
	"mpi/mpitest": {}, // a test's ranks under mpirun
	"layers":      {"vk", "shaders"},
	"layers/ref":  {}, // plain Go, so a reference can share nothing with what it checks
	// gan/nn: what every user of a network shares (specs, the parameter
	// store, the net in a Mode, Adam and EMA over a store, z, the owner).
	// It knows nothing of DCGANs, steps or runs: nothing of gan.
	"gan/nn": {"layers", "vk"},
	// gan: the models, the step's recipes, the trainer, the sampler, EMA
	// calibration and completion, each put together from gan/nn. It knows
	// nothing of files beyond writing a PNG atomically.
	"gan":             {"gan/atomicfile", "gan/nn", "layers", "vk"},
	"gan/atomicfile":  {},
	"gan/safetensors": {"gan/atomicfile"},
	// The data sets and the loader run on the host: no device.
	"gan/data": {"gan/atomicfile", "golang.org/x/image/draw"},
	// The run folder and its loop hand each step to observers they are
	// given, so they never import the live feed.
	"gan/run":  {"gan", "gan/atomicfile", "gan/data", "gan/safetensors", "gan/score", "vk", "github.com/google/uuid"},
	"gan/live": {"gan", "gan/latent", "gan/run", "vk"},
	// Arithmetic on z, on the host.
	"gan/latent": {},
	"gan/tune":   {"gan", "gan/atomicfile", "layers", "vk"},
	// The quality score: its feature network runs on the device (built
	// from gan/nn), its statistics in float64 on the host with gonum.
	"gan/score": {"gan", "gan/data", "gan/nn", "gan/safetensors", "layers", "vk", "gonum.org/v1/gonum/mat"},
	// Animated GIFs of images from anywhere: a run's grids, a latent walk.
	"gan/anim": {"gan/atomicfile", "golang.org/x/image/font", "golang.org/x/image/font/basicfont", "golang.org/x/image/math/fixed"},
	// A generator as an ONNX model, its messages generated from our subset
	// of ONNX's schema by protoc-gen-go.
	"gan/onnx":        {"gan", "gan/atomicfile", "gan/onnx/onnxpb", "google.golang.org/protobuf/proto"},
	"gan/onnx/onnxpb": {"google.golang.org/protobuf/reflect/protoreflect", "google.golang.org/protobuf/runtime/protoimpl"},
	// Image completion's masks, on the host.
	"gan/mask": {},
	// What the tests of gan's packages share.
	"internal/gantest": {"gan"},
	// The viewer paints its frames with layers.Frame, the one op that is
	// not the model's: it runs on the training device like the others. It
	// reads the live feed (and the metrics lines it carries) and saves
	// grids as gan writes them.
	"viewer": {"vk", "layers", "gan", "gan/live", "gan/run", "github.com/go-gl/glfw/v3.3/glfw",
		"golang.org/x/image/font", "golang.org/x/image/font/basicfont", "golang.org/x/image/math/fixed"},
	"cmd/gan-vk": {"*"},
	// The score's validation on real data (docs/scoring.md's table).
	"bench/scorecheck": {"gan/data", "gan/score", "vk"},
	// What averaging a data-parallel step costs in MPI alone (docs/parallel.md's table).
	"bench/allreduce": {"gan", "mpi"},
	// The small-data runs' FD plot and table (README, docs/training.md).
	"bench/fdplot": {},
}

// onlyImporter names the one package allowed to import each binding.
var onlyImporter = map[string]string{
	"github.com/vulkan-go/vulkan":     "vk",
	"github.com/go-gl/glfw/v3.3/glfw": "viewer",
}

func TestImportRules(t *testing.T) {
	imports := map[string]map[string]bool{} // package dir -> imports
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if imports[dir] == nil {
			imports[dir] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			imports[dir][p] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) == 0 {
		t.Fatal("found no Go packages")
	}
	for dir, imps := range imports {
		if dir == "." {
			continue
		}
		rules, ok := allowed[dir]
		if !ok {
			t.Errorf("package %s has no import rule: add it to this test", dir)
			continue
		}
		for imp := range imps {
			if owner, bound := onlyImporter[imp]; bound && owner != dir {
				t.Errorf("%s imports %s; only %s may", dir, imp, owner)
			}
			if !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				continue // standard library
			}
			if permitted(dir, imp, rules) {
				continue
			}
			t.Errorf("%s may not import %s (allowed: %v)", dir, imp, rules)
		}
	}
}

func permitted(dir, imp string, rules []string) bool {
	for _, r := range rules {
		switch {
		case r == "*" && strings.HasPrefix(imp, module+"/"):
			return true
		case imp == r, imp == module+"/"+r:
			return true
		}
	}
	return false
}
