// Package shaders holds gan-vk's GLSL compute shaders (shaders/*.comp, with
// shared code in include/) and their SPIR-V, compiled by ./build.sh with
// glslc, committed under spv/ and embedded, so that building gan-vk needs no
// shader compiler. shaders_gen.go gives each shader a typed name.
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
