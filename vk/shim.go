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
}

func queryProps2(inst vk.Instance, pd vk.PhysicalDevice, wantDriver bool) props2 {
	var out C.ganvk_props
	want := C.int(0)
	if wantDriver {
		want = 1
	}
	C.ganvk_query(cInstance(inst), C.VkPhysicalDevice(unsafe.Pointer(pd)), want, &out)
	p := props2{subgroupSize: uint32(out.subgroup_size), maxAllocationSize: uint64(out.max_allocation_size)}
	if out.has_driver != 0 {
		p.driverName = C.GoString(&out.driver_name[0])
		p.driverInfo = C.GoString(&out.driver_info[0])
	}
	return p
}

func cInstance(inst vk.Instance) C.VkInstance { return C.VkInstance(unsafe.Pointer(inst)) }

// cBytes copies b into C memory that the caller frees with freeC; used for
// data that vulkan-go would otherwise leave as a Go pointer inside C structs.
func cBytes(b []byte) unsafe.Pointer { return C.CBytes(b) }

func freeC(p unsafe.Pointer) { C.free(p) }
