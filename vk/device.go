package vk

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	vk "github.com/vulkan-go/vulkan"
)

// Device is an opened Vulkan device with one compute queue. It owns every
// object made from it (buffers, kernels, sequences): Close destroys whatever
// is left, in reverse order of creation, and reports it as a leak.
type Device struct {
	info     DeviceInfo
	inst     *instance
	handle   vk.Device
	queue    vk.Queue
	physical vk.PhysicalDevice
	present  bool // VK_KHR_swapchain is on

	queueMu sync.Mutex // vkQueueSubmit is externally synchronised

	mem     *allocator
	staging *stagingRing

	mu     sync.Mutex
	nextID uint64
	live   map[uint64]child
	closed bool
	log    *messageLog // nil without validation
}

// child is an object owned by a Device.
type child interface {
	describe() string
	destroy()
}

// Open creates an instance, chooses a device as opts says, and opens it.
func Open(opts Options) (*Device, error) {
	in, err := newInstance(opts)
	if err != nil {
		return nil, err
	}
	idx, err := in.pick(opts.Device)
	if err != nil {
		in.destroy()
		return nil, err
	}
	d := &Device{info: in.infos[idx], inst: in, live: map[uint64]child{}}
	if in.messenger != nil {
		d.log = in.messenger.log
	}
	if err := d.create(in.physical[idx], opts); err != nil {
		d.teardown()
		return nil, err
	}
	return d, nil
}

func (d *Device) create(pd vk.PhysicalDevice, opts Options) error {
	var exts []string
	have := deviceExtensions(d.inst.handle, pd)
	if have["VK_KHR_portability_subset"] {
		exts = append(exts, "VK_KHR_portability_subset")
	}
	if len(opts.Present) > 0 {
		if !have["VK_KHR_swapchain"] {
			return fmt.Errorf("%w: %s cannot show a window (no VK_KHR_swapchain); pick another device with --device, or run without a window",
				ErrNoDevice, d.info.Name)
		}
		exts = append(exts, "VK_KHR_swapchain")
		d.present = true
	}
	d.physical = pd
	info := vk.DeviceCreateInfo{
		SType:                vk.StructureTypeDeviceCreateInfo,
		QueueCreateInfoCount: 1,
		PQueueCreateInfos: []vk.DeviceQueueCreateInfo{{
			SType:            vk.StructureTypeDeviceQueueCreateInfo,
			QueueFamilyIndex: uint32(d.info.QueueFamily),
			QueueCount:       1,
			PQueuePriorities: []float32{1},
		}},
		EnabledExtensionCount:   uint32(len(exts)),
		PpEnabledExtensionNames: cStrings(exts),
	}
	var h vk.Device
	if err := check("vkCreateDevice", vk.CreateDevice(pd, &info, nil, &h)); err != nil {
		return err
	}
	d.handle = h
	var q vk.Queue
	vk.GetDeviceQueue(h, uint32(d.info.QueueFamily), 0, &q)
	d.queue = q

	var mp vk.PhysicalDeviceMemoryProperties
	vk.GetPhysicalDeviceMemoryProperties(pd, &mp)
	mp.Deref()
	types := make([]memoryType, mp.MemoryTypeCount)
	for i := range types {
		t := mp.MemoryTypes[i]
		t.Deref()
		types[i] = memoryType{flags: vk.MemoryPropertyFlagBits(t.PropertyFlags), heap: t.HeapIndex}
	}
	d.mem = newAllocator(d, types, opts.BlockSize)
	d.mem.poison = opts.Poison
	s, err := newStagingRing(d)
	if err != nil {
		return err
	}
	d.staging = s
	return nil
}

// Info describes the opened device.
func (d *Device) Info() DeviceInfo { return d.info }

// Messages returns and clears the validation layer's warnings and errors so
// far. It is empty when validation is off, and still works after Close.
func (d *Device) Messages() []Message {
	if d.log == nil {
		return nil
	}
	return d.log.take()
}

// adopt registers a child and returns its id.
func (d *Device) adopt(c child) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, ErrClosed
	}
	d.nextID++
	d.live[d.nextID] = c
	return d.nextID, nil
}

// release forgets a child that destroyed itself.
func (d *Device) release(id uint64) {
	d.mu.Lock()
	delete(d.live, id)
	d.mu.Unlock()
}

// submit runs one command buffer and waits for it to finish.
func (d *Device) submit(cmd vk.CommandBuffer, fence vk.Fence) error {
	if err := d.queueSubmit(cmd, fence); err != nil {
		return err
	}
	return d.wait(fence)
}

// queueSubmit hands one command buffer to the queue; fence signals when it is done.
func (d *Device) queueSubmit(cmd vk.CommandBuffer, fence vk.Fence) error {
	d.queueMu.Lock()
	res := queueSubmit(d.queue, cmd, fence)
	d.queueMu.Unlock()
	return check("vkQueueSubmit", res)
}

// wait blocks until fence signals, then resets it.
func (d *Device) wait(fence vk.Fence) error {
	fences := []vk.Fence{fence}
	if err := check("vkWaitForFences", vk.WaitForFences(d.handle, 1, fences, vk.True, ^uint64(0))); err != nil {
		return err
	}
	return check("vkResetFences", vk.ResetFences(d.handle, 1, fences))
}

func (d *Device) newFence() (vk.Fence, error) {
	var f vk.Fence
	err := check("vkCreateFence", vk.CreateFence(d.handle, &vk.FenceCreateInfo{SType: vk.StructureTypeFenceCreateInfo}, nil, &f))
	return f, err
}

func (d *Device) newCommandPool() (vk.CommandPool, error) {
	var p vk.CommandPool
	err := check("vkCreateCommandPool", vk.CreateCommandPool(d.handle, &vk.CommandPoolCreateInfo{
		SType:            vk.StructureTypeCommandPoolCreateInfo,
		Flags:            vk.CommandPoolCreateFlags(vk.CommandPoolCreateResetCommandBufferBit),
		QueueFamilyIndex: uint32(d.info.QueueFamily),
	}, nil, &p))
	return p, err
}

func (d *Device) newCommandBuffer(pool vk.CommandPool) (vk.CommandBuffer, error) {
	cmds := make([]vk.CommandBuffer, 1)
	err := check("vkAllocateCommandBuffers", vk.AllocateCommandBuffers(d.handle, &vk.CommandBufferAllocateInfo{
		SType:              vk.StructureTypeCommandBufferAllocateInfo,
		CommandPool:        pool,
		Level:              vk.CommandBufferLevelPrimary,
		CommandBufferCount: 1,
	}, cmds))
	return cmds[0], err
}

// Close waits for the device to go idle and destroys everything it owns. If
// buffers, kernels or sequences were still alive it destroys them too and
// returns an error wrapping ErrLeak that names them. Close is idempotent.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	ids := make([]uint64, 0, len(d.live))
	for id := range d.live {
		ids = append(ids, id)
	}
	d.mu.Unlock()

	var err error
	if d.handle != nil {
		err = check("vkDeviceWaitIdle", vk.DeviceWaitIdle(d.handle))
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] > ids[b] })
	var leaked []string
	for _, id := range ids {
		d.mu.Lock()
		c, ok := d.live[id]
		d.mu.Unlock()
		if !ok {
			continue
		}
		leaked = append(leaked, c.describe())
		c.destroy()
	}
	d.teardown()
	if len(leaked) > 0 {
		// Report in creation order: the first one is usually the culprit.
		for i, j := 0, len(leaked)-1; i < j; i, j = i+1, j-1 {
			leaked[i], leaked[j] = leaked[j], leaked[i]
		}
		err = errors.Join(err, fmt.Errorf("%w: %d not closed: %s", ErrLeak, len(leaked), strings.Join(leaked, ", ")))
	}
	return err
}

// teardown destroys the device's own objects, then the instance.
func (d *Device) teardown() {
	if d.staging != nil {
		d.staging.destroy()
		d.staging = nil
	}
	if d.mem != nil {
		d.mem.destroy()
		d.mem = nil
	}
	if d.handle != nil {
		vk.DestroyDevice(d.handle, nil)
		d.handle = nil
	}
	if d.inst != nil {
		d.inst.destroy()
		d.inst = nil
	}
}
