package vk

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	vk "github.com/vulkan-go/vulkan"
)

// Spec is one specialization constant for NewKernel; make it with SpecUint,
// SpecInt, SpecFloat or SpecBool so its type is checked against the shader.
type Spec struct {
	ID   uint32
	kind specKind
	bits uint32
}

func SpecUint(id, v uint32) Spec          { return Spec{id, specUint, v} }
func SpecInt(id uint32, v int32) Spec     { return Spec{id, specInt, uint32(v)} }
func SpecFloat(id uint32, v float32) Spec { return Spec{id, specFloat, math.Float32bits(v)} }
func SpecBool(id uint32, v bool) Spec {
	if v {
		return Spec{id, specBool, 1}
	}
	return Spec{id, specBool, 0}
}

// Kernel is a compute pipeline: a SPIR-V shader with its specialization
// constants fixed, and the descriptor and pipeline layouts read from it.
type Kernel struct {
	dev  *Device
	id   uint64
	name string

	bindings       []bindingInfo
	storage, texel int // how many bindings of each kind
	pushSize       uint32

	module    vk.ShaderModule
	setLayout vk.DescriptorSetLayout
	layout    vk.PipelineLayout
	pipeline  vk.Pipeline
}

// NewKernel builds a compute pipeline from SPIR-V. The shader's bindings
// (descriptor set 0, numbered from 0) become the kernel's parameters in that
// order; specs must name specialization constants the shader declares, with
// matching types.
func (d *Device) NewKernel(name string, spirv []byte, specs ...Spec) (*Kernel, error) {
	refl, err := reflectSPIRV(spirv)
	if err != nil {
		return nil, fmt.Errorf("vk: kernel %q: %w", name, err)
	}
	k := &Kernel{dev: d, name: name, bindings: refl.bindings, pushSize: refl.pushSize}
	if k.pushSize > d.info.MaxPushConstantsSize {
		return nil, fmt.Errorf("vk: kernel %q: push constants are %d bytes; the device allows %d", name, k.pushSize, d.info.MaxPushConstantsSize)
	}
	for _, b := range k.bindings {
		switch {
		case b.kind == storageBuffer:
			k.storage++
		case b.kind == storageTexelBuffer && b.format != formatUnknown:
			k.texel++
		case b.kind == storageTexelBuffer:
			return nil, fmt.Errorf("vk: kernel %q: storage texel buffer %q needs a format qualifier, r32f or rgba32f", name, b.name)
		default:
			return nil, fmt.Errorf("vk: kernel %q: binding %q is a %s; only storage buffers and storage texel buffers are supported", name, b.name, b.kind)
		}
	}
	seen := map[uint32]bool{}
	for _, s := range specs {
		kind, ok := refl.specs[s.ID]
		switch {
		case !ok:
			return nil, fmt.Errorf("vk: kernel %q: the shader has no specialization constant %d", name, s.ID)
		case kind != s.kind:
			return nil, fmt.Errorf("vk: kernel %q: specialization constant %d is a %s in the shader, given a %s", name, s.ID, kind, s.kind)
		case seen[s.ID]:
			return nil, fmt.Errorf("vk: kernel %q: specialization constant %d given twice", name, s.ID)
		}
		seen[s.ID] = true
	}
	if err := k.create(spirv, specs); err != nil {
		k.destroy()
		return nil, fmt.Errorf("vk: kernel %q: %w", name, err)
	}
	if k.id, err = d.adopt(k); err != nil {
		k.destroy()
		return nil, err
	}
	return k, nil
}

func (k *Kernel) create(spirv []byte, specs []Spec) error {
	h := k.dev.handle
	code := make([]uint32, len(spirv)/4)
	for i := range code {
		code[i] = binary.LittleEndian.Uint32(spirv[4*i:])
	}
	var mod vk.ShaderModule
	if err := check("vkCreateShaderModule", vk.CreateShaderModule(h, &vk.ShaderModuleCreateInfo{
		SType:    vk.StructureTypeShaderModuleCreateInfo,
		CodeSize: uint(len(spirv)),
		PCode:    code,
	}, nil, &mod)); err != nil {
		return err
	}
	k.module = mod

	binds := make([]vk.DescriptorSetLayoutBinding, len(k.bindings))
	for i := range k.bindings {
		binds[i] = vk.DescriptorSetLayoutBinding{
			Binding:         uint32(i),
			DescriptorType:  k.bindings[i].kind.descriptorType(),
			DescriptorCount: 1,
			StageFlags:      vk.ShaderStageFlags(vk.ShaderStageComputeBit),
		}
	}
	var setLayout vk.DescriptorSetLayout
	if err := check("vkCreateDescriptorSetLayout", vk.CreateDescriptorSetLayout(h, &vk.DescriptorSetLayoutCreateInfo{
		SType:        vk.StructureTypeDescriptorSetLayoutCreateInfo,
		BindingCount: uint32(len(binds)),
		PBindings:    binds,
	}, nil, &setLayout)); err != nil {
		return err
	}
	k.setLayout = setLayout

	info := vk.PipelineLayoutCreateInfo{
		SType:          vk.StructureTypePipelineLayoutCreateInfo,
		SetLayoutCount: 1,
		PSetLayouts:    []vk.DescriptorSetLayout{setLayout},
	}
	if k.pushSize > 0 {
		info.PushConstantRangeCount = 1
		info.PPushConstantRanges = []vk.PushConstantRange{{StageFlags: vk.ShaderStageFlags(vk.ShaderStageComputeBit), Size: k.pushSize}}
	}
	var layout vk.PipelineLayout
	if err := check("vkCreatePipelineLayout", vk.CreatePipelineLayout(h, &info, nil, &layout)); err != nil {
		return err
	}
	k.layout = layout

	sorted := append([]Spec(nil), specs...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].ID < sorted[b].ID })
	ids, values := make([]uint32, len(sorted)), make([]uint32, len(sorted))
	for i, s := range sorted {
		ids[i], values[i] = s.ID, s.bits
	}
	pipe, res := createComputePipeline(h, mod, layout, ids, values)
	if err := check("vkCreateComputePipelines", res); err != nil {
		return err
	}
	k.pipeline = pipe
	return nil
}

// Name is the name given to NewKernel.
func (k *Kernel) Name() string { return k.name }

// Bindings is the number of buffers a dispatch of this kernel takes.
func (k *Kernel) Bindings() int { return len(k.bindings) }

// PushSize is the size in bytes of the shader's push-constant block.
func (k *Kernel) PushSize() int { return int(k.pushSize) }

// Close destroys the pipeline. It is idempotent; sequences that recorded the
// kernel must be closed or reset first.
func (k *Kernel) Close() {
	if k.module == vk.NullShaderModule {
		return
	}
	k.destroy()
	k.dev.release(k.id)
}

func (k *Kernel) describe() string { return fmt.Sprintf("kernel %q", k.name) }

func (k *Kernel) destroy() {
	h := k.dev.handle
	if k.pipeline != vk.NullPipeline {
		vk.DestroyPipeline(h, k.pipeline, nil)
	}
	if k.layout != vk.NullPipelineLayout {
		vk.DestroyPipelineLayout(h, k.layout, nil)
	}
	if k.setLayout != vk.NullDescriptorSetLayout {
		vk.DestroyDescriptorSetLayout(h, k.setLayout, nil)
	}
	if k.module != vk.NullShaderModule {
		vk.DestroyShaderModule(h, k.module, nil)
	}
	k.pipeline, k.layout, k.setLayout, k.module = vk.NullPipeline, vk.NullPipelineLayout, vk.NullDescriptorSetLayout, vk.NullShaderModule
}

func (k descriptorKind) descriptorType() vk.DescriptorType {
	if k == storageTexelBuffer {
		return vk.DescriptorTypeStorageTexelBuffer
	}
	return vk.DescriptorTypeStorageBuffer // NewKernel accepts no other kind
}

// vkFormat is the view format of a texel buffer and its texel size in bytes.
func (f texelFormat) vkFormat() (vk.Format, uint64) {
	if f == formatRGBA32f {
		return vk.FormatR32g32b32a32Sfloat, 16
	}
	return vk.FormatR32Sfloat, 4
}
