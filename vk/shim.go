package vk

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"sync"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// loadMu serialises loading the loader: vulkan-go keeps the loaded entry
// points in C globals, so two Opens must not race on them.
var loadMu sync.Mutex

// load opens the Vulkan loader and hands its vkGetInstanceProcAddr to
// vulkan-go. path is empty for the system's libvulkan.so.1.
func load(path string) error {
	loadMu.Lock()
	defer loadMu.Unlock()
	var cpath *C.char
	if path != "" {
		cpath = C.CString(path)
		defer C.free(unsafe.Pointer(cpath))
	}
	gipa := C.ganvk_load(cpath)
	if gipa == nil {
		name := path
		if name == "" {
			name = "libvulkan.so.1"
		}
		return fmt.Errorf("%w: cannot load %s; install the loader (Debian/Ubuntu: apt-get install libvulkan1 mesa-vulkan-drivers)", ErrNoLoader, name)
	}
	vk.SetGetInstanceProcAddr(gipa)
	if err := vk.Init(); err != nil {
		return fmt.Errorf("%w: %v", ErrNoLoader, err)
	}
	return nil
}

// Message is one report from the validation layer.
type Message struct {
	Severity string // "warning" or "error"
	ID       string // the VUID or message name, e.g. "SYNC-HAZARD-READ-AFTER-WRITE"
	Text     string
}

func (m Message) String() string { return fmt.Sprintf("%s: %s", m.Severity, m.Text) }

// messageLog collects validation messages; the C callback reaches it through
// a cgo.Handle, since Vulkan may call from any thread.
type messageLog struct {
	mu   sync.Mutex
	msgs []Message
}

func (l *messageLog) take() []Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.msgs
	l.msgs = nil
	return m
}

//export ganvkOnMessage
func ganvkOnMessage(user C.uintptr_t, severity C.int, types C.int, id *C.char, text *C.char) {
	l := cgo.Handle(user).Value().(*messageLog)
	sev := "warning"
	if severity&C.VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT != 0 {
		sev = "error"
	}
	l.mu.Lock()
	l.msgs = append(l.msgs, Message{Severity: sev, ID: C.GoString(id), Text: C.GoString(text)})
	l.mu.Unlock()
}

// messenger is a VK_EXT_debug_utils messenger feeding a messageLog.
type messenger struct {
	handle C.VkDebugUtilsMessengerEXT
	user   cgo.Handle
	log    *messageLog
}

func newMessenger(inst vk.Instance) (*messenger, error) {
	m := &messenger{log: &messageLog{}}
	m.user = cgo.NewHandle(m.log)
	var h C.VkDebugUtilsMessengerEXT
	if res := C.ganvk_create_messenger(cInstance(inst), C.uintptr_t(m.user), &h); res != C.VK_SUCCESS {
		m.user.Delete()
		return nil, newError("vkCreateDebugUtilsMessengerEXT", vk.Result(res))
	}
	m.handle = h
	return m, nil
}

func (m *messenger) destroy(inst vk.Instance) {
	C.ganvk_destroy_messenger(cInstance(inst), m.handle)
	m.user.Delete()
}

// validationFeatures is the pNext that turns on synchronization validation.
func validationFeatures() unsafe.Pointer { return C.ganvk_validation_features() }

// props2 is what Vulkan 1.1+ reports beyond vulkan-go's 1.0 structs.
type props2 struct {
	subgroupSize      uint32
	maxAllocationSize uint64
	driverName        string
	driverInfo        string
	uuid              [16]byte
}

func queryProps2(inst vk.Instance, pd vk.PhysicalDevice, wantDriver bool) props2 {
	var out C.ganvk_props
	want := C.int(0)
	if wantDriver {
		want = 1
	}
	C.ganvk_query(cInstance(inst), C.VkPhysicalDevice(unsafe.Pointer(pd)), want, &out)
	p := props2{subgroupSize: uint32(out.subgroup_size), maxAllocationSize: uint64(out.max_allocation_size)}
	for i := range p.uuid {
		p.uuid[i] = byte(out.device_uuid[i])
	}
	if out.has_driver != 0 {
		p.driverName = C.GoString(&out.driver_name[0])
		p.driverInfo = C.GoString(&out.driver_info[0])
	}
	return p
}

// The enumerations go through the shim, not vulkan-go (see shim.h for why).

// instanceExtensions is the set of the loader's instance extensions.
func instanceExtensions() map[string]bool {
	var n C.uint32_t
	p := C.ganvk_instance_extensions(&n)
	defer C.free(unsafe.Pointer(p))
	return extensionSet(unsafe.Slice(p, n))
}

// instanceLayers is the set of the loader's instance layers.
func instanceLayers() map[string]bool {
	var n C.uint32_t
	p := C.ganvk_instance_layers(&n)
	defer C.free(unsafe.Pointer(p))
	m := map[string]bool{}
	layers := unsafe.Slice(p, n)
	for i := range layers {
		m[C.GoString(&layers[i].layerName[0])] = true
	}
	return m
}

// deviceExtensions is the set of pd's device extensions.
func deviceExtensions(inst vk.Instance, pd vk.PhysicalDevice) map[string]bool {
	var n C.uint32_t
	p := C.ganvk_device_extensions(cInstance(inst), C.VkPhysicalDevice(unsafe.Pointer(pd)), &n)
	defer C.free(unsafe.Pointer(p))
	return extensionSet(unsafe.Slice(p, n))
}

func extensionSet(props []C.VkExtensionProperties) map[string]bool {
	m := map[string]bool{}
	for i := range props {
		m[C.GoString(&props[i].extensionName[0])] = true
	}
	return m
}

// queueFamily is what device choice reads of a queue family.
type queueFamily struct {
	flags         vk.QueueFlags
	count         uint32
	timestampBits uint32
}

func queueFamilies(inst vk.Instance, pd vk.PhysicalDevice) []queueFamily {
	var n C.uint32_t
	p := C.ganvk_queue_families(cInstance(inst), C.VkPhysicalDevice(unsafe.Pointer(pd)), &n)
	defer C.free(unsafe.Pointer(p))
	var out []queueFamily
	for _, q := range unsafe.Slice(p, n) {
		out = append(out, queueFamily{vk.QueueFlags(q.queueFlags), uint32(q.queueCount), uint32(q.timestampValidBits)})
	}
	return out
}

func cInstance(inst vk.Instance) C.VkInstance { return C.VkInstance(unsafe.Pointer(inst)) }

// loadCommands looks up the commands the shim makes for vulkan-go (see
// shim.h for why).
func loadCommands(inst vk.Instance) error {
	if C.ganvk_load_commands(cInstance(inst)) == 0 {
		return fmt.Errorf("vk: the Vulkan loader lacks a core command (vkCreateComputePipelines, vkQueueSubmit, vkUpdateDescriptorSets, vkCmdCopyBuffer or vkCmdPipelineBarrier)")
	}
	return nil
}

// handle64 is a non-dispatchable handle (a pointer or a uint64, as the
// platform defines them) as a uint64.
func handle64[T any](h T) C.uint64_t {
	if unsafe.Sizeof(h) == 8 {
		return *(*C.uint64_t)(unsafe.Pointer(&h))
	}
	return C.uint64_t(*(*uint32)(unsafe.Pointer(&h)))
}

func createComputePipeline(dev vk.Device, module vk.ShaderModule, layout vk.PipelineLayout, ids, values []uint32) (vk.Pipeline, vk.Result) {
	var pipe vk.Pipeline
	var pids, pvalues *C.uint32_t
	if len(ids) > 0 {
		pids, pvalues = (*C.uint32_t)(unsafe.Pointer(&ids[0])), (*C.uint32_t)(unsafe.Pointer(&values[0]))
	}
	res := C.ganvk_create_compute_pipeline(C.VkDevice(unsafe.Pointer(dev)), *(*C.VkShaderModule)(unsafe.Pointer(&module)),
		*(*C.VkPipelineLayout)(unsafe.Pointer(&layout)), C.uint32_t(len(ids)), pids, pvalues,
		(*C.VkPipeline)(unsafe.Pointer(&pipe)))
	return pipe, vk.Result(res)
}

func queueSubmit(q vk.Queue, cmd vk.CommandBuffer, fence vk.Fence) vk.Result {
	return vk.Result(C.ganvk_queue_submit(C.VkQueue(unsafe.Pointer(q)), C.VkCommandBuffer(unsafe.Pointer(cmd)),
		*(*C.VkFence)(unsafe.Pointer(&fence))))
}

// binding is one descriptor write: a texel view, or a storage buffer range.
type binding struct {
	texel  bool
	view   vk.BufferView
	buffer vk.Buffer
	off    uint64
	size   uint64
}

func writeSet(dev vk.Device, set vk.DescriptorSet, bs []binding) {
	n := len(bs)
	if n == 0 {
		return
	}
	texel := make([]C.int32_t, n)
	buffers, offs, ranges, views := make([]C.uint64_t, n), make([]C.uint64_t, n), make([]C.uint64_t, n), make([]C.uint64_t, n)
	for i, b := range bs {
		if b.texel {
			texel[i], views[i] = 1, handle64(b.view)
		} else {
			buffers[i], offs[i], ranges[i] = handle64(b.buffer), C.uint64_t(b.off), C.uint64_t(b.size)
		}
	}
	C.ganvk_write_set(C.VkDevice(unsafe.Pointer(dev)), *(*C.VkDescriptorSet)(unsafe.Pointer(&set)), C.uint32_t(n),
		&texel[0], &buffers[0], &offs[0], &ranges[0], &views[0])
}

func cmdCopyBuffer(cmd vk.CommandBuffer, src vk.Buffer, srcOff uint64, dst vk.Buffer, dstOff uint64, size uint64) {
	C.ganvk_cmd_copy_buffer(C.VkCommandBuffer(unsafe.Pointer(cmd)), *(*C.VkBuffer)(unsafe.Pointer(&src)), C.uint64_t(srcOff),
		*(*C.VkBuffer)(unsafe.Pointer(&dst)), C.uint64_t(dstOff), C.uint64_t(size))
}

func cmdMemoryBarrier(cmd vk.CommandBuffer, srcStage, dstStage vk.PipelineStageFlagBits, srcMask, dstMask vk.AccessFlagBits) {
	C.ganvk_cmd_memory_barrier(C.VkCommandBuffer(unsafe.Pointer(cmd)), C.uint32_t(srcStage), C.uint32_t(dstStage),
		C.uint32_t(srcMask), C.uint32_t(dstMask))
}
