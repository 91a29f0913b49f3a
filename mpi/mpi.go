// Package mpi is the few MPI calls gan-vk's data-parallel training needs,
// from an MPI library loaded at run time (dlopen), as vk loads the Vulkan
// loader: gan-vk builds and runs without MPI, and needs it only when
// mpirun starts it. It speaks Open MPI's ABI, whose handles
// (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM) are the addresses of the library's
// predefined objects.
package mpi

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

static void *ganvk_dlopen(const char *name) { return dlopen(name, RTLD_NOW | RTLD_GLOBAL); }
static const char *ganvk_dlerror(void) { const char *e = dlerror(); return e ? e : "unknown error"; }

typedef int (*init_thread_fn)(int *, char ***, int, int *);
typedef int (*comm_int_fn)(void *, int *);
typedef int (*allreduce_fn)(const void *, void *, int, void *, void *, void *);
typedef int (*bcast_fn)(void *, int, void *, int, void *);
typedef int (*comm_fn)(void *);
typedef int (*void_fn)(void);
typedef int (*abort_fn)(void *, int);
typedef int (*flag_fn)(int *);

static int call_init_thread(void *f, int required, int *provided) { return ((init_thread_fn)f)(NULL, NULL, required, provided); }
static int call_comm_int(void *f, void *comm, int *out) { return ((comm_int_fn)f)(comm, out); }
static int call_allreduce(void *f, void *buf, int n, void *type, void *op, void *comm) {
	return ((allreduce_fn)f)((const void *)1, buf, n, type, op, comm); // (void *)1 is Open MPI's MPI_IN_PLACE
}
static int call_bcast(void *f, void *buf, int n, void *type, int root, void *comm) { return ((bcast_fn)f)(buf, n, type, root, comm); }
static int call_comm(void *f, void *comm) { return ((comm_fn)f)(comm); }
static int call_void(void *f) { return ((void_fn)f)(); }
static int call_abort(void *f, void *comm, int code) { return ((abort_fn)f)(comm, code); }
static int call_flag(void *f, int *flag) { return ((flag_fn)f)(flag); }
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"unsafe"
)

// Launch is what the environment says about how this process was started:
// by mpirun (Open MPI's launcher sets OMPI_COMM_WORLD_SIZE and the ranks),
// or alone.
type Launch struct {
	Size, Rank           int
	LocalRank, LocalSize int // among the processes on this machine
}

// Detect reads the launch from the environment; ok is false when mpirun
// did not start this process.
func Detect() (l Launch, ok bool) {
	size, err := strconv.Atoi(os.Getenv("OMPI_COMM_WORLD_SIZE"))
	if err != nil || size < 1 {
		return Launch{Size: 1}, false
	}
	rank, _ := strconv.Atoi(os.Getenv("OMPI_COMM_WORLD_RANK"))
	local, _ := strconv.Atoi(os.Getenv("OMPI_COMM_WORLD_LOCAL_RANK"))
	localSize, err := strconv.Atoi(os.Getenv("OMPI_COMM_WORLD_LOCAL_SIZE"))
	if err != nil || localSize < 1 {
		localSize = 1
	}
	return Launch{Size: size, Rank: rank, LocalRank: local, LocalSize: localSize}, true
}

// ErrMissing says the MPI library could not be loaded.
var ErrMissing = errors.New("mpi: the MPI library is missing")

// libNames are the Open MPI libraries tried in order, or the one
// GAN_VK_MPI_LIBRARY names (Open MPI installed off the loader's path).
func libNames() []string {
	if lib := os.Getenv("GAN_VK_MPI_LIBRARY"); lib != "" {
		return []string{lib}
	}
	return []string{"libmpi.so.40", "libmpi.so"}
}

// World is MPI_COMM_WORLD of an initialised MPI: every rank of the run.
// Its calls may come from any goroutine, one at a time (MPI_THREAD_SERIALIZED;
// World serialises them itself).
type World struct {
	Size, Rank int
	mu         sync.Mutex
	lib        unsafe.Pointer
	comm, f32  unsafe.Pointer
	i32, u8    unsafe.Pointer
	sum, max   unsafe.Pointer
	fn         map[string]unsafe.Pointer
}

// Init loads the MPI library and initialises it. Call it once, in a process
// mpirun started; Close finalises.
func Init() (*World, error) { return initFrom(libNames()) }

func initFrom(names []string) (*World, error) {
	var lib unsafe.Pointer
	var tried []string
	for _, name := range names {
		cname := C.CString(name)
		lib = C.ganvk_dlopen(cname)
		C.free(unsafe.Pointer(cname))
		if lib != nil {
			break
		}
		tried = append(tried, C.GoString(C.ganvk_dlerror()))
	}
	if lib == nil {
		return nil, fmt.Errorf("%w (%v); install Open MPI (apt-get install openmpi-bin)", ErrMissing, tried)
	}
	w := &World{lib: lib, fn: map[string]unsafe.Pointer{}}
	for _, name := range []string{"MPI_Init_thread", "MPI_Comm_size", "MPI_Comm_rank", "MPI_Allreduce", "MPI_Bcast",
		"MPI_Barrier", "MPI_Finalize", "MPI_Abort", "MPI_Finalized", "MPI_Initialized"} {
		p, err := w.sym(name)
		if err != nil {
			return nil, err
		}
		w.fn[name] = p
	}
	for _, h := range []struct {
		p    *unsafe.Pointer
		name string
	}{{&w.comm, "ompi_mpi_comm_world"}, {&w.f32, "ompi_mpi_float"}, {&w.i32, "ompi_mpi_int"}, {&w.u8, "ompi_mpi_byte"},
		{&w.sum, "ompi_mpi_op_sum"}, {&w.max, "ompi_mpi_op_max"}} {
		p, err := w.sym(h.name)
		if err != nil {
			return nil, fmt.Errorf("%w: is it Open MPI? gan-vk speaks Open MPI's ABI", err)
		}
		*h.p = p
	}
	const serialized = 2 // MPI_THREAD_SERIALIZED
	var provided C.int
	if rc := C.call_init_thread(w.fn["MPI_Init_thread"], serialized, &provided); rc != 0 {
		return nil, fmt.Errorf("mpi: MPI_Init_thread failed (error %d)", rc)
	}
	if provided < serialized {
		w.Close()
		return nil, fmt.Errorf("mpi: the library gives thread level %d, gan-vk needs MPI_THREAD_SERIALIZED", provided)
	}
	var size, rank C.int
	if err := w.check("MPI_Comm_size", C.call_comm_int(w.fn["MPI_Comm_size"], w.comm, &size)); err != nil {
		return nil, err
	}
	if err := w.check("MPI_Comm_rank", C.call_comm_int(w.fn["MPI_Comm_rank"], w.comm, &rank)); err != nil {
		return nil, err
	}
	w.Size, w.Rank = int(size), int(rank)
	return w, nil
}

func (w *World) sym(name string) (unsafe.Pointer, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	p := C.dlsym(w.lib, cname)
	if p == nil {
		return nil, fmt.Errorf("mpi: the MPI library has no %s", name)
	}
	return p, nil
}

func (w *World) check(call string, rc C.int) error {
	if rc != 0 {
		return fmt.Errorf("mpi: %s failed (error %d)", call, rc)
	}
	return nil
}

// call runs f with the World's lock held, on one OS thread.
func (w *World) call(f func() C.int) C.int {
	w.mu.Lock()
	defer w.mu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return f()
}

// SumFloat32 sums v over the ranks, in place: every rank ends with the
// same sum.
func (w *World) SumFloat32(v []float32) error {
	if len(v) == 0 {
		return nil
	}
	rc := w.call(func() C.int {
		return C.call_allreduce(w.fn["MPI_Allreduce"], unsafe.Pointer(&v[0]), C.int(len(v)), w.f32, w.sum, w.comm)
	})
	return w.check("MPI_Allreduce", rc)
}

// MaxInt32 is the largest of v over the ranks, in place.
func (w *World) MaxInt32(v []int32) error {
	if len(v) == 0 {
		return nil
	}
	rc := w.call(func() C.int {
		return C.call_allreduce(w.fn["MPI_Allreduce"], unsafe.Pointer(&v[0]), C.int(len(v)), w.i32, w.max, w.comm)
	})
	return w.check("MPI_Allreduce", rc)
}

// BcastBytes copies root's b to every rank (b has the same length on all).
func (w *World) BcastBytes(b []byte, root int) error {
	for len(b) > 0 { // in pieces an int counts
		n := min(len(b), 1<<30)
		piece := b[:n]
		rc := w.call(func() C.int {
			return C.call_bcast(w.fn["MPI_Bcast"], unsafe.Pointer(&piece[0]), C.int(n), w.u8, C.int(root), w.comm)
		})
		if err := w.check("MPI_Bcast", rc); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// Barrier waits for every rank.
func (w *World) Barrier() error {
	return w.check("MPI_Barrier", w.call(func() C.int { return C.call_comm(w.fn["MPI_Barrier"], w.comm) }))
}

// Abort ends every rank of the run with code (MPI_Abort): for a rank that
// cannot go on while the others wait for it.
func (w *World) Abort(code int) {
	w.call(func() C.int { return C.call_abort(w.fn["MPI_Abort"], w.comm, C.int(code)) })
}

// Close finalises MPI (once; later calls do nothing).
func (w *World) Close() error {
	var done C.int
	w.call(func() C.int { return C.call_flag(w.fn["MPI_Finalized"], &done) })
	if done != 0 {
		return nil
	}
	return w.check("MPI_Finalize", w.call(func() C.int { return C.call_void(w.fn["MPI_Finalize"]) }))
}
