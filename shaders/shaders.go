// Package shaders holds gan-vk's GLSL compute shaders (shaders/*.comp, with
// shared code in include/) and their SPIR-V, compiled by ./build.sh with
// glslc, committed under spv/ and embedded, so that building gan-vk needs no
// shader compiler. shaders_gen.go, which shaders/gen writes from the GLSL,
// gives each shader a typed name and its interface: <Shader>Specs, its
// specialization constants by name (include files' as embedded structs),
// and <Shader>Bindings, its buffers in binding order.
package shaders

//go:generate go run ./gen

// Shader names one compute shader; the constants are in shaders_gen.go.
type Shader int

type entry struct {
	name  string
	spirv []byte
}

// Name is the shader's file name without ".comp", e.g. "axpy".
func (s Shader) Name() string { return table[s].name }

// SPIRV is the compiled shader. The bytes are shared: do not modify them.
func (s Shader) SPIRV() []byte { return table[s].spirv }

func (s Shader) String() string { return s.Name() }

// All lists every shader.
func All() []Shader {
	out := make([]Shader, len(table))
	for i := range out {
		out[i] = Shader(i)
	}
	return out
}

// A Constant is one specialization constant's value for a pipeline: its
// constant_id, its GLSL type and its 32 bits.
type Constant struct {
	ID   uint32
	Type Type
	Bits uint32
}

// Type is a specialization constant's GLSL type.
type Type uint8

// The types a specialization constant may have.
const (
	Uint Type = iota
	Int
	Float
	Bool
)

// Specs is what each generated <Shader>Specs struct is: the specialization
// constants of one shader, to build a pipeline of it with.
type Specs interface {
	Shader() Shader
	Constants() []Constant
}

func boolBits(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
