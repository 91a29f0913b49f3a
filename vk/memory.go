package vk

import (
	"fmt"
	"sync"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Memory: buffers are ranges of a few large blocks. Each block is one
// VkDeviceMemory with one VkBuffer spanning it, so a Buffer is (block, offset,
// size) and binding it is a descriptor with an offset. Offsets are aligned to
// the device's storage-buffer offset alignment (at least 16 bytes,
// so vec4 loads stay aligned).

// defaultBlockSize is small enough that the memory a model holds is not
// much more than its buffers (a 256 MiB block held dcgan28's 102 MiB of
// buffers in 272 MiB) and large enough that allocations stay few: a buffer
// larger than a block gets a block of its own size.
const defaultBlockSize = 16 << 20

type memoryType struct {
	flags vk.MemoryPropertyFlagBits
	heap  uint32
}

type span struct{ off, size uint64 }

type block struct {
	memory vk.DeviceMemory
	buffer vk.Buffer
	size   uint64
	free   []span // sorted by offset, never adjacent
	mapped []byte // the whole block, for host-visible blocks
}

type allocator struct {
	dev       *Device
	types     []memoryType
	blockSize uint64
	maxAlloc  uint64
	align     uint64
	poison    bool // fill each new buffer's bytes with 0xFF (Options.Poison)

	mu     sync.Mutex
	blocks []*block
}

func newAllocator(d *Device, types []memoryType, blockSize int64) *allocator {
	a := &allocator{dev: d, types: types, blockSize: defaultBlockSize, align: 16}
	if blockSize > 0 {
		a.blockSize = uint64(blockSize)
	}
	a.maxAlloc = d.info.MaxAllocationSize
	if a.maxAlloc == 0 {
		a.maxAlloc = 1 << 30 // the smallest maxMemoryAllocationSize Vulkan 1.1 allows
	}
	if a.blockSize > a.maxAlloc {
		a.blockSize = a.maxAlloc
	}
	a.align = max(a.align, d.info.MinStorageBufferAlign, d.info.MinTexelBufferAlign)
	return a
}

// Every block can back storage buffers and storage texel buffers (a view
// of a buffer as an array of texels of one format: on lavapipe, loads
// through them are vectorised where storage-buffer loads are not).
const bufferUsage = vk.BufferUsageStorageBufferBit | vk.BufferUsageStorageTexelBufferBit |
	vk.BufferUsageTransferSrcBit | vk.BufferUsageTransferDstBit

// newBlock makes a block of size bytes in a memory type that has every flag
// of want and as many of prefer as possible; host-visible blocks are mapped.
func (a *allocator) newBlock(size uint64, want, prefer vk.MemoryPropertyFlagBits) (*block, error) {
	h := a.dev.handle
	var buf vk.Buffer
	if err := check("vkCreateBuffer", vk.CreateBuffer(h, &vk.BufferCreateInfo{
		SType:       vk.StructureTypeBufferCreateInfo,
		Size:        vk.DeviceSize(size),
		Usage:       vk.BufferUsageFlags(bufferUsage),
		SharingMode: vk.SharingModeExclusive,
	}, nil, &buf)); err != nil {
		return nil, err
	}
	var req vk.MemoryRequirements
	vk.GetBufferMemoryRequirements(h, buf, &req)
	req.Deref()
	typ, score := -1, -1
	for i, t := range a.types {
		if req.MemoryTypeBits&(1<<uint(i)) == 0 || t.flags&want != want {
			continue
		}
		s := 0
		for bit := vk.MemoryPropertyFlagBits(1); bit != 0 && bit <= prefer; bit <<= 1 {
			if prefer&bit != 0 && t.flags&bit != 0 {
				s++
			}
		}
		if s > score {
			typ, score = i, s
		}
	}
	if typ < 0 {
		vk.DestroyBuffer(h, buf, nil)
		return nil, fmt.Errorf("vk: the device has no memory type with flags %#x for buffers", uint32(want))
	}
	var mem vk.DeviceMemory
	if err := check("vkAllocateMemory", vk.AllocateMemory(h, &vk.MemoryAllocateInfo{
		SType:           vk.StructureTypeMemoryAllocateInfo,
		AllocationSize:  req.Size,
		MemoryTypeIndex: uint32(typ),
	}, nil, &mem)); err != nil {
		vk.DestroyBuffer(h, buf, nil)
		return nil, err
	}
	b := &block{memory: mem, buffer: buf, size: size, free: []span{{0, size}}}
	if err := check("vkBindBufferMemory", vk.BindBufferMemory(h, buf, mem, 0)); err != nil {
		b.destroy(h)
		return nil, err
	}
	if a.types[typ].flags&vk.MemoryPropertyHostVisibleBit != 0 {
		var p unsafe.Pointer
		if err := check("vkMapMemory", vk.MapMemory(h, mem, 0, vk.DeviceSize(size), 0, &p)); err != nil {
			b.destroy(h)
			return nil, err
		}
		b.mapped = unsafe.Slice((*byte)(p), size)
	}
	return b, nil
}

func (b *block) destroy(h vk.Device) {
	if b.mapped != nil {
		vk.UnmapMemory(h, b.memory)
		b.mapped = nil
	}
	vk.DestroyBuffer(h, b.buffer, nil)
	vk.FreeMemory(h, b.memory, nil)
}

// take carves size bytes out of b's free list, first fit.
func (b *block) take(size uint64) (uint64, bool) {
	for i, s := range b.free {
		if s.size < size {
			continue
		}
		off := s.off
		if s.size == size {
			b.free = append(b.free[:i], b.free[i+1:]...)
		} else {
			b.free[i] = span{s.off + size, s.size - size}
		}
		return off, true
	}
	return 0, false
}

// give returns a range to b's free list, merging it with its neighbours.
func (b *block) give(off, size uint64) {
	i := 0
	for i < len(b.free) && b.free[i].off < off {
		i++
	}
	b.free = append(b.free, span{})
	copy(b.free[i+1:], b.free[i:])
	b.free[i] = span{off, size}
	if i+1 < len(b.free) && b.free[i].off+b.free[i].size == b.free[i+1].off {
		b.free[i].size += b.free[i+1].size
		b.free = append(b.free[:i+1], b.free[i+2:]...)
	}
	if i > 0 && b.free[i-1].off+b.free[i-1].size == b.free[i].off {
		b.free[i-1].size += b.free[i].size
		b.free = append(b.free[:i], b.free[i+1:]...)
	}
}

// alloc finds size bytes (already aligned) in a device-local block, making a
// new block when none has room.
func (a *allocator) alloc(size uint64) (*block, uint64, error) {
	b, off, err := a.place(size)
	if err == nil && a.poison {
		if b.mapped == nil {
			return nil, 0, fmt.Errorf("vk: poisoning new buffers needs host-visible memory, and this device's buffers are not")
		}
		mem := b.mapped[off : off+size]
		for i := range mem {
			mem[i] = 0xff // a NaN in every float
		}
	}
	return b, off, err
}

func (a *allocator) place(size uint64) (*block, uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, b := range a.blocks {
		if off, ok := b.take(size); ok {
			return b, off, nil
		}
	}
	if size > a.maxAlloc {
		return nil, 0, fmt.Errorf("%w: %d bytes is more than the device's largest allocation (%d bytes)", ErrOutOfDeviceMemory, size, a.maxAlloc)
	}
	bs := a.blockSize
	if size > bs {
		bs = size
	}
	b, err := a.newBlock(bs, 0, vk.MemoryPropertyDeviceLocalBit)
	if err != nil {
		return nil, 0, err
	}
	a.blocks = append(a.blocks, b)
	off, _ := b.take(size)
	return b, off, nil
}

func (a *allocator) free(b *block, off, size uint64) {
	a.mu.Lock()
	b.give(off, size)
	a.mu.Unlock()
}

func (a *allocator) roundUp(n uint64) uint64 { return (n + a.align - 1) / a.align * a.align }

func (a *allocator) destroy() {
	for _, b := range a.blocks {
		b.destroy(a.dev.handle)
	}
	a.blocks = nil
}

// MemoryStats is what a device's memory holds: the bytes of the blocks it
// allocated for buffers (each a vkAllocateMemory), the bytes its live
// buffers asked for, and the host-visible staging ring's block.
type MemoryStats struct {
	Allocated uint64
	Blocks    int
	Buffers   uint64
	Staging   uint64
}

// Memory reports the device's memory use now.
func (d *Device) Memory() MemoryStats {
	var m MemoryStats
	if d.mem == nil {
		return m
	}
	d.mem.mu.Lock()
	for _, b := range d.mem.blocks {
		m.Allocated += b.size
		m.Blocks++
	}
	d.mem.mu.Unlock()
	if d.staging != nil && d.staging.blk != nil {
		m.Staging = d.staging.blk.size
	}
	d.mu.Lock()
	for _, c := range d.live {
		if b, ok := c.(*Buffer); ok {
			m.Buffers += b.size
		}
	}
	d.mu.Unlock()
	return m
}

// Buffer is a range of device memory that kernels read and write.
type Buffer struct {
	dev  *Device
	id   uint64
	name string
	blk  *block
	off  uint64
	size uint64 // what the caller asked for
	span uint64 // what was set aside: size rounded up to the alignment

	views  map[vk.Format]vk.BufferView // texel views, made on first use
	parent *Buffer                     // the buffer a view is part of; nil for one NewBuffer made
	parts  []*Buffer                   // the views into this buffer, closed with it
}

// NewBuffer sets aside size bytes of device memory. The name appears in
// errors and leak reports. The contents start undefined.
func (d *Device) NewBuffer(name string, size int) (*Buffer, error) {
	if size <= 0 {
		return nil, fmt.Errorf("vk: buffer %q: size %d must be positive", name, size)
	}
	b := &Buffer{dev: d, name: name, size: uint64(size), span: d.mem.roundUp(uint64(size))}
	blk, off, err := d.mem.alloc(b.span)
	if err != nil {
		return nil, fmt.Errorf("vk: buffer %q (%d bytes): %w", name, size, err)
	}
	b.blk, b.off = blk, off
	id, err := d.adopt(b)
	if err != nil {
		d.mem.free(blk, off, b.span)
		return nil, err
	}
	b.id = id
	return b, nil
}

// Alignment is the byte multiple a view's offset into its buffer must be
// (View): the device's storage and texel buffer offset alignments, and at
// least 16 bytes so vec4 loads stay aligned.
func (d *Device) Alignment() int { return int(d.mem.align) }

// View is size bytes of b from byte off, as a buffer of its own: kernels
// bind it at its own offset, Upload and Download address it from its
// start, and barriers see the bytes it shares with b and with b's other
// views. off must be a multiple of the device's Alignment, and the view,
// rounded up to it, must lie inside b. A view is part of b: closing b
// closes it, and closing the view leaves b as it was.
func (b *Buffer) View(name string, off, size int) (*Buffer, error) {
	if b.blk == nil {
		return nil, fmt.Errorf("vk: view %q of buffer %q: %w", name, b.name, ErrClosed)
	}
	span := b.dev.mem.roundUp(uint64(size))
	switch {
	case size <= 0 || off < 0:
		return nil, fmt.Errorf("vk: view %q of buffer %q: %d bytes at %d: need a positive size and an offset ≥ 0", name, b.name, size, off)
	case uint64(off)%b.dev.mem.align != 0:
		return nil, fmt.Errorf("vk: view %q of buffer %q: offset %d is not a multiple of the device's alignment %d", name, b.name, off, b.dev.mem.align)
	case uint64(off)+span > b.span:
		return nil, fmt.Errorf("vk: view %q of buffer %q: bytes [%d, %d) are outside its %d bytes", name, b.name, off, uint64(off)+span, b.span)
	}
	v := &Buffer{dev: b.dev, name: name, blk: b.blk, off: b.off + uint64(off), size: uint64(size), span: span, parent: b}
	b.parts = append(b.parts, v)
	return v, nil
}

// Name is the name given to NewBuffer.
func (b *Buffer) Name() string { return b.name }

// Size is the size in bytes given to NewBuffer.
func (b *Buffer) Size() int { return int(b.size) }

// Close gives the memory back, and closes the buffer's views. Closing a
// view only forgets it. It is idempotent.
func (b *Buffer) Close() {
	if b.blk == nil {
		return
	}
	b.destroy()
	if b.parent == nil {
		b.dev.release(b.id)
	}
}

func (b *Buffer) describe() string { return fmt.Sprintf("buffer %q (%d bytes)", b.name, b.size) }

func (b *Buffer) destroy() {
	for _, p := range b.parts {
		p.Close()
	}
	b.parts = nil
	for _, v := range b.views {
		vk.DestroyBufferView(b.dev.handle, v, nil)
	}
	b.views = nil
	if b.parent == nil {
		b.dev.mem.free(b.blk, b.off, b.span)
	}
	b.blk = nil
}

// view returns the buffer seen as texels of format f (texel bytes each),
// made on first use and destroyed with the buffer. It spans what was set
// aside (the size rounded up to the alignment, at least 16 bytes), so even
// a buffer of one float has a whole vec4 texel.
func (b *Buffer) view(f vk.Format, texel uint64) (vk.BufferView, error) {
	if v, ok := b.views[f]; ok {
		return v, nil
	}
	n := b.span / texel
	if n == 0 || n > uint64(b.dev.info.MaxTexelBufferElements) {
		return vk.NullBufferView, fmt.Errorf("buffer %q holds %d texels of %d bytes; the device's texel buffers hold 1 to %d",
			b.name, n, texel, b.dev.info.MaxTexelBufferElements)
	}
	var v vk.BufferView
	if err := check("vkCreateBufferView", vk.CreateBufferView(b.dev.handle, &vk.BufferViewCreateInfo{
		SType:  vk.StructureTypeBufferViewCreateInfo,
		Buffer: b.blk.buffer,
		Format: f,
		Offset: vk.DeviceSize(b.off),
		Range:  vk.DeviceSize(n * texel),
	}, nil, &v)); err != nil {
		return vk.NullBufferView, err
	}
	if b.views == nil {
		b.views = map[vk.Format]vk.BufferView{}
	}
	b.views[f] = v
	return v, nil
}

// overlaps reports whether two buffers share any byte of memory.
func (b *Buffer) overlaps(c *Buffer) bool {
	return b.blk == c.blk && b.off < c.off+c.span && c.off < b.off+b.span
}

// Float32Bytes views a float32 slice as bytes (no copy), for Upload and Download.
func Float32Bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*4)
}

// Uint32Bytes views a uint32 slice as bytes (no copy): class labels.
func Uint32Bytes(u []uint32) []byte {
	if len(u) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&u[0])), len(u)*4)
}
