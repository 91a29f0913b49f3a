package vk

import (
	"encoding/binary"
	"fmt"
)

// A small SPIR-V reader: just enough reflection to build a kernel's layouts
// from the shader itself and to check what the Go side passes against it —
// descriptor bindings (kind and read/write access), the push-constant block's
// size, and the specialization constants' ids and types.

type descriptorKind int

const (
	storageBuffer descriptorKind = iota
	uniformBuffer
	uniformTexelBuffer
	storageTexelBuffer
)

func (k descriptorKind) String() string {
	return [...]string{"storage buffer", "uniform buffer", "uniform texel buffer", "storage texel buffer"}[k]
}

type bindingInfo struct {
	kind   descriptorKind
	name   string
	reads  bool
	writes bool
	format texelFormat // texel buffers only
}

// texelFormat is a texel buffer's format, as the shader declares it.
type texelFormat int

const (
	formatUnknown texelFormat = iota
	formatR32f
	formatRGBA32f
)

// SPIR-V Image Format operands.
const (
	spvFormatRgba32f = 1
	spvFormatR32f    = 3
)

type specKind int

const (
	specBool specKind = iota
	specInt
	specUint
	specFloat
)

func (k specKind) String() string { return [...]string{"bool", "int", "uint", "float"}[k] }

type reflection struct {
	bindings []bindingInfo // indexed by binding number, descriptor set 0
	pushSize uint32
	specs    map[uint32]specKind
}

// SPIR-V opcodes, decorations and storage classes used here.
const (
	opName             = 5
	opEntryPoint       = 15
	opTypeBool         = 20
	opTypeInt          = 21
	opTypeFloat        = 22
	opTypeVector       = 23
	opTypeMatrix       = 24
	opTypeImage        = 25
	opTypeArray        = 28
	opTypeRuntimeArray = 29
	opTypeStruct       = 30
	opTypePointer      = 32
	opConstant         = 43
	opSpecConstantTrue = 48
	opSpecConstantFals = 49
	opSpecConstant     = 50
	opVariable         = 59
	opDecorate         = 71
	opMemberDecorate   = 72

	decSpecID        = 1
	decBlock         = 2
	decBufferBlock   = 3
	decMatrixStride  = 7
	decArrayStride   = 6
	decNonWritable   = 24
	decNonReadable   = 25
	decBinding       = 33
	decDescriptorSet = 34
	decOffset        = 35

	scUniformConstant = 0
	scUniform         = 2
	scPushConstant    = 9
	scStorageBuffer   = 12

	execGLCompute = 5
	dimBuffer     = 5
)

type spvType struct {
	op    uint32
	args  []uint32 // the operands after the result id
	width uint32   // int/float width
}

type decorations struct {
	flags   map[uint32]bool // decoration -> present
	values  map[uint32]uint32
	members map[uint32]map[uint32]uint32 // member -> decoration -> value (or 1)
}

func reflectSPIRV(code []byte) (*reflection, error) {
	if len(code)%4 != 0 || len(code) < 20 {
		return nil, fmt.Errorf("SPIR-V is %d bytes, not a whole number of words past the header", len(code))
	}
	words := make([]uint32, len(code)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(code[4*i:])
	}
	if words[0] != 0x07230203 {
		return nil, fmt.Errorf("not SPIR-V (magic %#x)", words[0])
	}
	types := map[uint32]spvType{}
	consts := map[uint32]uint32{}
	decs := map[uint32]*decorations{}
	names := map[uint32]string{}
	dec := func(id uint32) *decorations {
		d := decs[id]
		if d == nil {
			d = &decorations{flags: map[uint32]bool{}, values: map[uint32]uint32{}, members: map[uint32]map[uint32]uint32{}}
			decs[id] = d
		}
		return d
	}
	type variable struct{ id, ptrType, class uint32 }
	var vars []variable
	type spec struct{ id, typ uint32 }
	var specs []spec
	compute := false

	for i := 5; i < len(words); {
		n := int(words[i] >> 16)
		op := words[i] & 0xffff
		if n == 0 || i+n > len(words) {
			return nil, fmt.Errorf("malformed SPIR-V instruction at word %d", i)
		}
		ops := words[i+1 : i+n]
		i += n
		switch op {
		case opName:
			if len(ops) >= 2 {
				names[ops[0]] = spvString(ops[1:])
			}
		case opEntryPoint:
			if len(ops) >= 1 && ops[0] == execGLCompute {
				compute = true
			}
		case opTypeBool, opTypeInt, opTypeFloat, opTypeVector, opTypeMatrix, opTypeImage,
			opTypeArray, opTypeRuntimeArray, opTypeStruct, opTypePointer:
			if len(ops) < 1 {
				return nil, fmt.Errorf("malformed SPIR-V type")
			}
			t := spvType{op: op, args: ops[1:]}
			if (op == opTypeInt || op == opTypeFloat) && len(ops) >= 2 {
				t.width = ops[1]
			}
			types[ops[0]] = t
		case opConstant:
			if len(ops) >= 3 {
				consts[ops[1]] = ops[2]
			}
		case opSpecConstantTrue, opSpecConstantFals, opSpecConstant:
			if len(ops) >= 2 {
				specs = append(specs, spec{id: ops[1], typ: ops[0]})
			}
		case opVariable:
			if len(ops) >= 3 {
				vars = append(vars, variable{id: ops[1], ptrType: ops[0], class: ops[2]})
			}
		case opDecorate:
			if len(ops) >= 2 {
				d := dec(ops[0])
				d.flags[ops[1]] = true
				if len(ops) >= 3 {
					d.values[ops[1]] = ops[2]
				}
			}
		case opMemberDecorate:
			if len(ops) >= 3 {
				d := dec(ops[0])
				m := d.members[ops[1]]
				if m == nil {
					m = map[uint32]uint32{}
					d.members[ops[1]] = m
				}
				v := uint32(1)
				if len(ops) >= 4 {
					v = ops[3]
				}
				m[ops[2]] = v
			}
		}
	}
	if !compute {
		return nil, fmt.Errorf("SPIR-V has no GLCompute entry point")
	}

	r := &reflection{specs: map[uint32]specKind{}}
	has := func(id, d uint32) bool { return decs[id] != nil && decs[id].flags[d] }
	allMembers := func(structID, d uint32) bool {
		t, ok := types[structID]
		if !ok || t.op != opTypeStruct || len(t.args) == 0 || decs[structID] == nil {
			return false
		}
		for m := range t.args {
			if _, ok := decs[structID].members[uint32(m)][d]; !ok {
				return false
			}
		}
		return true
	}
	var sizeOf func(id uint32, stride uint32) (uint32, error)
	sizeOf = func(id uint32, stride uint32) (uint32, error) {
		t, ok := types[id]
		if !ok {
			return 0, fmt.Errorf("unknown type %%%d", id)
		}
		switch t.op {
		case opTypeInt, opTypeFloat:
			return t.width / 8, nil
		case opTypeVector:
			c, err := sizeOf(t.args[0], 0)
			return c * t.args[1], err
		case opTypeMatrix:
			if stride == 0 {
				return 0, fmt.Errorf("matrix without MatrixStride")
			}
			return stride * t.args[1], nil
		case opTypeArray:
			s := uint32(0)
			if decs[id] != nil {
				s = decs[id].values[decArrayStride]
			}
			n, ok := consts[t.args[1]]
			if s == 0 || !ok {
				return 0, fmt.Errorf("array without a constant length and ArrayStride")
			}
			return s * n, nil
		case opTypeStruct:
			size := uint32(0)
			for m, mt := range t.args {
				md := map[uint32]uint32{}
				if decs[id] != nil && decs[id].members[uint32(m)] != nil {
					md = decs[id].members[uint32(m)]
				}
				off, ok := md[decOffset]
				if !ok && m > 0 {
					return 0, fmt.Errorf("struct member %d without an Offset", m)
				}
				ms, err := sizeOf(mt, md[decMatrixStride])
				if err != nil {
					return 0, err
				}
				size = max(size, off+ms)
			}
			return size, nil
		}
		return 0, fmt.Errorf("type with opcode %d cannot be sized", t.op)
	}

	for _, v := range vars {
		ptr, ok := types[v.ptrType]
		if !ok || ptr.op != opTypePointer || len(ptr.args) < 2 {
			continue
		}
		pointee := ptr.args[1]
		switch v.class {
		case scPushConstant:
			s, err := sizeOf(pointee, 0)
			if err != nil {
				return nil, fmt.Errorf("push-constant block: %v", err)
			}
			r.pushSize = s
			continue
		case scStorageBuffer, scUniform, scUniformConstant:
		default:
			continue
		}
		if !has(v.id, decBinding) {
			continue
		}
		if set := decs[v.id].values[decDescriptorSet]; set != 0 {
			return nil, fmt.Errorf("%s uses descriptor set %d; gan-vk kernels use set 0 only", names[v.id], set)
		}
		b := bindingInfo{name: names[v.id], reads: true, writes: true}
		if b.name == "" {
			b.name = names[pointee]
		}
		switch {
		case v.class == scStorageBuffer, v.class == scUniform && has(pointee, decBufferBlock):
			b.kind = storageBuffer
			if has(v.id, decNonWritable) || allMembers(pointee, decNonWritable) {
				b.writes = false
			}
			if has(v.id, decNonReadable) || allMembers(pointee, decNonReadable) {
				b.reads = false
			}
		case v.class == scUniform:
			b.kind, b.writes = uniformBuffer, false
		default:
			t := types[pointee]
			if t.op != opTypeImage || len(t.args) < 6 || t.args[1] != dimBuffer {
				return nil, fmt.Errorf("binding %s: only buffers and texel buffers are supported", names[v.id])
			}
			if t.args[5] == 2 {
				b.kind = storageTexelBuffer
				b.writes = !has(v.id, decNonWritable)
				b.reads = !has(v.id, decNonReadable)
				if len(t.args) > 6 {
					switch t.args[6] {
					case spvFormatR32f:
						b.format = formatR32f
					case spvFormatRgba32f:
						b.format = formatRGBA32f
					}
				}
			} else {
				b.kind, b.writes = uniformTexelBuffer, false
			}
		}
		n := int(decs[v.id].values[decBinding])
		for len(r.bindings) <= n {
			r.bindings = append(r.bindings, bindingInfo{kind: -1})
		}
		r.bindings[n] = b
	}
	for i, b := range r.bindings {
		if b.kind < 0 {
			return nil, fmt.Errorf("bindings must be numbered 0..%d without gaps; binding %d is missing", len(r.bindings)-1, i)
		}
	}

	for _, s := range specs {
		if !has(s.id, decSpecID) {
			continue
		}
		id := decs[s.id].values[decSpecID]
		t := types[s.typ]
		switch {
		case t.op == opTypeBool:
			r.specs[id] = specBool
		case t.op == opTypeInt && t.width == 32 && t.args[1] == 1:
			r.specs[id] = specInt
		case t.op == opTypeInt && t.width == 32:
			r.specs[id] = specUint
		case t.op == opTypeFloat && t.width == 32:
			r.specs[id] = specFloat
		default:
			return nil, fmt.Errorf("specialization constant %d (%s) is not a 32-bit bool, int, uint or float", id, names[s.id])
		}
	}
	return r, nil
}

// spvString decodes a SPIR-V literal string (NUL-terminated, packed in words).
func spvString(ws []uint32) string {
	var b []byte
	for _, w := range ws {
		for k := 0; k < 4; k++ {
			c := byte(w >> (8 * k))
			if c == 0 {
				return string(b)
			}
			b = append(b, c)
		}
	}
	return string(b)
}
