package vk

import (
	"fmt"
	"sync"

	vk "github.com/vulkan-go/vulkan"
)

// The staging ring moves bytes between the host and device buffers through a
// mapped, host-visible block cut into slots. An upload fills a slot and
// submits its copy without waiting, so the host fills the next slot while the
// device copies the last; a download waits for each slot before reading it.

const (
	stagingSlots    = 4
	stagingSlotSize = 4 << 20
)

type stagingSlot struct {
	off   uint64
	cmd   vk.CommandBuffer
	fence vk.Fence
	busy  bool // submitted, fence not yet waited for
}

type stagingRing struct {
	dev   *Device
	mu    sync.Mutex
	blk   *block
	pool  vk.CommandPool
	slots []stagingSlot
	next  int
}

func newStagingRing(d *Device) (*stagingRing, error) {
	r := &stagingRing{dev: d}
	blk, err := d.mem.newBlock(stagingSlots*stagingSlotSize,
		vk.MemoryPropertyHostVisibleBit|vk.MemoryPropertyHostCoherentBit, vk.MemoryPropertyHostCachedBit)
	if err != nil {
		return nil, fmt.Errorf("vk: staging memory: %w", err)
	}
	r.blk = blk
	if r.pool, err = d.newCommandPool(); err != nil {
		r.destroy()
		return nil, err
	}
	for i := 0; i < stagingSlots; i++ {
		s := stagingSlot{off: uint64(i) * stagingSlotSize}
		if s.cmd, err = d.newCommandBuffer(r.pool); err == nil {
			s.fence, err = d.newFence()
		}
		if err != nil {
			r.destroy()
			return nil, err
		}
		r.slots = append(r.slots, s)
	}
	return r, nil
}

func (r *stagingRing) destroy() {
	h := r.dev.handle
	for _, s := range r.slots {
		vk.DestroyFence(h, s.fence, nil)
	}
	r.slots = nil
	if r.pool != vk.NullCommandPool {
		vk.DestroyCommandPool(h, r.pool, nil)
		r.pool = vk.NullCommandPool
	}
	if r.blk != nil {
		r.blk.destroy(h)
		r.blk = nil
	}
}

// slot returns the next slot, waiting for it if it is still in flight.
func (r *stagingRing) slot() (*stagingSlot, error) {
	s := &r.slots[r.next]
	r.next = (r.next + 1) % len(r.slots)
	if s.busy {
		s.busy = false
		if err := r.dev.wait(s.fence); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// drain waits for every slot in flight.
func (r *stagingRing) drain() error {
	var first error
	for i := range r.slots {
		if s := &r.slots[i]; s.busy {
			s.busy = false
			if err := r.dev.wait(s.fence); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// copy records and submits one copy between the block and a slot.
func (r *stagingRing) copy(s *stagingSlot, src vk.Buffer, srcOff uint64, dst vk.Buffer, dstOff uint64, n uint64) error {
	if err := check("vkResetCommandBuffer", vk.ResetCommandBuffer(s.cmd, 0)); err != nil {
		return err
	}
	if err := check("vkBeginCommandBuffer", vk.BeginCommandBuffer(s.cmd, &vk.CommandBufferBeginInfo{
		SType: vk.StructureTypeCommandBufferBeginInfo,
		Flags: vk.CommandBufferUsageFlags(vk.CommandBufferUsageOneTimeSubmitBit),
	})); err != nil {
		return err
	}
	barrierIn(s.cmd)
	cmdCopyBuffer(s.cmd, src, srcOff, dst, dstOff, n)
	barrierOut(s.cmd)
	if err := check("vkEndCommandBuffer", vk.EndCommandBuffer(s.cmd)); err != nil {
		return err
	}
	if err := r.dev.queueSubmit(s.cmd, s.fence); err != nil {
		return err
	}
	s.busy = true
	return nil
}

func (b *Buffer) checkRange(op string, off, n int) error {
	if b.blk == nil {
		return fmt.Errorf("vk: %s buffer %q: %w", op, b.name, ErrClosed)
	}
	if off < 0 || n < 0 || uint64(off)+uint64(n) > b.size {
		return fmt.Errorf("vk: %s buffer %q: bytes [%d, %d) are outside its %d bytes", op, b.name, off, off+n, b.size)
	}
	return nil
}

// Upload copies data into the buffer starting at byte off, and returns once
// the device holds it.
func (b *Buffer) Upload(off int, data []byte) error {
	if err := b.checkRange("upload to", off, len(data)); err != nil {
		return err
	}
	r := b.dev.staging
	r.mu.Lock()
	defer r.mu.Unlock()
	for done := 0; done < len(data); {
		n := min(len(data)-done, stagingSlotSize)
		if err := r.upload(data[done:done+n], b.blk.buffer, b.off+uint64(off+done)); err != nil {
			r.drain()
			return fmt.Errorf("vk: upload to buffer %q: %w", b.name, err)
		}
		done += n
	}
	if err := r.drain(); err != nil {
		return fmt.Errorf("vk: upload to buffer %q: %w", b.name, err)
	}
	return nil
}

// Download copies len(out) bytes from the buffer, starting at byte off, into out.
func (b *Buffer) Download(off int, out []byte) error {
	if err := b.checkRange("download from", off, len(out)); err != nil {
		return err
	}
	r := b.dev.staging
	r.mu.Lock()
	defer r.mu.Unlock()
	for done := 0; done < len(out); {
		n := min(len(out)-done, stagingSlotSize)
		if err := r.download(b.blk.buffer, b.off+uint64(off+done), out[done:done+n]); err != nil {
			r.drain()
			return fmt.Errorf("vk: download from buffer %q: %w", b.name, err)
		}
		done += n
	}
	return nil
}

// upload fills a slot with data and submits its copy to dst, without waiting.
func (r *stagingRing) upload(data []byte, dst vk.Buffer, dstOff uint64) error {
	s, err := r.slot()
	if err != nil {
		return err
	}
	copy(r.blk.mapped[s.off:], data)
	return r.copy(s, r.blk.buffer, s.off, dst, dstOff, uint64(len(data)))
}

// download copies len(out) bytes from src into a slot, waits, and reads them.
func (r *stagingRing) download(src vk.Buffer, srcOff uint64, out []byte) error {
	s, err := r.slot()
	if err != nil {
		return err
	}
	if err := r.copy(s, src, srcOff, r.blk.buffer, s.off, uint64(len(out))); err != nil {
		return err
	}
	s.busy = false
	if err := r.dev.wait(s.fence); err != nil {
		return err
	}
	copy(out, r.blk.mapped[s.off:])
	return nil
}
