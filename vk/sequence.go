package vk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Groups is how many workgroups a dispatch runs in x, y and z; a zero Y or Z
// counts as 1.
type Groups struct{ X, Y, Z uint32 }

// GroupsFor covers n invocations with workgroups of local invocations in x.
func GroupsFor(n, local int) Groups { return Groups{X: uint32((n + local - 1) / local)} }

// Stats counts what a sequence recorded.
type Stats struct {
	Dispatches, Copies, Fills, Barriers, Timestamps int
}

// Stamp is one timestamp written by a sequence: its label (the command it
// follows, for a profiled sequence), the scope it was recorded in, and when
// the device passed it, measured from the sequence's first timestamp.
type Stamp struct {
	Label string
	Scope string
	At    time.Duration
}

// Sequence is a recorded command buffer. Dispatch, Copy, Fill and Timestamp
// record; Submit runs it and waits; submitting again replays it without
// re-recording. Barriers come from the buffers each command reads and writes:
// a command that touches memory an earlier one in the sequence wrote (or
// writes memory an earlier one read) gets one memory barrier in front of it.
//
// Recording calls return nothing: the first failure is kept and returned by
// Submit (and every later Submit) until Reset.
type Sequence struct {
	dev  *Device
	id   uint64
	name string

	pool  vk.CommandPool
	cmd   vk.CommandBuffer
	fence vk.Fence
	descs []descriptorPool

	queries   vk.QueryPool
	labels    []string
	scopes    []string
	scope     string
	profiling bool // a timestamp follows every command

	err      error
	finished bool      // recording ended; the command buffer can be submitted
	ran      bool      // a submission completed, so the timestamps are written
	pending  []access  // accesses since the last barrier
	buffers  []*Buffer // what the recording refers to, checked at Submit
	kernels  []*Kernel
	stats    Stats

	unsynced bool // record no hazard barriers (tests use it to prove the validation layer watches)
}

// access is one command's use of a byte range of a block.
type access struct {
	blk    *block
	lo, hi uint64
	write  bool
	stage  vk.PipelineStageFlagBits
	mask   vk.AccessFlagBits
}

type descriptorPool struct {
	pool                 vk.DescriptorPool
	sets, storage, texel int // what is left
}

const (
	poolSets     = 64
	poolStorage  = 8 * poolSets // of each descriptor type
	maxTimestamp = 256
	maxProfiled  = 8192 // timestamps in a profiled sequence

	deviceStages = vk.PipelineStageComputeShaderBit | vk.PipelineStageTransferBit
	deviceWrites = vk.AccessShaderWriteBit | vk.AccessTransferWriteBit
	deviceAccess = vk.AccessShaderReadBit | vk.AccessShaderWriteBit |
		vk.AccessTransferReadBit | vk.AccessTransferWriteBit
)

// NewSequence starts recording a new command buffer.
func (d *Device) NewSequence(name string) (*Sequence, error) {
	s := &Sequence{dev: d, name: name}
	var err error
	if s.pool, err = d.newCommandPool(); err == nil {
		if s.cmd, err = d.newCommandBuffer(s.pool); err == nil {
			if s.fence, err = d.newFence(); err == nil {
				err = s.begin()
			}
		}
	}
	if err == nil {
		s.id, err = d.adopt(s)
	}
	if err != nil {
		s.destroy()
		return nil, fmt.Errorf("vk: sequence %q: %w", name, err)
	}
	return s, nil
}

func (s *Sequence) begin() error {
	if err := check("vkBeginCommandBuffer", vk.BeginCommandBuffer(s.cmd, &vk.CommandBufferBeginInfo{
		SType: vk.StructureTypeCommandBufferBeginInfo,
	})); err != nil {
		return err
	}
	barrierIn(s.cmd)
	return nil
}

// fail keeps the first recording error.
func (s *Sequence) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("vk: sequence %q: "+format, append([]any{s.name}, args...)...)
	}
}

// recording reports whether commands may be recorded now.
func (s *Sequence) recording() bool {
	if s.err != nil {
		return false
	}
	if s.pool == vk.NullCommandPool {
		s.fail("%w", ErrClosed)
		return false
	}
	if s.finished {
		s.fail("%w", errSequenceFinished)
		return false
	}
	return true
}

func (s *Sequence) usable(what string, b *Buffer) bool {
	switch {
	case b == nil:
		s.fail("%s: nil buffer", what)
	case b.blk == nil:
		s.fail("%s: buffer %q: %w", what, b.name, ErrClosed)
	case b.dev != s.dev:
		s.fail("%s: buffer %q belongs to another device", what, b.name)
	default:
		return true
	}
	return false
}

// Dispatch records one run of k over g workgroups. push is the shader's
// push-constant block as a Go struct of fixed-size fields (or nil when it has
// none); bufs are bound to bindings 0, 1, … in order.
func (s *Sequence) Dispatch(k *Kernel, g Groups, push any, bufs ...*Buffer) {
	if !s.recording() {
		return
	}
	switch {
	case k == nil:
		s.fail("dispatch: nil kernel")
		return
	case k.module == vk.NullShaderModule:
		s.fail("dispatch %q: %w", k.name, ErrClosed)
		return
	case k.dev != s.dev:
		s.fail("dispatch %q: the kernel belongs to another device", k.name)
		return
	}
	what := fmt.Sprintf("dispatch %q", k.name)
	if len(bufs) != len(k.bindings) {
		s.fail("%s: %d buffers given, the shader has %d bindings", what, len(bufs), len(k.bindings))
		return
	}
	var pushBytes []byte
	if push != nil || k.pushSize > 0 {
		n := binary.Size(push)
		if n < 0 {
			s.fail("%s: push constants must be a struct of fixed-size fields, got %T", what, push)
			return
		}
		if n != int(k.pushSize) {
			s.fail("%s: push constants %T are %d bytes, the shader's block is %d bytes", what, push, n, k.pushSize)
			return
		}
		var w bytes.Buffer
		binary.Write(&w, binary.LittleEndian, push)
		pushBytes = w.Bytes()
	}
	g = g.normalize()
	lim := s.dev.info.MaxWorkgroupCount
	if g.X > lim[0] || g.Y > lim[1] || g.Z > lim[2] {
		s.fail("%s: %d×%d×%d workgroups exceed the device's limit %d×%d×%d", what, g.X, g.Y, g.Z, lim[0], lim[1], lim[2])
		return
	}
	accs := make([]access, 0, 2*len(bufs))
	for i, b := range bufs {
		if !s.usable(fmt.Sprintf("%s binding %d (%s)", what, i, k.bindings[i].name), b) {
			return
		}
		if k.bindings[i].kind == storageBuffer && b.size > uint64(s.dev.info.MaxStorageBufferRange) {
			s.fail("%s: buffer %q is %d bytes, more than the device's maxStorageBufferRange (%d); split it",
				what, b.name, b.size, s.dev.info.MaxStorageBufferRange)
			return
		}
		bi := k.bindings[i]
		if bi.reads {
			accs = append(accs, b.access(false, vk.PipelineStageComputeShaderBit, vk.AccessShaderReadBit))
		}
		if bi.writes {
			accs = append(accs, b.access(true, vk.PipelineStageComputeShaderBit, vk.AccessShaderWriteBit))
		}
	}
	set, err := s.descriptorSet(k)
	if err != nil {
		s.fail("%s: %v", what, err)
		return
	}
	writes := make([]binding, len(bufs))
	for i, b := range bufs {
		bi := k.bindings[i]
		if bi.kind == storageTexelBuffer {
			f, size := bi.format.vkFormat()
			v, err := b.view(f, size)
			if err != nil {
				s.fail("%s binding %d (%s): %v", what, i, bi.name, err)
				return
			}
			writes[i] = binding{texel: true, view: v}
			continue
		}
		writes[i] = binding{buffer: b.blk.buffer, off: b.off, size: b.size}
	}
	writeSet(s.dev.handle, set, writes)

	s.track(accs)
	vk.CmdBindPipeline(s.cmd, vk.PipelineBindPointCompute, k.pipeline)
	vk.CmdBindDescriptorSets(s.cmd, vk.PipelineBindPointCompute, k.layout, 0, 1, []vk.DescriptorSet{set}, 0, nil)
	if len(pushBytes) > 0 {
		vk.CmdPushConstants(s.cmd, k.layout, vk.ShaderStageFlags(vk.ShaderStageComputeBit), 0, uint32(len(pushBytes)), unsafe.Pointer(&pushBytes[0]))
	}
	vk.CmdDispatch(s.cmd, g.X, g.Y, g.Z)
	s.stats.Dispatches++
	s.buffers = append(s.buffers, bufs...)
	s.kernels = append(s.kernels, k)
	s.profile(k.name)
}

func (g Groups) normalize() Groups {
	if g.Y == 0 {
		g.Y = 1
	}
	if g.Z == 0 {
		g.Z = 1
	}
	return g
}

func (b *Buffer) access(write bool, stage vk.PipelineStageFlagBits, mask vk.AccessFlagBits) access {
	return access{blk: b.blk, lo: b.off, hi: b.off + b.span, write: write, stage: stage, mask: mask}
}

// Copy records a copy of all of src into the start of dst.
func (s *Sequence) Copy(dst, src *Buffer) { s.CopyN(dst, src, src.Size()) }

// CopyN records a copy of the first n bytes of src into the start of dst.
func (s *Sequence) CopyN(dst, src *Buffer, n int) {
	if !s.recording() || !s.usable("copy", dst) || !s.usable("copy", src) {
		return
	}
	switch {
	case n <= 0 || uint64(n) > src.size:
		s.fail("copy: %d bytes of buffer %q (%d bytes)", n, src.name, src.size)
		return
	case dst.size < uint64(n):
		s.fail("copy: buffer %q (%d bytes) cannot hold %d bytes of buffer %q", dst.name, dst.size, n, src.name)
		return
	case dst.overlaps(src):
		s.fail("copy: buffers %q and %q overlap", dst.name, src.name)
		return
	}
	s.track([]access{
		src.access(false, vk.PipelineStageTransferBit, vk.AccessTransferReadBit),
		dst.access(true, vk.PipelineStageTransferBit, vk.AccessTransferWriteBit),
	})
	cmdCopyBuffer(s.cmd, src.blk.buffer, src.off, dst.blk.buffer, dst.off, uint64(n))
	s.stats.Copies++
	s.buffers = append(s.buffers, dst, src)
	s.profile("copy")
}

// Fill records setting every 32-bit word of dst to word (0 zeroes it;
// math.Float32bits(v) fills with a float). Padding past Size is filled too.
func (s *Sequence) Fill(dst *Buffer, word uint32) {
	if !s.recording() || !s.usable("fill", dst) {
		return
	}
	s.track([]access{dst.access(true, vk.PipelineStageTransferBit, vk.AccessTransferWriteBit)})
	vk.CmdFillBuffer(s.cmd, dst.blk.buffer, vk.DeviceSize(dst.off), vk.DeviceSize(dst.span), word)
	s.stats.Fills++
	s.buffers = append(s.buffers, dst)
	s.profile("fill")
}

// Timestamp records the moment the device finishes everything recorded
// before it; read the stamps with Timestamps after Submit.
func (s *Sequence) Timestamp(label string) {
	if s.recording() {
		s.stamp(label)
	}
}

// Profile makes the sequence write a timestamp after every command recorded
// from now on, labelled with the kernel's name ("copy" and "fill" for
// those), and one now, labelled "start": the difference between a stamp and
// the one before it is that command's time on the device. Call it before
// any other timestamp. Profiling costs a little time per command; a
// sequence meant for measuring the whole should not profile.
func (s *Sequence) Profile() {
	if !s.recording() {
		return
	}
	if len(s.labels) > 0 {
		s.fail("profile: call it before the first timestamp")
		return
	}
	s.profiling = true
	s.stamp("start")
}

// Scope names the commands recorded after it, up to the next Scope, in the
// stamps Timestamps returns.
func (s *Sequence) Scope(name string) { s.scope = name }

// InScope is the scope commands are recorded in now.
func (s *Sequence) InScope() string { return s.scope }

func (s *Sequence) profile(label string) {
	if s.profiling {
		s.stamp(label)
	}
}

func (s *Sequence) capacity() int {
	if s.profiling {
		return maxProfiled
	}
	return maxTimestamp
}

func (s *Sequence) stamp(label string) {
	if !s.dev.info.Timestamps {
		s.fail("timestamp %q: the device's queue cannot write timestamps", label)
		return
	}
	if len(s.labels) == s.capacity() {
		s.fail("timestamp %q: more than %d timestamps in one sequence", label, s.capacity())
		return
	}
	if s.queries == vk.NullQueryPool {
		var qp vk.QueryPool
		if err := check("vkCreateQueryPool", vk.CreateQueryPool(s.dev.handle, &vk.QueryPoolCreateInfo{
			SType:      vk.StructureTypeQueryPoolCreateInfo,
			QueryType:  vk.QueryTypeTimestamp,
			QueryCount: uint32(s.capacity()),
		}, nil, &qp)); err != nil {
			s.fail("timestamp %q: %v", label, err)
			return
		}
		s.queries = qp
	}
	if len(s.labels) == 0 {
		vk.CmdResetQueryPool(s.cmd, s.queries, 0, uint32(s.capacity()))
	}
	vk.CmdWriteTimestamp(s.cmd, vk.PipelineStageBottomOfPipeBit, s.queries, uint32(len(s.labels)))
	s.labels = append(s.labels, label)
	s.scopes = append(s.scopes, s.scope)
	s.stats.Timestamps++
}

// track inserts a barrier when accs conflict with what was recorded since the
// last one, then remembers accs. The barrier's source scope is everything
// since the last barrier; its destination scope is every device stage and
// access, so it also covers later commands of other kinds (a copy reading what
// a dispatch before the barrier wrote) and the pending list can start afresh.
func (s *Sequence) track(accs []access) {
	hazard := false
	for _, a := range accs {
		for _, p := range s.pending {
			if p.blk == a.blk && p.lo < a.hi && a.lo < p.hi && (p.write || a.write) {
				hazard = true
			}
		}
	}
	if hazard && !s.unsynced {
		var srcStage vk.PipelineStageFlagBits
		var srcMask vk.AccessFlagBits
		for _, p := range s.pending {
			srcStage |= p.stage
			if p.write {
				srcMask |= p.mask
			}
		}
		memoryBarrier(s.cmd, srcStage, deviceStages, srcMask, deviceAccess)
		s.stats.Barriers++
		s.pending = s.pending[:0]
	}
	s.pending = append(s.pending, accs...)
}

func memoryBarrier(cmd vk.CommandBuffer, srcStage, dstStage vk.PipelineStageFlagBits, srcMask, dstMask vk.AccessFlagBits) {
	cmdMemoryBarrier(cmd, srcStage, dstStage, srcMask, dstMask)
}

// barrierIn opens every command buffer: whatever earlier submissions wrote is
// visible to this one.
func barrierIn(cmd vk.CommandBuffer) {
	memoryBarrier(cmd, deviceStages, deviceStages, deviceWrites, deviceAccess)
}

// barrierOut closes every command buffer: what it wrote is visible to the host
// once its fence has signalled.
func barrierOut(cmd vk.CommandBuffer) {
	memoryBarrier(cmd, deviceStages, vk.PipelineStageHostBit, deviceWrites, vk.AccessHostReadBit)
}

func (s *Sequence) descriptorSet(k *Kernel) (vk.DescriptorSet, error) {
	if k.storage > poolStorage || k.texel > poolStorage {
		return vk.NullDescriptorSet, fmt.Errorf("%d bindings; at most %d of each kind are supported", len(k.bindings), poolStorage)
	}
	n := len(s.descs)
	if n == 0 || s.descs[n-1].sets == 0 || s.descs[n-1].storage < k.storage || s.descs[n-1].texel < k.texel {
		var p vk.DescriptorPool
		if err := check("vkCreateDescriptorPool", vk.CreateDescriptorPool(s.dev.handle, &vk.DescriptorPoolCreateInfo{
			SType:         vk.StructureTypeDescriptorPoolCreateInfo,
			MaxSets:       poolSets,
			PoolSizeCount: 2,
			PPoolSizes: []vk.DescriptorPoolSize{
				{Type: vk.DescriptorTypeStorageBuffer, DescriptorCount: poolStorage},
				{Type: vk.DescriptorTypeStorageTexelBuffer, DescriptorCount: poolStorage},
			},
		}, nil, &p)); err != nil {
			return vk.NullDescriptorSet, err
		}
		s.descs = append(s.descs, descriptorPool{pool: p, sets: poolSets, storage: poolStorage, texel: poolStorage})
		n++
	}
	dp := &s.descs[n-1]
	var set vk.DescriptorSet
	if err := check("vkAllocateDescriptorSets", vk.AllocateDescriptorSets(s.dev.handle, &vk.DescriptorSetAllocateInfo{
		SType:              vk.StructureTypeDescriptorSetAllocateInfo,
		DescriptorPool:     dp.pool,
		DescriptorSetCount: 1,
		PSetLayouts:        []vk.DescriptorSetLayout{k.setLayout},
	}, &set)); err != nil {
		return vk.NullDescriptorSet, err
	}
	dp.sets--
	dp.storage -= k.storage
	dp.texel -= k.texel
	return set, nil
}

// Submit ends recording (the first time), runs the sequence and waits for it.
func (s *Sequence) Submit() error {
	if s.err != nil {
		return s.err
	}
	if s.pool == vk.NullCommandPool {
		return fmt.Errorf("vk: sequence %q: %w", s.name, ErrClosed)
	}
	for _, b := range s.buffers {
		if b.blk == nil {
			return fmt.Errorf("vk: sequence %q: buffer %q was closed after it was recorded", s.name, b.name)
		}
	}
	for _, k := range s.kernels {
		if k.module == vk.NullShaderModule {
			return fmt.Errorf("vk: sequence %q: kernel %q was closed after it was recorded", s.name, k.name)
		}
	}
	if !s.finished {
		barrierOut(s.cmd)
		if err := check("vkEndCommandBuffer", vk.EndCommandBuffer(s.cmd)); err != nil {
			s.err = fmt.Errorf("vk: sequence %q: %w", s.name, err)
			return s.err
		}
		s.finished = true
	}
	if err := s.dev.submit(s.cmd, s.fence); err != nil {
		return fmt.Errorf("vk: sequence %q: %w", s.name, err)
	}
	s.ran = true
	return nil
}

// Timestamps reads the stamps the last Submit wrote.
func (s *Sequence) Timestamps() ([]Stamp, error) {
	if len(s.labels) == 0 {
		return nil, nil
	}
	if !s.ran {
		return nil, fmt.Errorf("vk: sequence %q: timestamps are read after a successful Submit", s.name)
	}
	raw := make([]uint64, len(s.labels))
	if err := check("vkGetQueryPoolResults", vk.GetQueryPoolResults(s.dev.handle, s.queries, 0, uint32(len(raw)),
		uint(8*len(raw)), unsafe.Pointer(&raw[0]), 8,
		vk.QueryResultFlags(vk.QueryResult64Bit|vk.QueryResultWaitBit))); err != nil {
		return nil, fmt.Errorf("vk: sequence %q: %w", s.name, err)
	}
	out := make([]Stamp, len(raw))
	period := float64(s.dev.info.TimestampPeriod)
	for i, t := range raw {
		out[i] = Stamp{Label: s.labels[i], Scope: s.scopes[i], At: time.Duration(float64(t-raw[0]) * period)}
	}
	return out, nil
}

// Stats counts what was recorded.
func (s *Sequence) Stats() Stats { return s.stats }

// Reset drops the recording (and a kept error) so the sequence can be
// recorded anew.
func (s *Sequence) Reset() error {
	if s.pool == vk.NullCommandPool {
		return fmt.Errorf("vk: sequence %q: %w", s.name, ErrClosed)
	}
	if err := check("vkResetCommandPool", vk.ResetCommandPool(s.dev.handle, s.pool, 0)); err != nil {
		return fmt.Errorf("vk: sequence %q: %w", s.name, err)
	}
	for i := range s.descs {
		vk.ResetDescriptorPool(s.dev.handle, s.descs[i].pool, 0)
		s.descs[i].sets, s.descs[i].storage, s.descs[i].texel = poolSets, poolStorage, poolStorage
	}
	s.err, s.finished, s.ran = nil, false, false
	s.pending, s.buffers, s.kernels = s.pending[:0], nil, nil
	s.labels, s.scopes, s.scope, s.stats = nil, nil, "", Stats{}
	if s.queries != vk.NullQueryPool { // its size follows profiling, which starts afresh
		vk.DestroyQueryPool(s.dev.handle, s.queries, nil)
		s.queries = vk.NullQueryPool
	}
	s.profiling = false
	if err := s.begin(); err != nil {
		s.err = fmt.Errorf("vk: sequence %q: %w", s.name, err)
		return s.err
	}
	return nil
}

// Close destroys the command buffer and what it holds. It is idempotent.
func (s *Sequence) Close() {
	if s.pool == vk.NullCommandPool {
		return
	}
	s.destroy()
	s.dev.release(s.id)
}

func (s *Sequence) describe() string { return fmt.Sprintf("sequence %q", s.name) }

func (s *Sequence) destroy() {
	h := s.dev.handle
	for _, p := range s.descs {
		vk.DestroyDescriptorPool(h, p.pool, nil)
	}
	s.descs = nil
	if s.queries != vk.NullQueryPool {
		vk.DestroyQueryPool(h, s.queries, nil)
		s.queries = vk.NullQueryPool
	}
	if s.fence != vk.NullFence {
		vk.DestroyFence(h, s.fence, nil)
		s.fence = vk.NullFence
	}
	if s.pool != vk.NullCommandPool {
		vk.DestroyCommandPool(h, s.pool, nil)
		s.pool = vk.NullCommandPool
	}
}
