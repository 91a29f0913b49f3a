package vk

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Options configure Open and Devices.
type Options struct {
	// Device picks the device: "" picks the best (discrete > integrated >
	// virtual > CPU), a number picks by index, anything else by a
	// case-insensitive substring of the device name.
	Device string
	// Validation turns on the Khronos validation layer, with synchronization
	// validation; its warnings and errors are collected (Device.Messages).
	Validation bool
	// Loader is the path of the Vulkan loader library; "" loads the system's
	// libvulkan.so.1.
	Loader string
	// BlockSize is the size of the device-memory blocks buffers are carved
	// from; 0 means 16 MiB (capped by the device's maxMemoryAllocationSize).
	BlockSize int64
	// Poison fills every new buffer with 0xFF bytes (a NaN in every
	// float) where lavapipe would give zeros, as a GPU's fresh memory may
	// hold anything: a test that no kernel reads what nothing wrote. It
	// needs host-visible memory (lavapipe's is).
	Poison bool
	// Present lists the instance extensions a window system needs to make
	// surfaces (GLFW's GetRequiredInstanceExtensions). When it is set, the
	// device is opened with VK_KHR_swapchain, for NewSwapchain.
	Present []string
}

// DeviceType is the kind of a physical device.
type DeviceType int

const (
	TypeOther DeviceType = iota
	TypeIntegrated
	TypeDiscrete
	TypeVirtual
	TypeCPU
)

func (t DeviceType) String() string {
	switch t {
	case TypeIntegrated:
		return "integrated GPU"
	case TypeDiscrete:
		return "discrete GPU"
	case TypeVirtual:
		return "virtual GPU"
	case TypeCPU:
		return "CPU"
	}
	return "other"
}

// rank orders device types for the automatic choice.
func (t DeviceType) rank() int {
	switch t {
	case TypeDiscrete:
		return 4
	case TypeIntegrated:
		return 3
	case TypeVirtual:
		return 2
	case TypeCPU:
		return 1
	}
	return 0
}

// Version is a Vulkan version number.
type Version uint32

func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", uint32(v)>>22, (uint32(v)>>12)&0x3ff, uint32(v)&0xfff)
}

// Heap is one memory heap of a device.
type Heap struct {
	Size        uint64
	DeviceLocal bool
}

// DeviceInfo is what a physical device reports, plus whether gan-vk can use it.
type DeviceInfo struct {
	Index      int
	Name       string
	Type       DeviceType
	VendorID   uint32
	DeviceID   uint32
	APIVersion Version
	DriverName string // "" when the device does not report it (Vulkan < 1.2)
	DriverInfo string
	// DriverVersion is the driver's own version number, encoded as the
	// vendor chooses; with UUID it tells one device and driver from another
	// (what a tuned kernel choice is valid for).
	DriverVersion uint32
	UUID          [16]byte // deviceUUID: the same device in every process and instance
	Heaps         []Heap

	MaxWorkgroupSize        [3]uint32
	MaxWorkgroupInvocations uint32
	MaxWorkgroupCount       [3]uint32
	SharedMemory            uint32 // maxComputeSharedMemorySize, bytes
	SubgroupSize            uint32 // 0 when unknown
	MaxPushConstantsSize    uint32
	MaxStorageBufferRange   uint32
	MinStorageBufferAlign   uint64
	MaxTexelBufferElements  uint32
	MinTexelBufferAlign     uint64
	MaxAllocationSize       uint64 // 0 when unknown
	Timestamps              bool   // the compute queue can write timestamps
	TimestampPeriod         float32

	// QueueFamily is the queue family training uses (compute, with graphics
	// where possible so the viewer can present); -1 when there is none.
	QueueFamily int
	// Problem says why gan-vk cannot use this device; "" when it can.
	Problem string
	// Picked marks the device Open would choose with the same Options.
	Picked bool
}

// minAPI is the Vulkan version gan-vk needs (SPIR-V 1.3, subgroup queries).
var minAPI = Version(vk.MakeVersion(1, 1, 0))

// instance owns a VkInstance, its validation messenger and what it enumerated.
type instance struct {
	handle      vk.Instance
	messenger   *messenger
	physical    []vk.PhysicalDevice
	infos       []DeviceInfo
	portability bool // the device list may include portability (MoltenVK) devices
}

func newInstance(opts Options) (*instance, error) {
	if err := load(opts.Loader); err != nil {
		return nil, err
	}
	var exts, layers []string
	haveExt := instanceExtensions()
	portability := haveExt["VK_KHR_portability_enumeration"]
	if portability {
		exts = append(exts, "VK_KHR_portability_enumeration")
	}
	for _, e := range opts.Present {
		if !haveExt[e] {
			return nil, fmt.Errorf("%w: the Vulkan loader lacks %s, which showing a window needs; run without a window", ErrNoDevice, e)
		}
		exts = append(exts, e)
	}
	var pNext unsafe.Pointer
	if opts.Validation {
		if !instanceLayers()["VK_LAYER_KHRONOS_validation"] {
			return nil, fmt.Errorf("%w (Debian/Ubuntu: apt-get install vulkan-validationlayers)", ErrNoValidationLayer)
		}
		layers = append(layers, "VK_LAYER_KHRONOS_validation")
		exts = append(exts, "VK_EXT_debug_utils", "VK_EXT_validation_features")
		pNext = validationFeatures()
	}
	info := vk.InstanceCreateInfo{
		SType: vk.StructureTypeInstanceCreateInfo,
		PNext: pNext,
		PApplicationInfo: &vk.ApplicationInfo{
			SType:            vk.StructureTypeApplicationInfo,
			PApplicationName: "gan-vk\x00",
			PEngineName:      "gan-vk\x00",
			ApiVersion:       uint32(minAPI),
		},
		EnabledLayerCount:       uint32(len(layers)),
		PpEnabledLayerNames:     cStrings(layers),
		EnabledExtensionCount:   uint32(len(exts)),
		PpEnabledExtensionNames: cStrings(exts),
	}
	if portability {
		info.Flags = vk.InstanceCreateFlags(0x00000001) // VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR
	}
	var h vk.Instance
	res := vk.CreateInstance(&info, nil, &h)
	if res == vk.ErrorIncompatibleDriver {
		return nil, fmt.Errorf("%w: the Vulkan loader found no driver (vkCreateInstance: %s); %s", ErrNoDevice, resultName(res), installHint)
	}
	if err := check("vkCreateInstance", res); err != nil {
		return nil, err
	}
	in := &instance{handle: h, portability: portability}
	if err := vk.InitInstance(h); err != nil {
		in.destroy()
		return nil, fmt.Errorf("vk: loading instance functions: %v", err)
	}
	if err := loadCommands(h); err != nil {
		in.destroy()
		return nil, err
	}
	if opts.Validation {
		m, err := newMessenger(h)
		if err != nil {
			in.destroy()
			return nil, err
		}
		in.messenger = m
	}
	if err := in.enumerate(); err != nil {
		in.destroy()
		return nil, err
	}
	return in, nil
}

const installHint = "install a Vulkan driver: mesa-vulkan-drivers for a CPU device (lavapipe), or your GPU vendor's driver"

func (in *instance) destroy() {
	if in.messenger != nil {
		in.messenger.destroy(in.handle)
		in.messenger = nil
	}
	if in.handle != nil {
		vk.DestroyInstance(in.handle, nil)
		in.handle = nil
	}
}

func (in *instance) enumerate() error {
	var n uint32
	if err := check("vkEnumeratePhysicalDevices", vk.EnumeratePhysicalDevices(in.handle, &n, nil)); err != nil {
		return err
	}
	pds := make([]vk.PhysicalDevice, n)
	if n > 0 {
		res := vk.EnumeratePhysicalDevices(in.handle, &n, pds)
		if res != vk.Success && res != vk.Incomplete {
			return newError("vkEnumeratePhysicalDevices", res)
		}
	}
	in.physical = pds[:n]
	for i, pd := range in.physical {
		in.infos = append(in.infos, describe(in.handle, i, pd))
	}
	return nil
}

func describe(inst vk.Instance, index int, pd vk.PhysicalDevice) DeviceInfo {
	var p vk.PhysicalDeviceProperties
	vk.GetPhysicalDeviceProperties(pd, &p)
	p.Deref()
	p.Limits.Deref()
	l := p.Limits
	d := DeviceInfo{
		Index:                   index,
		Name:                    cString(p.DeviceName[:]),
		VendorID:                p.VendorID,
		DeviceID:                p.DeviceID,
		APIVersion:              Version(p.ApiVersion),
		DriverVersion:           p.DriverVersion,
		MaxWorkgroupSize:        l.MaxComputeWorkGroupSize,
		MaxWorkgroupInvocations: l.MaxComputeWorkGroupInvocations,
		MaxWorkgroupCount:       l.MaxComputeWorkGroupCount,
		SharedMemory:            l.MaxComputeSharedMemorySize,
		MaxPushConstantsSize:    l.MaxPushConstantsSize,
		MaxStorageBufferRange:   l.MaxStorageBufferRange,
		MinStorageBufferAlign:   uint64(l.MinStorageBufferOffsetAlignment),
		MaxTexelBufferElements:  l.MaxTexelBufferElements,
		MinTexelBufferAlign:     uint64(l.MinTexelBufferOffsetAlignment),
		TimestampPeriod:         l.TimestampPeriod,
		QueueFamily:             -1,
	}
	switch p.DeviceType {
	case vk.PhysicalDeviceTypeIntegratedGpu:
		d.Type = TypeIntegrated
	case vk.PhysicalDeviceTypeDiscreteGpu:
		d.Type = TypeDiscrete
	case vk.PhysicalDeviceTypeVirtualGpu:
		d.Type = TypeVirtual
	case vk.PhysicalDeviceTypeCpu:
		d.Type = TypeCPU
	}

	var mp vk.PhysicalDeviceMemoryProperties
	vk.GetPhysicalDeviceMemoryProperties(pd, &mp)
	mp.Deref()
	for i := uint32(0); i < mp.MemoryHeapCount; i++ {
		h := mp.MemoryHeaps[i]
		h.Deref()
		d.Heaps = append(d.Heaps, Heap{Size: uint64(h.Size), DeviceLocal: h.Flags&vk.MemoryHeapFlags(vk.MemoryHeapDeviceLocalBit) != 0})
	}

	qs := queueFamilies(inst, pd)
	best := -1
	for i, q := range qs {
		if q.flags&vk.QueueFlags(vk.QueueComputeBit) == 0 || q.count == 0 {
			continue
		}
		graphics := q.flags&vk.QueueFlags(vk.QueueGraphicsBit) != 0
		if best < 0 || (graphics && qs[best].flags&vk.QueueFlags(vk.QueueGraphicsBit) == 0) {
			best = i
		}
	}
	if best >= 0 {
		d.QueueFamily = best
		d.Timestamps = qs[best].timestampBits > 0 && d.TimestampPeriod > 0
	}

	exts := deviceExtensions(inst, pd)
	wantDriver := d.APIVersion >= Version(vk.MakeVersion(1, 2, 0)) || exts["VK_KHR_driver_properties"]
	if d.APIVersion >= minAPI {
		p2 := queryProps2(inst, pd, wantDriver)
		d.SubgroupSize = p2.subgroupSize
		d.MaxAllocationSize = p2.maxAllocationSize
		d.DriverName, d.DriverInfo = p2.driverName, p2.driverInfo
		d.UUID = p2.uuid
	}

	switch {
	case d.APIVersion < minAPI:
		d.Problem = fmt.Sprintf("supports Vulkan %s; gan-vk needs %s", d.APIVersion, minAPI)
	case d.QueueFamily < 0:
		d.Problem = "has no compute queue"
	}
	return d
}

// pick chooses a device as Options.Device says and marks it Picked.
func (in *instance) pick(sel string) (int, error) {
	if len(in.infos) == 0 {
		return -1, fmt.Errorf("%w: the Vulkan loader found no devices; %s", ErrNoDevice, installHint)
	}
	var cands []int
	sel = strings.TrimSpace(sel)
	if sel == "" {
		for i, d := range in.infos {
			if d.Problem == "" {
				cands = append(cands, i)
			}
		}
		if len(cands) == 0 {
			return -1, fmt.Errorf("%w: none of the devices can run gan-vk (%s); %s", ErrNoDevice, listDevices(in.infos), installHint)
		}
		sort.SliceStable(cands, func(a, b int) bool {
			return in.infos[cands[a]].Type.rank() > in.infos[cands[b]].Type.rank()
		})
	} else if n, err := strconv.Atoi(sel); err == nil {
		if n < 0 || n >= len(in.infos) {
			return -1, fmt.Errorf("%w: there is no device %d; the devices are %s", ErrNoDevice, n, listDevices(in.infos))
		}
		cands = []int{n}
	} else {
		for i, d := range in.infos {
			if strings.Contains(strings.ToLower(d.Name), strings.ToLower(sel)) {
				cands = append(cands, i)
			}
		}
		switch {
		case len(cands) == 0:
			return -1, fmt.Errorf("%w: no device name contains %q; the devices are %s", ErrNoDevice, sel, listDevices(in.infos))
		case len(cands) > 1:
			return -1, fmt.Errorf("%w: %q matches several devices; pick one by index: %s", ErrNoDevice, sel, listDevices(in.infos))
		}
	}
	i := cands[0]
	if p := in.infos[i].Problem; p != "" {
		return -1, fmt.Errorf("%w: device %d (%s) %s", ErrNoDevice, i, in.infos[i].Name, p)
	}
	in.infos[i].Picked = true
	return i, nil
}

func listDevices(infos []DeviceInfo) string {
	var parts []string
	for _, d := range infos {
		parts = append(parts, fmt.Sprintf("%d %q", d.Index, d.Name))
	}
	return strings.Join(parts, ", ")
}

// Devices lists every Vulkan device, marking the one Open would pick. When
// opts.Device matches nothing usable the list is still returned, with the error.
func Devices(opts Options) ([]DeviceInfo, error) {
	opts.Validation = false
	in, err := newInstance(opts)
	if err != nil {
		return nil, err
	}
	defer in.destroy()
	_, err = in.pick(opts.Device)
	return in.infos, err
}

// cString reads a NUL-terminated name out of a fixed-size Vulkan array.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// cStrings NUL-terminates names for vulkan-go, which passes Go strings' bytes
// to C as they are.
func cStrings(names []string) []string {
	out := make([]string, len(names))
	for i, s := range names {
		out[i] = s + "\x00"
	}
	return out
}
