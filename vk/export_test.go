package vk

import "unsafe"

// Unsynced makes s record no hazard barriers, so a test can show that the
// validation layer notices what the barriers prevent.
func Unsynced(s *Sequence) { s.unsynced = true }

// Placement reports where a buffer sits: its block (as an opaque number), its
// offset and the bytes set aside for it.
func Placement(b *Buffer) (block uintptr, off, span uint64) {
	return uintptr(unsafe.Pointer(b.blk)), b.off, b.span
}

// Blocks is how many device-memory blocks d has made.
func Blocks(d *Device) int { return len(d.mem.blocks) }

// Alignment is the offset alignment of buffers on d.
func Alignment(d *Device) uint64 { return d.mem.align }

// Reflect exposes the SPIR-V reader.
func Reflect(code []byte) (bindings []string, pushSize uint32, specs map[uint32]string, err error) {
	r, err := reflectSPIRV(code)
	if err != nil {
		return nil, 0, nil, err
	}
	for _, b := range r.bindings {
		access := map[[2]bool]string{{true, false}: "r", {false, true}: "w", {true, true}: "rw"}[[2]bool{b.reads, b.writes}]
		bindings = append(bindings, b.kind.String()+" "+access)
	}
	specs = map[uint32]string{}
	for id, k := range r.specs {
		specs[id] = k.String()
	}
	return bindings, r.pushSize, specs, nil
}

// NewTestBlock makes a block with no memory behind it, to drive its free list.
func NewTestBlock(size uint64) *block            { return &block{size: size, free: []span{{0, size}}} }
func (b *block) Take(size uint64) (uint64, bool) { return b.take(size) }
func (b *block) Give(off, size uint64)           { b.give(off, size) }
func (b *block) Free() [][2]uint64 {
	var out [][2]uint64
	for _, s := range b.free {
		out = append(out, [2]uint64{s.off, s.size})
	}
	return out
}
