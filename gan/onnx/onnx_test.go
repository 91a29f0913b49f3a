package onnx

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"os"

	"github.com/gan-vk/gan-vk/gan"
	pb "github.com/gan-vk/gan-vk/gan/onnx/onnxpb"
)

// shapes is a TensorSource that gives each tensor values that name it: a
// check that every initializer holds its own tensor.
type shapes map[string][]int

func (s shapes) Floats(name string, shape []int) ([]float32, error) {
	s[name] = shape
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(len(name)) + float32(i%7)
	}
	return v, nil
}

// The graph of each preset, and of a conditional one: its ops in order,
// every initializer a state_dict tensor of the generator (or a constant
// of the graph's own: a reshape's shape, a conditional batch norm's γ 1
// and β 0), and a free batch.
func TestGeneratorGraph(t *testing.T) {
	cbn := "BatchNormalization Gather Reshape Mul Gather Reshape Add LeakyRelu"
	for _, c := range []struct {
		preset  string
		ops     string
		classes int
	}{
		{"dcgan28", "Gemm Reshape " + cbn + " ConvTranspose " + cbn + " ConvTranspose " + cbn + " ConvTranspose Tanh", 3},
		{"dcgan28", "Gemm Reshape BatchNormalization LeakyRelu ConvTranspose BatchNormalization LeakyRelu ConvTranspose BatchNormalization LeakyRelu ConvTranspose Tanh", 0},
		{"dcgan64", "Gemm Reshape BatchNormalization LeakyRelu ConvTranspose BatchNormalization LeakyRelu ConvTranspose BatchNormalization LeakyRelu ConvTranspose BatchNormalization LeakyRelu ConvTranspose Tanh", 0},
	} {
		m, err := gan.DefaultModel(c.preset, 3)
		if err != nil {
			t.Fatal(err)
		}
		m.Classes = c.classes
		cfg := gan.TrainConfig{Model: m, EMA: 0.999}
		src := shapes{}
		model, err := Generator(cfg, 12, gan.DefaultWeights, src)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "g.onnx")
		if err := Write(path, model); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var back pb.ModelProto
		if err := proto.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		g := back.Graph
		var ops []string
		for _, n := range g.Node {
			ops = append(ops, n.OpType)
		}
		if got := strings.Join(ops, " "); got != c.ops {
			t.Errorf("%s: ops\n%s\nwant\n%s", c.preset, got, c.ops)
		}
		if last := g.Node[len(g.Node)-1]; last.Output[0] != Output || g.Output[0].Name != Output || g.Input[0].Name != Input {
			t.Errorf("%s: the graph runs %s to %s, its last node writes %s", c.preset, g.Input[0].Name, g.Output[0].Name, last.Output[0])
		}
		if d := g.Input[0].Type.GetTensorType().Shape.Dim; d[0].GetDimParam() != "batch" || d[1].GetDimValue() != 100 {
			t.Errorf("%s: input shape %v, want [batch, 100]", c.preset, d)
		}
		if d := g.Output[0].Type.GetTensorType().Shape.Dim; d[1].GetDimValue() != 3 || d[3].GetDimValue() != int64(m.Size()) {
			t.Errorf("%s: output shape %v, want [batch, 3, %d, %d]", c.preset, d, m.Size(), m.Size())
		}
		if want := 1 + min(c.classes, 1); len(g.Input) != want || c.classes > 0 && (g.Input[1].Name != Class ||
			g.Input[1].Type.GetTensorType().ElemType != int32(pb.TensorProto_INT64)) {
			t.Errorf("%s with %d classes: inputs %v", c.preset, c.classes, g.Input)
		}
		own := 0 // the graph's own constants
		for _, init := range g.Initializer {
			if strings.HasSuffix(init.Name, ".shape") || strings.HasSuffix(init.Name, ".ones") || strings.HasSuffix(init.Name, ".zeros") {
				own++
				continue
			}
			shape, ok := src[init.Name]
			if !ok || !strings.HasPrefix(init.Name, "generator_ema.") {
				t.Errorf("%s: initializer %s is not a tensor of the EMA generator", c.preset, init.Name)
				continue
			}
			if !slices.Equal(init.Dims, dims(shape)) || len(init.RawData) != 4*int(product(shape)) {
				t.Errorf("%s: %s has dims %v and %d bytes, want %v", c.preset, init.Name, init.Dims, len(init.RawData), shape)
			}
		}
		if len(g.Initializer)-own != len(src) {
			t.Errorf("%s: %d initializers besides the graph's own for %d tensors read", c.preset, len(g.Initializer)-own, len(src))
		}
	}
}

func product(shape []int) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= int64(d)
	}
	return n
}

// A run without an EMA generator exports its raw one; asking for the
// EMA one is an error.
func TestGeneratorWeights(t *testing.T) {
	m, _ := gan.DefaultModel("dcgan28", 1)
	cfg := gan.TrainConfig{Model: m}
	src := shapes{}
	if _, err := Generator(cfg, 1, gan.DefaultWeights, src); err != nil {
		t.Fatal(err)
	}
	for name := range src {
		if !strings.HasPrefix(name, "generator.") {
			t.Errorf("a run without an EMA exported %s", name)
		}
	}
	if _, err := Generator(cfg, 1, gan.EMAWeights, shapes{}); err == nil || !strings.Contains(err.Error(), "keeps no EMA generator") {
		t.Errorf("the EMA generator of a run without one: %v", err)
	}
}
