package layers

import (
	"fmt"
	"math"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// Shape letters, used the same way in every op:
//
//	N batch, C input channels, K output channels, H×W input and OH×OW
//	output height and width, KH×KW kernel size, S stride, P padding.

// Act is an activation function. Ops that end in one (Conv2d, Linear,
// ConvTranspose2d, BatchNorm2d) apply it in their forward dispatch, which
// saves a dispatch and a pass over memory.
type Act uint32

// The activations, numbered as shaders/include/common.glsl numbers them.
const (
	None    Act = 0
	Leaky   Act = 1 // LeakyReLU: max(x, slope·x); slope 0 is ReLU
	Tanh    Act = 2
	Sigmoid Act = 3
)

func (a Act) String() string {
	switch a {
	case None:
		return "none"
	case Leaky:
		return "leaky_relu"
	case Tanh:
		return "tanh"
	case Sigmoid:
		return "sigmoid"
	}
	return fmt.Sprintf("Act(%d)", uint32(a))
}

// Activation is an Act with its parameter. The zero value is no activation;
// ReLU is {Leaky, 0}.
type Activation struct {
	Act   Act
	Slope float32 // LeakyReLU's negative slope (DCGAN uses 0.2)
}

// LeakyReLU returns the LeakyReLU activation with the given slope.
func LeakyReLU(slope float32) Activation { return Activation{Leaky, slope} }

// ReLU is LeakyReLU with slope 0.
var ReLU = Activation{Leaky, 0}

func (a Activation) spec() shaders.Activation {
	return shaders.Activation{Act: uint32(a.Act), Slope: a.Slope}
}

func (a Activation) check() error {
	if a.Act > Sigmoid {
		return fmt.Errorf("unknown activation %v", a.Act)
	}
	if a.Act == Leaky && (a.Slope < 0 || a.Slope >= 1) {
		// dact reads the sign of y, which needs slope ≥ 0; slope ≥ 1 is not a LeakyReLU.
		return fmt.Errorf("LeakyReLU slope %g is outside [0, 1)", a.Slope)
	}
	return nil
}

// local is the workgroup size of element-wise and reduction kernels.
const local = 64

// flatGroups lays n invocations, in workgroups of local, out for FLAT_ID()
// in common.glsl: rows of at most 65535 workgroups (the minimum limit in x)
// spread over y.
func flatGroups(n int) vk.Groups {
	g := ceilDiv(n, local)
	if g <= 65535 {
		return vk.Groups{X: uint32(g)}
	}
	y := ceilDiv(g, 65535)
	return vk.Groups{X: uint32(ceilDiv(g, y)), Y: uint32(y)}
}

// parts owns the kernels and scratch buffers an op builds, and closes
// them together.
type parts struct {
	dev  *vk.Device
	list []*vk.Kernel
	bufs []*vk.Buffer
	err  error
}

// add builds a kernel of the shader specs are for, keeping the first
// error; later adds after an error do nothing and return nil.
func (ks *parts) add(name string, specs shaders.Specs) *vk.Kernel {
	if ks.err != nil {
		return nil
	}
	s := specs.Shader()
	k, err := ks.dev.NewKernel(name+"/"+s.Name(), s.SPIRV(), vkSpecs(specs)...)
	if err != nil {
		ks.err = err
		return nil
	}
	ks.list = append(ks.list, k)
	return k
}

// vkSpecs turns a shader's generated constants into the pipeline's.
func vkSpecs(specs shaders.Specs) []vk.Spec {
	cs := specs.Constants()
	out := make([]vk.Spec, len(cs))
	for i, c := range cs {
		switch c.Type {
		case shaders.Uint:
			out[i] = vk.SpecUint(c.ID, c.Bits)
		case shaders.Int:
			out[i] = vk.SpecInt(c.ID, int32(c.Bits))
		case shaders.Float:
			out[i] = vk.SpecFloat(c.ID, math.Float32frombits(c.Bits))
		case shaders.Bool:
			out[i] = vk.SpecBool(c.ID, c.Bits != 0)
		}
	}
	return out
}

// buffer makes a scratch buffer of n floats, keeping the first error.
func (ks *parts) buffer(name string, n int) *vk.Buffer {
	if ks.err != nil {
		return nil
	}
	b, err := ks.dev.NewBuffer(name, 4*n)
	if err != nil {
		ks.err = err
		return nil
	}
	ks.bufs = append(ks.bufs, b)
	return b
}

func (ks *parts) close() {
	for i := len(ks.bufs) - 1; i >= 0; i-- {
		ks.bufs[i].Close()
	}
	for i := len(ks.list) - 1; i >= 0; i-- {
		ks.list[i].Close()
	}
	ks.list, ks.bufs = nil, nil
}

// rowMajor4 rearranges a weight for the GEMM kernels: their A operand is
// read four rows at a time, so it is laid out depth-major with each depth
// index holding the rows padded to a multiple of 4. A weight is a D0×D1×D2
// tensor (PyTorch's [out][in][kh·kw] or [in][out][kh·kw]); strides says
// where each of its dimensions goes in the rearranged copy. When that is
// the weight's own layout the copy is skipped.
type rowMajor4 struct {
	k      *vk.Kernel // nil when the operand already has the layout: record passes it through
	buf    *vk.Buffer
	groups vk.Groups
}

func newRowMajor4(ks *parts, name string, dims, strides [3]int, size int) rowMajor4 {
	natural := [3]int{dims[1] * dims[2], dims[2], 1}
	same := true
	for i := range dims {
		if dims[i] > 1 && strides[i] != natural[i] {
			same = false
		}
	}
	n := dims[0] * dims[1] * dims[2]
	if same && size == n {
		return rowMajor4{}
	}
	u := func(v int) uint32 { return uint32(v) }
	specs := shaders.PermuteSpecs{LocalX: local, D0: u(dims[0]), D1: u(dims[1]), D2: u(dims[2]),
		T0: u(strides[0]), T1: u(strides[1]), T2: u(strides[2])}
	return rowMajor4{
		k:      ks.add(name, specs),
		buf:    ks.buffer(name+" rearranged", size),
		groups: flatGroups(n),
	}
}

// record rearranges w and returns the buffer the GEMM reads.
func (r rowMajor4) record(s *vk.Sequence, w *vk.Buffer) *vk.Buffer {
	if r.k == nil {
		return w
	}
	s.Dispatch(r.k, r.groups, nil, shaders.PermuteBindings[*vk.Buffer]{X: w, Y: r.buf}.List()...)
	return r.buf
}

// of is the buffer the GEMM reads for w once record has rearranged it.
func (r rowMajor4) of(w *vk.Buffer) *vk.Buffer {
	if r.k == nil {
		return w
	}
	return r.buf
}

// convWeight is the rearrangement for conv_fwd of a weight [rows][d][rs]:
// depth index (d, rs), rows padded to a multiple of 4.
func convWeight(ks *parts, name string, rows, d, rs int) rowMajor4 {
	r4 := ceilDiv(rows, 4) * 4
	return newRowMajor4(ks, name, [3]int{rows, d, rs}, [3]int{1, rs * r4, r4}, d*rs*r4)
}

// convtWeight is the rearrangement for convt_fwd of a weight [d][rows][rs].
func convtWeight(ks *parts, name string, d, rows, rs int) rowMajor4 {
	r4 := ceilDiv(rows, 4) * 4
	return newRowMajor4(ks, name, [3]int{d, rows, rs}, [3]int{rs * r4, 1, r4}, d*rs*r4)
}

// gradRows is the rearrangement for conv_wgrad of an output gradient
// [n][k][l]: depth index (n, l), the K rows padded to a multiple of 4.
func gradRows(ks *parts, name string, n, k, l int) rowMajor4 {
	k4 := ceilDiv(k, 4) * 4
	return newRowMajor4(ks, name+" dy", [3]int{n, k, l}, [3]int{l * k4, 1, k4}, n*l*k4)
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// elementwiseLocal and reduceLocal are the workgroup size of the kernels
// built on elementwise.glsl and reduce.glsl.
func elementwiseLocal() shaders.Elementwise { return shaders.Elementwise{LocalX: local} }
func reduceLocal() shaders.Reduce           { return shaders.Reduce{LocalX: local} }

// elementwise is the grid of a kernel built on elementwise.glsl: one
// invocation per four floats.
func elementwise(count int) vk.Groups { return flatGroups(ceilDiv(count, 4)) }

// need panics when a buffer is too small for what an op reads or writes
// there: a shape mismatch is a programming error.
func need(op, what string, b *vk.Buffer, floats int) {
	if b == nil {
		panic(fmt.Sprintf("layers: %s: %s buffer is nil", op, what))
	}
	if b.Size() < 4*floats {
		panic(fmt.Sprintf("layers: %s: %s buffer %q holds %d floats, needs %d", op, what, b.Name(), b.Size()/4, floats))
	}
}
