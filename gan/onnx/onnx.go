// Package onnx writes a trained generator as an ONNX model (z in, images
// out; a conditional generator also takes a class per image) that any
// ONNX runtime can run: onnxruntime, in Node, a browser or
// Python. Batch norm is written in inference mode with the running
// statistics the checkpoint holds (for the EMA generator, the ones
// recomputed for its weights), as gan-vk sample's --bn eval draws.
package onnx

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/gan/atomicfile"
	pb "github.com/gan-vk/gan-vk/gan/onnx/onnxpb"
)

// The ONNX versions written: IR 8 with the default operator set 17, which
// onnxruntime has run since 1.12.
const (
	irVersion = 8
	opset     = 17
)

// Names of the graph's inputs and output.
const (
	Input  = "z"      // batch × Z floats, N(0, 1)
	Class  = "class"  // a conditional generator's: batch int64 classes
	Output = "images" // batch × C × S × S floats in [-1, 1]
)

// Generator is the ONNX model of one of a run's generators at step, its
// tensors read from src (a checkpoint). The batch is left free.
func Generator(cfg gan.TrainConfig, step int, w gan.Weights, src gan.TensorSource) (*pb.ModelProto, error) {
	ls, err := gan.GeneratorLayers(cfg, w)
	if err != nil {
		return nil, err
	}
	m := cfg.Model
	g := &graph{src: src, GraphProto: &pb.GraphProto{Name: "generator"}}
	g.Input = []*pb.ValueInfoProto{valueInfo(Input, m.Z)}
	doc := fmt.Sprintf("z (batch × %d, N(0, 1))", m.Z)
	if m.Conditional() {
		g.Input = append(g.Input, classInfo(Class))
		doc += fmt.Sprintf(" and class (batch int64s, 0 to %d)", m.Classes-1)
	}
	g.Output = []*pb.ValueInfoProto{valueInfo(Output, m.Channels, m.Size(), m.Size())}
	x := Input
	prev := [3]int{m.Z, 1, 1}
	for i, l := range ls {
		if l.In != prev { // an nn.Unflatten: free in NCHW on the device, a Reshape here
			x = g.reshape(fmt.Sprintf("reshape%d", i), x, l.In)
		}
		if x, err = g.layer(i, l, x); err != nil {
			return nil, err
		}
		prev = l.Out
	}
	g.Node[len(g.Node)-1].Output[0] = Output
	return &pb.ModelProto{
		IrVersion:       irVersion,
		ProducerName:    "gan-vk",
		DocString:       fmt.Sprintf("the %s generator of a gan-vk %s run at step %d: %s to images (batch × %d × %d × %d, in [-1, 1])", w.For(cfg), m.Preset, step, doc, m.Channels, m.Size(), m.Size()),
		Graph:           g.GraphProto,
		OpsetImport:     []*pb.OperatorSetIdProto{{Version: opset}},
		MetadataProps:   metadata(m, step, w.For(cfg)),
		ProducerVersion: "1",
	}, nil
}

// metadata is the model's: its step, weights and preset, and a
// conditional model's class names (class_names, a JSON list).
func metadata(m gan.ModelConfig, step int, w gan.Weights) []*pb.StringStringEntryProto {
	out := []*pb.StringStringEntryProto{{Key: "step", Value: fmt.Sprint(step)}, {Key: "weights", Value: w.String()}, {Key: "preset", Value: m.Preset}}
	if m.Conditional() {
		names := make([]string, m.Classes)
		for k := range names {
			names[k] = m.ClassName(k)
		}
		b, _ := json.Marshal(names) // strings always marshal
		out = append(out, &pb.StringStringEntryProto{Key: "class_names", Value: string(b)})
	}
	return out
}

// Write writes a model to path atomically.
func Write(path string, m *pb.ModelProto) error {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// graph builds a GraphProto node by node.
type graph struct {
	*pb.GraphProto
	src gan.TensorSource
}

func (g *graph) node(op, name string, inputs []string, attrs ...*pb.AttributeProto) string {
	g.Node = append(g.Node, &pb.NodeProto{OpType: op, Name: name, Input: inputs, Output: []string{name}, Attribute: attrs})
	return name
}

// initializer adds a checkpoint tensor to the graph under its state_dict name.
func (g *graph) initializer(name string, shape []int) (string, error) {
	v, err := g.src.Floats(name, shape)
	if err != nil {
		return "", err
	}
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	g.Initializer = append(g.Initializer, &pb.TensorProto{Name: name, Dims: dims(shape), DataType: int32(pb.TensorProto_FLOAT), RawData: raw})
	return name, nil
}

func (g *graph) reshape(name, x string, to [3]int) string {
	shape := []int64{-1, int64(to[0]), int64(to[1]), int64(to[2])} // -1: the batch
	raw := make([]byte, 8*len(shape))
	for i, d := range shape {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(d))
	}
	g.Initializer = append(g.Initializer, &pb.TensorProto{Name: name + ".shape", Dims: []int64{4}, DataType: int32(pb.TensorProto_INT64), RawData: raw})
	return g.node("Reshape", name, []string{x, name + ".shape"})
}

// layer adds layer i (and its fused activation) after x, returning its output.
func (g *graph) layer(i int, l gan.Layer, x string) (string, error) {
	inputs := []string{x}
	for j, p := range l.Params {
		name, err := g.initializer(p, l.Shapes[j])
		if err != nil {
			return "", err
		}
		inputs = append(inputs, name)
	}
	name := fmt.Sprintf("layer%d.%s", i, l.Op)
	switch l.Op {
	case "linear": // nn.Linear: x Wᵀ + b
		x = g.node("Gemm", name, inputs, intAttr("transB", 1))
	case "conv_transpose":
		x = g.node("ConvTranspose", name, inputs,
			intsAttr("kernel_shape", l.Size, l.Size), intsAttr("strides", l.Stride, l.Stride),
			intsAttr("pads", l.Padding, l.Padding, l.Padding, l.Padding), intsAttr("output_padding", l.OutPadding, l.OutPadding))
	case "batch_norm": // inference mode: the running statistics
		if l.Classes > 0 {
			x = g.classNorm(name, l, inputs)
			break
		}
		x = g.node("BatchNormalization", name, inputs, floatAttr("epsilon", l.Eps))
	default:
		return "", fmt.Errorf("onnx: a generator's %s layer is not exported", l.Op)
	}
	switch l.Act {
	case "":
	case "leaky_relu":
		x = g.node("LeakyRelu", fmt.Sprintf("layer%d.leaky_relu", i), []string{x}, floatAttr("alpha", l.Slope))
	case "tanh":
		x = g.node("Tanh", fmt.Sprintf("layer%d.tanh", i), []string{x})
	case "sigmoid":
		x = g.node("Sigmoid", fmt.Sprintf("layer%d.sigmoid", i), []string{x})
	default:
		return "", fmt.Errorf("onnx: activation %s is not exported", l.Act)
	}
	return x, nil
}

// classNorm is a conditional batch norm on inputs (x, the gain and bias
// embeddings, the running mean and variance): BatchNormalization with γ 1
// and β 0, times the class's gain row, plus its bias row.
func (g *graph) classNorm(name string, l gan.Layer, inputs []string) string {
	k := l.Out[0]
	ones, zeros := make([]float32, k), make([]float32, k)
	for i := range ones {
		ones[i] = 1
	}
	x := g.node("BatchNormalization", name, []string{inputs[0], g.constant(name+".ones", ones), g.constant(name+".zeros", zeros),
		inputs[3], inputs[4]}, floatAttr("epsilon", l.Eps))
	row := func(what, table string) string { // batch × K × 1 × 1: each sample's class's row
		return g.reshape(name+"."+what+".row", g.node("Gather", name+"."+what, []string{table, Class}, intAttr("axis", 0)), [3]int{k, 1, 1})
	}
	x = g.node("Mul", name+".scaled", []string{x, row("gain", inputs[1])})
	return g.node("Add", name+".shifted", []string{x, row("bias", inputs[2])})
}

// constant adds a float vector to the graph.
func (g *graph) constant(name string, v []float32) string {
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	g.Initializer = append(g.Initializer, &pb.TensorProto{Name: name, Dims: []int64{int64(len(v))}, DataType: int32(pb.TensorProto_FLOAT), RawData: raw})
	return name
}

func dims(shape []int) []int64 {
	out := make([]int64, len(shape))
	for i, d := range shape {
		out[i] = int64(d)
	}
	return out
}

// valueInfo is a float tensor of a free batch and the given shape.
func valueInfo(name string, shape ...int) *pb.ValueInfoProto {
	dim := []*pb.TensorShapeProto_Dimension{{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}}}
	for _, d := range shape {
		dim = append(dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
		ElemType: int32(pb.TensorProto_FLOAT), Shape: &pb.TensorShapeProto{Dim: dim}}}}}
}

// classInfo is an int64 vector of a free batch: the classes.
func classInfo(name string) *pb.ValueInfoProto {
	dim := []*pb.TensorShapeProto_Dimension{{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}}}
	return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
		ElemType: int32(pb.TensorProto_INT64), Shape: &pb.TensorShapeProto{Dim: dim}}}}}
}

func intAttr(name string, v int) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INT, I: int64(v)}
}

func intsAttr(name string, v ...int) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INTS, Ints: dims(v)}
}

func floatAttr(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_FLOAT, F: v}
}
