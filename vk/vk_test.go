package vk_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// axpyPush mirrors the push-constant block of shaders/axpy.comp.
type axpyPush struct{ N uint32 }

const axpyLocal = 64

func newAxpy(t testing.TB, d *vk.Device, a float32) *vk.Kernel {
	t.Helper()
	k, err := d.NewKernel("axpy", shaders.Axpy.SPIRV(), vk.SpecUint(0, axpyLocal), vk.SpecFloat(1, a))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return k
}

func newBuffer(t testing.TB, d *vk.Device, name string, size int) *vk.Buffer {
	t.Helper()
	b, err := d.NewBuffer(name, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func newSequence(t testing.TB, d *vk.Device, name string) *vk.Sequence {
	t.Helper()
	s, err := d.NewSequence(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func upload(t testing.TB, b *vk.Buffer, v []float32) {
	t.Helper()
	if err := b.Upload(0, vk.Float32Bytes(v)); err != nil {
		t.Fatal(err)
	}
}

func download(t testing.TB, b *vk.Buffer, n int) []float32 {
	t.Helper()
	v := make([]float32, n)
	if err := b.Download(0, vk.Float32Bytes(v)); err != nil {
		t.Fatal(err)
	}
	return v
}

func randFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func TestOpenPicksUsableDevice(t *testing.T) {
	d := vktest.Open(t)
	info := d.Info()
	if info.Name == "" || !info.Picked || info.Problem != "" || info.QueueFamily < 0 {
		t.Fatalf("opened device looks wrong: %+v", info)
	}
}

func TestUploadDownloadRoundTrip(t *testing.T) {
	d := vktest.Open(t)
	r := rand.New(rand.NewPCG(1, 2))
	// Sizes around word and alignment boundaries, and past one staging slot
	// (4 MiB) so the ring wraps.
	for _, size := range []int{1, 3, 4, 5, 15, 16, 17, 255, 257, 4099, 9<<20 + 7} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			b := newBuffer(t, d, "roundtrip", size)
			want := make([]byte, size)
			for i := range want {
				want[i] = byte(r.Uint32())
			}
			if err := b.Upload(0, want); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, size)
			if err := b.Download(0, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("download differs from upload (first difference at byte %d)", firstDiff(got, want))
			}
			// A part at an odd offset, in both directions.
			if size > 2 {
				off, n := size/3|1, size/2
				if off+n > size {
					n = size - off
				}
				part := make([]byte, n)
				for i := range part {
					part[i] = byte(r.Uint32())
				}
				if err := b.Upload(off, part); err != nil {
					t.Fatal(err)
				}
				copy(want[off:], part)
				if err := b.Download(0, got); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("after a partial upload at %d: first difference at byte %d", off, firstDiff(got, want))
				}
				back := make([]byte, n)
				if err := b.Download(off, back); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(back, part) {
					t.Fatalf("partial download at %d differs", off)
				}
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func TestUploadOutOfRange(t *testing.T) {
	d := vktest.Open(t)
	b := newBuffer(t, d, "small", 10)
	if err := b.Upload(8, make([]byte, 3)); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("upload past the end: got %v, want an error saying it is outside the buffer", err)
	}
	if err := b.Download(-1, make([]byte, 1)); err == nil {
		t.Fatal("download at a negative offset succeeded")
	}
	if _, err := d.NewBuffer("empty", 0); err == nil {
		t.Fatal("a zero-byte buffer was allowed")
	}
}

func TestBuffersSideBySideDoNotOverlap(t *testing.T) {
	d := vktest.Open(t)
	sizes := []int{1, 7, 16, 17, 100, 3, 4096, 5}
	var bufs []*vk.Buffer
	for i, n := range sizes {
		bufs = append(bufs, newBuffer(t, d, fmt.Sprintf("b%d", i), n))
	}
	// Placement: aligned, in one block, and disjoint.
	type place struct {
		blk       uintptr
		off, span uint64
	}
	var ps []place
	align := vk.Alignment(d)
	for i, b := range bufs {
		blk, off, span := vk.Placement(b)
		if off%align != 0 || span < uint64(sizes[i]) {
			t.Errorf("buffer %d: offset %d (alignment %d), span %d for %d bytes", i, off, align, span, sizes[i])
		}
		ps = append(ps, place{blk, off, span})
	}
	sort.Slice(ps, func(a, b int) bool { return ps[a].off < ps[b].off })
	for i := 1; i < len(ps); i++ {
		if ps[i].blk == ps[i-1].blk && ps[i-1].off+ps[i-1].span > ps[i].off {
			t.Errorf("buffers overlap: [%d,+%d) and [%d,+%d)", ps[i-1].off, ps[i-1].span, ps[i].off, ps[i].span)
		}
	}
	// Contents: writing each buffer in full leaves its neighbours intact.
	for i, b := range bufs {
		if err := b.Upload(0, bytes.Repeat([]byte{byte(i + 1)}, sizes[i])); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range bufs {
		got := make([]byte, sizes[i])
		if err := b.Download(0, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, bytes.Repeat([]byte{byte(i + 1)}, sizes[i])) {
			t.Errorf("buffer %d was overwritten by a neighbour: %v", i, got[:min(len(got), 16)])
		}
	}
}

func TestBlockFreeList(t *testing.T) {
	b := vk.NewTestBlock(100)
	offs := make([]uint64, 4)
	for i := range offs {
		off, ok := b.Take(25)
		if !ok || off != uint64(25*i) {
			t.Fatalf("take %d: got offset %d, %v", i, off, ok)
		}
		offs[i] = off
	}
	if _, ok := b.Take(1); ok {
		t.Fatal("took from a full block")
	}
	b.Give(offs[1], 25)
	b.Give(offs[3], 25)
	if got := b.Free(); fmt.Sprint(got) != "[[25 25] [75 25]]" {
		t.Fatalf("free list %v", got)
	}
	if _, ok := b.Take(50); ok {
		t.Fatal("took 50 bytes from two separate 25-byte holes")
	}
	b.Give(offs[2], 25) // joins both neighbours
	if got := b.Free(); fmt.Sprint(got) != "[[25 75]]" {
		t.Fatalf("free list after merging %v", got)
	}
	if off, ok := b.Take(75); !ok || off != 25 {
		t.Fatalf("take 75 after merging: %d, %v", off, ok)
	}
}

func TestSmallBlocks(t *testing.T) {
	d := vktest.OpenWith(t, vk.Options{Validation: true, BlockSize: 1 << 20})
	newBuffer(t, d, "a", 600<<10)
	b := newBuffer(t, d, "b", 600<<10) // does not fit beside a
	c := newBuffer(t, d, "c", 3<<20)   // larger than a block: a block of its own
	if n := vk.Blocks(d); n != 3 {
		t.Fatalf("%d blocks, want 3", n)
	}
	want := bytes.Repeat([]byte{0xab}, 3<<20)
	if err := c.Upload(0, want); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if err := c.Download(0, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("round trip through a dedicated block: %v", err)
	}
	b.Close()
	newBuffer(t, d, "b2", 500<<10) // reuses b's room
	if n := vk.Blocks(d); n != 3 {
		t.Fatalf("%d blocks after reuse, want 3", n)
	}
}

func TestAxpy(t *testing.T) {
	d := vktest.Open(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 63, 64, 65, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			const a = 2.5
			k := newAxpy(t, d, a)
			x, y := randFloats(r, n), randFloats(r, n)
			bx, by := newBuffer(t, d, "x", 4*n), newBuffer(t, d, "y", 4*n)
			upload(t, bx, x)
			upload(t, by, y)
			s := newSequence(t, d, "axpy")
			s.Dispatch(k, vk.GroupsFor(n, axpyLocal), axpyPush{uint32(n)}, bx, by)
			if err := s.Submit(); err != nil {
				t.Fatal(err)
			}
			got := download(t, by, n)
			for i := range got {
				if want := a*x[i] + y[i]; got[i] != want {
					t.Fatalf("y[%d] = %v, want %v", i, got[i], want)
				}
			}
		})
	}
}

// A chain of dependent commands on one buffer: every step reads what the one
// before wrote, so each needs a barrier; replaying it gives the same bits.
func TestDependentChainAndReplay(t *testing.T) {
	d := vktest.Open(t)
	const n, steps, a = 1000, 10, 0.5
	r := rand.New(rand.NewPCG(5, 6))
	x, y0 := randFloats(r, n), randFloats(r, n)
	k := newAxpy(t, d, a)
	bx, by0, by := newBuffer(t, d, "x", 4*n), newBuffer(t, d, "y0", 4*n), newBuffer(t, d, "y", 4*n)
	upload(t, bx, x)
	upload(t, by0, y0)

	s := newSequence(t, d, "chain")
	s.Copy(by, by0)
	for i := 0; i < steps; i++ {
		s.Dispatch(k, vk.GroupsFor(n, axpyLocal), axpyPush{n}, bx, by)
	}
	if st := s.Stats(); st.Barriers != steps || st.Dispatches != steps || st.Copies != 1 {
		t.Fatalf("stats %+v: want one barrier before each of the %d dispatches", st, steps)
	}
	want := append([]float32(nil), y0...)
	for i := 0; i < steps; i++ {
		for j := range want {
			want[j] = a*x[j] + want[j]
		}
	}
	var first []float32
	for rep := 0; rep < 100; rep++ {
		if err := s.Submit(); err != nil {
			t.Fatal(err)
		}
		got := download(t, by, n)
		if rep == 0 {
			first = got
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("y[%d] = %v, want %v", j, got[j], want[j])
				}
			}
		} else if !slicesEqualBits(got, first) {
			t.Fatalf("replay %d differs from the first run", rep)
		}
	}
}

func slicesEqualBits(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}

// Commands on separate buffers, or that only read a shared one, need no barrier.
func TestIndependentCommandsShareNoBarrier(t *testing.T) {
	d := vktest.Open(t)
	const n = 256
	k := newAxpy(t, d, 1)
	x := newBuffer(t, d, "x", 4*n)
	upload(t, x, make([]float32, n))
	s := newSequence(t, d, "independent")
	for i := 0; i < 4; i++ {
		y := newBuffer(t, d, fmt.Sprintf("y%d", i), 4*n)
		s.Fill(y, 0)
	}
	if st := s.Stats(); st.Barriers != 0 {
		t.Fatalf("fills of four separate buffers recorded %d barriers", st.Barriers)
	}
	y := newBuffer(t, d, "y", 4*n)
	s.Fill(y, 0)
	s.Dispatch(k, vk.GroupsFor(n, axpyLocal), axpyPush{n}, x, y) // reads what the fill wrote
	if st := s.Stats(); st.Barriers != 1 {
		t.Fatalf("a dispatch after a fill of its output recorded %d barriers, want 1", st.Barriers)
	}
	if err := s.Submit(); err != nil {
		t.Fatal(err)
	}
}

// Without the barriers the validation layer must object: this proves both
// that the barriers matter and that the tests would see a missing one.
func TestMissingBarrierIsReported(t *testing.T) {
	d := vktest.OpenWith(t, vk.Options{Validation: true})
	const n = 256
	k := newAxpy(t, d, 1)
	x, y := newBuffer(t, d, "x", 4*n), newBuffer(t, d, "y", 4*n)
	s := newSequence(t, d, "unsynced")
	vk.Unsynced(s)
	s.Fill(x, 0)
	s.Fill(y, 0)
	s.Dispatch(k, vk.GroupsFor(n, axpyLocal), axpyPush{n}, x, y)
	s.Dispatch(k, vk.GroupsFor(n, axpyLocal), axpyPush{n}, x, y)
	if err := s.Submit(); err != nil {
		t.Fatal(err)
	}
	var hazards []string
	for _, m := range d.Messages() {
		if strings.Contains(m.ID, "SYNC-HAZARD") {
			hazards = append(hazards, m.ID)
		}
	}
	if len(hazards) == 0 {
		t.Fatal("the validation layer reported no hazard for dispatches recorded without barriers")
	}
	t.Logf("reported: %v", hazards)
}

func TestKernelChecksAgainstShader(t *testing.T) {
	d := vktest.Open(t)
	code := shaders.Axpy.SPIRV()
	for _, tc := range []struct {
		name  string
		specs []vk.Spec
		want  string
	}{
		{"unknown constant", []vk.Spec{vk.SpecUint(7, 1)}, "no specialization constant 7"},
		{"wrong type", []vk.Spec{vk.SpecUint(1, 3)}, "is a float in the shader, given a uint"},
		{"given twice", []vk.Spec{vk.SpecUint(0, 32), vk.SpecUint(0, 64)}, "given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := d.NewKernel("axpy", code, tc.specs...)
			if err == nil {
				k.Close()
				t.Fatalf("NewKernel accepted %v", tc.specs)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
	if _, err := d.NewKernel("junk", []byte("not spir-v at all"), vk.SpecUint(0, 1)); err == nil {
		t.Fatal("NewKernel accepted bytes that are not SPIR-V")
	}

	k := newAxpy(t, d, 1)
	x, y := newBuffer(t, d, "x", 64), newBuffer(t, d, "y", 64)
	for _, tc := range []struct {
		name   string
		record func(s *vk.Sequence)
		want   string
	}{
		{"push too large", func(s *vk.Sequence) { s.Dispatch(k, vk.Groups{X: 1}, struct{ N, M uint32 }{16, 0}, x, y) }, "8 bytes, the shader's block is 4 bytes"},
		{"push missing", func(s *vk.Sequence) { s.Dispatch(k, vk.Groups{X: 1}, nil, x, y) }, "push constants"},
		{"too few buffers", func(s *vk.Sequence) { s.Dispatch(k, vk.Groups{X: 1}, axpyPush{16}, x) }, "1 buffers given, the shader has 2 bindings"},
		{"too many groups", func(s *vk.Sequence) { s.Dispatch(k, vk.Groups{X: math.MaxUint32}, axpyPush{16}, x, y) }, "exceed the device's limit"},
		{"copy into smaller", func(s *vk.Sequence) {
			s.Copy(newBuffer(t, d, "tiny", 4), x)
		}, "cannot hold"},
		{"record after submit", func(s *vk.Sequence) {
			s.Fill(x, 0)
			if err := s.Submit(); err != nil {
				t.Fatal(err)
			}
			s.Fill(x, 0)
		}, "Reset it to record again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSequence(t, d, tc.name)
			tc.record(s)
			s.Fill(y, 0) // recording after a failure is ignored; the first error stays
			err := s.Submit()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Submit: got %v, want an error saying %q", err, tc.want)
			}
			if err2 := s.Submit(); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("second Submit: got %v, want the same error again", err2)
			}
			// Reset clears the error and allows recording again.
			if err := s.Reset(); err != nil {
				t.Fatal(err)
			}
			s.Fill(y, 0)
			if err := s.Submit(); err != nil {
				t.Fatalf("after Reset: %v", err)
			}
		})
	}
}

func TestSubmitRefusesClosedBuffer(t *testing.T) {
	d := vktest.Open(t)
	b := newBuffer(t, d, "gone", 16)
	s := newSequence(t, d, "stale")
	s.Fill(b, 0)
	b.Close()
	if err := s.Submit(); err == nil || !strings.Contains(err.Error(), `buffer "gone" was closed`) {
		t.Fatalf("Submit after closing a recorded buffer: %v", err)
	}
}

func TestTimestamps(t *testing.T) {
	d := vktest.Open(t)
	if !d.Info().Timestamps {
		t.Skip("the device cannot write timestamps")
	}
	const n = 1 << 16
	k := newAxpy(t, d, 1)
	x, y := newBuffer(t, d, "x", 4*n), newBuffer(t, d, "y", 4*n)
	s := newSequence(t, d, "timed")
	s.Fill(x, 0)
	s.Fill(y, 0)
	s.Timestamp("start")
	s.Dispatch(k, vk.GroupsFor(n, axpyLocal), axpyPush{n}, x, y)
	s.Timestamp("end")
	for rep := 0; rep < 2; rep++ { // replays reuse the query pool
		if err := s.Submit(); err != nil {
			t.Fatal(err)
		}
		st, err := s.Timestamps()
		if err != nil {
			t.Fatal(err)
		}
		if len(st) != 2 || st[0].Label != "start" || st[1].Label != "end" || st[0].At != 0 || st[1].At <= 0 {
			t.Fatalf("timestamps %+v", st)
		}
	}
}

func TestProfile(t *testing.T) {
	d := vktest.Open(t)
	if !d.Info().Timestamps {
		t.Skip("the device cannot write timestamps")
	}
	const n = 1 << 16
	k := newAxpy(t, d, 1)
	x, y, z := newBuffer(t, d, "x", 4*n), newBuffer(t, d, "y", 4*n), newBuffer(t, d, "z", 4*n)
	s := newSequence(t, d, "profiled")
	s.Profile()
	s.Scope("zero")
	s.Fill(x, 0)
	s.Fill(y, 0)
	s.Scope("work")
	s.Dispatch(k, vk.GroupsFor(n, axpyLocal), axpyPush{n}, x, y)
	s.Copy(z, y)
	if err := s.Submit(); err != nil {
		t.Fatal(err)
	}
	st, err := s.Timestamps()
	if err != nil {
		t.Fatal(err)
	}
	want := []vk.Stamp{{Label: "start"}, {Label: "fill", Scope: "zero"}, {Label: "fill", Scope: "zero"},
		{Label: "axpy", Scope: "work"}, {Label: "copy", Scope: "work"}}
	if len(st) != len(want) {
		t.Fatalf("stamps %+v, want %d", st, len(want))
	}
	for i, w := range want {
		if st[i].Label != w.Label || st[i].Scope != w.Scope || (i > 0 && st[i].At < st[i-1].At) {
			t.Fatalf("stamp %d is %+v, want %q in scope %q after %v", i, st[i], w.Label, w.Scope, st[max(i-1, 0)].At)
		}
	}

	late := newSequence(t, d, "late")
	late.Timestamp("first")
	late.Profile()
	if err := late.Submit(); err == nil || !strings.Contains(err.Error(), "before the first timestamp") {
		t.Fatalf("Profile after a timestamp: %v", err)
	}
}

func TestMemoryStats(t *testing.T) {
	d := vktest.Open(t)
	before := d.Memory()
	b := newBuffer(t, d, "counted", 1000)
	during := d.Memory()
	if during.Buffers != before.Buffers+1000 || during.Allocated < during.Buffers || during.Blocks < 1 {
		t.Fatalf("memory %+v after a 1000-byte buffer, %+v before", during, before)
	}
	b.Close()
	if after := d.Memory(); after.Buffers != before.Buffers {
		t.Fatalf("memory %+v after closing the buffer, %+v before", after, before)
	}
}

func TestCloseReportsLeaks(t *testing.T) {
	d, err := vk.Open(vk.Options{Validation: true})
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := d.NewBuffer("kept", 16)
	closed, _ := d.NewBuffer("closed", 16)
	closed.Close()
	if _, err := d.NewKernel("forgotten", shaders.Axpy.SPIRV()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.NewSequence("dangling"); err != nil {
		t.Fatal(err)
	}
	err = d.Close()
	if !errors.Is(err, vk.ErrLeak) {
		t.Fatalf("Close: got %v, want ErrLeak", err)
	}
	for _, name := range []string{`buffer "kept"`, `kernel "forgotten"`, `sequence "dangling"`} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("leak report %q does not name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), `"closed"`) {
		t.Errorf("leak report names a buffer that was closed: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	kept.Close() // after the device destroyed it: a no-op, not a crash
	vktest.Quiet(t, d)
}

func TestDeviceSelection(t *testing.T) {
	infos, err := vk.Devices(vk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	picked := 0
	for _, in := range infos {
		if in.Picked {
			picked++
		}
	}
	if picked != 1 {
		t.Fatalf("%d devices marked picked", picked)
	}
	first := infos[0].Name
	for _, sel := range []string{"0", strings.ToUpper(first[:4])} {
		got, err := vk.Devices(vk.Options{Device: sel})
		if err != nil || !got[0].Picked {
			t.Errorf("--device %q did not pick device 0 (%q): %v", sel, first, err)
		}
	}
	for _, sel := range []string{"no-such-gpu", "99"} {
		_, err := vk.Devices(vk.Options{Device: sel})
		if !errors.Is(err, vk.ErrNoDevice) || !strings.Contains(err.Error(), first) {
			t.Errorf("--device %q: got %v, want ErrNoDevice listing %q", sel, err, first)
		}
	}
}

func TestNoLoader(t *testing.T) {
	_, err := vk.Open(vk.Options{Loader: "/nonexistent/libvulkan.so.1"})
	if !errors.Is(err, vk.ErrNoLoader) || !strings.Contains(err.Error(), "libvulkan1") {
		t.Fatalf("got %v, want ErrNoLoader naming the package to install", err)
	}
}

func TestNoDriver(t *testing.T) {
	t.Setenv("VK_DRIVER_FILES", "/nonexistent/icd.json")
	t.Setenv("VK_ICD_FILENAMES", "/nonexistent/icd.json")
	_, err := vk.Open(vk.Options{})
	if !errors.Is(err, vk.ErrNoDevice) || !strings.Contains(err.Error(), "mesa-vulkan-drivers") {
		t.Fatalf("got %v, want ErrNoDevice naming mesa-vulkan-drivers", err)
	}
}

func TestErrorSentinels(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{&vk.Error{Call: "vkQueueSubmit", Result: -4}, vk.ErrDeviceLost},
		{&vk.Error{Call: "vkAllocateMemory", Result: -2}, vk.ErrOutOfDeviceMemory},
	} {
		wrapped := fmt.Errorf("training: %w", tc.err)
		if !errors.Is(wrapped, tc.want) {
			t.Errorf("%v is not %v", wrapped, tc.want)
		}
	}
	if got := (&vk.Error{Call: "vkQueueSubmit", Result: -4}).Error(); got != "vk: vkQueueSubmit: VK_ERROR_DEVICE_LOST" {
		t.Errorf("message %q", got)
	}
}

func TestReflectAxpy(t *testing.T) {
	bindings, push, specs, err := vk.Reflect(shaders.Axpy.SPIRV())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(bindings) != "[storage buffer r storage buffer rw]" {
		t.Errorf("bindings %v", bindings)
	}
	if push != 4 {
		t.Errorf("push-constant block %d bytes, want 4", push)
	}
	if specs[0] != "uint" || specs[1] != "float" || len(specs) != 2 {
		t.Errorf("specialization constants %v", specs)
	}
	// Truncated or corrupted SPIR-V is an error, never a panic.
	code := shaders.Axpy.SPIRV()
	for _, n := range []int{0, 4, 20, len(code) / 2, len(code) - 4} {
		if _, _, _, err := vk.Reflect(code[:n&^3]); err == nil && n < len(code)/2 {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
	bad := append([]byte(nil), code...)
	bad[22] = 0 // a word count of 0 in the first instruction
	bad[23] = 0
	if _, _, _, err := vk.Reflect(bad); err == nil {
		t.Error("an instruction of length 0 was accepted")
	}
}

// Every committed shader builds a pipeline with its default constants.
func TestEveryShaderBuilds(t *testing.T) {
	d := vktest.Open(t)
	for _, sh := range shaders.All() {
		k, err := d.NewKernel(sh.Name(), sh.SPIRV())
		if err != nil {
			t.Errorf("%s: %v", sh, err)
			continue
		}
		k.Close()
	}
}

func TestNoValidationLayer(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("VK_LAYER_PATH", empty)
	t.Setenv("VK_ADD_LAYER_PATH", "")
	t.Setenv("XDG_DATA_DIRS", empty)
	t.Setenv("XDG_DATA_HOME", empty)
	_, err := vk.Open(vk.Options{Validation: true})
	if !errors.Is(err, vk.ErrNoValidationLayer) || !strings.Contains(err.Error(), "vulkan-validationlayers") {
		t.Fatalf("got %v, want ErrNoValidationLayer naming the package", err)
	}
}

// A barrier covers every command after it, of any kind: here a copy reads y,
// written by a dispatch before the barrier that a later dispatch needed.
func TestBarrierCoversLaterCommandsOfOtherKinds(t *testing.T) {
	d := vktest.Open(t)
	const n = 256
	k := newAxpy(t, d, 1)
	x, y, z, w := newBuffer(t, d, "x", 4*n), newBuffer(t, d, "y", 4*n), newBuffer(t, d, "z", 4*n), newBuffer(t, d, "w", 4*n)
	upload(t, x, make([]float32, n))
	upload(t, y, make([]float32, n))
	s := newSequence(t, d, "mixed")
	s.Dispatch(k, vk.GroupsFor(n, axpyLocal), axpyPush{n}, x, y) // compute writes y
	s.Fill(z, 0)                                                 // transfer writes z
	s.Dispatch(k, vk.GroupsFor(n, axpyLocal), axpyPush{n}, x, z) // compute reads z: barrier
	s.Copy(w, y)                                                 // transfer reads y: covered by that barrier
	if st := s.Stats(); st.Barriers != 1 {
		t.Fatalf("%d barriers, want 1", st.Barriers)
	}
	if err := s.Submit(); err != nil {
		t.Fatal(err)
	}
}

// A storage texel buffer binding reads through a view of the buffer's own
// range, also when the buffer sits at an offset inside its block, and the
// same buffer can be bound as a texel buffer and as a storage buffer.
func TestTexelBuffer(t *testing.T) {
	d := vktest.Open(t)
	k, err := d.NewKernel("axpy texel", shaders.AxpyTexel.SPIRV(), vk.SpecUint(0, axpyLocal), vk.SpecFloat(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	const n = 1000
	newBuffer(t, d, "pad", 48) // so x starts at an offset in its block
	x, y := newBuffer(t, d, "x", 4*n), newBuffer(t, d, "y", 4*n)
	xs, ys := make([]float32, n), make([]float32, n)
	for i := range xs {
		xs[i], ys[i] = float32(i), float32(-i)
	}
	upload(t, x, xs)
	upload(t, y, ys)
	s := newSequence(t, d, "texel")
	s.Dispatch(k, vk.GroupsFor(n, axpyLocal), axpyPush{N: n}, x, y)                // y = 2x + y = x
	s.Dispatch(newAxpy(t, d, 1), vk.GroupsFor(n, axpyLocal), axpyPush{N: n}, y, x) // x = y + x = 2x
	if err := s.Submit(); err != nil {
		t.Fatal(err)
	}
	gx, gy := download(t, x, n), download(t, y, n)
	for i := 0; i < n; i++ {
		if gy[i] != float32(i) || gx[i] != float32(2*i) {
			t.Fatalf("at %d: x = %g, y = %g; want %d and %d", i, gx[i], gy[i], 2*i, i)
		}
	}
}

// TestOpenCloseHundredTimes opens the engine, runs a kernel and closes it,
// a hundred times: every Vulkan object is released (Close reports no
// leak), the open files do not grow, and the process's memory stays within
// a bound. The first opens grow RSS by some 100 MiB while lavapipe and the
// C allocator settle, so the hundred are counted after 150; after that an
// open and close moves RSS by 10–80 KiB, up or down, from one measurement
// to the next. lavapipe itself keeps about 100 KiB per compute pipeline it
// compiles, also in a plain C program (testdata/pipeline_leak.c), which the
// bound allows for. A leaked memory block (16 MiB each) or staging ring
// would pass it within a cycle.
func TestOpenCloseHundredTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a device 250 times")
	}
	cycle := func() {
		d, err := vk.Open(vk.Options{})
		if err != nil {
			t.Fatal(err)
		}
		k, err := d.NewKernel("axpy", shaders.Axpy.SPIRV(), vk.SpecUint(0, axpyLocal), vk.SpecFloat(1, 2))
		if err != nil {
			t.Fatal(err)
		}
		x, err1 := d.NewBuffer("x", 4096)
		y, err2 := d.NewBuffer("y", 4096)
		s, err3 := d.NewSequence("cycle")
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		upload(t, x, make([]float32, 1024))
		s.Dispatch(k, vk.GroupsFor(1024, axpyLocal), axpyPush{1024}, x, y)
		if err := s.Submit(); err != nil {
			t.Fatal(err)
		}
		download(t, y, 1024)
		s.Close()
		y.Close()
		x.Close()
		k.Close()
		if err := d.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	for range 150 {
		cycle()
	}
	rss0, fds0 := procRSS(t), procFDs(t)
	for range 100 {
		cycle()
	}
	rss1, fds1 := procRSS(t), procFDs(t)
	t.Logf("after 150 cycles RSS %d KiB, %d open files; after 100 more RSS %d KiB, %d open files", rss0, fds0, rss1, fds1)
	if fds1 > fds0 {
		t.Errorf("open files grew from %d to %d", fds0, fds1)
	}
	const limit = 100 * (80 + 128) // KiB: the noise, and the driver's pipeline
	if rss1 > rss0+limit {
		t.Errorf("RSS grew from %d to %d KiB over 100 cycles, more than %d KiB", rss0, rss1, limit)
	}
}

// procRSS is the process's resident memory in KiB (Linux).
func procRSS(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb int
			fmt.Sscan(rest, &kb)
			return kb
		}
	}
	t.Skip("no VmRSS")
	return 0
}

func procFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// Views into one buffer: each is bound at its own offset (as a storage
// buffer and as a texel buffer), Upload and Download address it from its
// start, a command on a view waits for one that wrote the bytes it shares
// with the whole, and the whole's Close closes its views.
func TestBufferViews(t *testing.T) {
	d := vktest.Open(t)
	al := d.Alignment()
	if al < 16 || al%16 != 0 {
		t.Fatalf("alignment %d: want a multiple of 16", al)
	}
	const n = 37 // floats per view: not a multiple of the alignment
	stride := (4*n + al - 1) / al * al
	whole := newBuffer(t, d, "whole", 3*stride)
	var views [3]*vk.Buffer
	for i := range views {
		v, err := whole.View(fmt.Sprintf("part %d", i), i*stride, 4*n)
		if err != nil {
			t.Fatal(err)
		}
		views[i] = v
		xs := make([]float32, n)
		for j := range xs {
			xs[j] = float32(100*i + j)
		}
		upload(t, v, xs)
	}
	texel, err := d.NewKernel("axpy texel", shaders.AxpyTexel.SPIRV(), vk.SpecUint(0, axpyLocal), vk.SpecFloat(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer texel.Close()
	s := newSequence(t, d, "views")
	s.Dispatch(newAxpy(t, d, 1), vk.GroupsFor(n, axpyLocal), axpyPush{N: n}, views[0], views[1]) // part 1 += part 0
	s.Dispatch(texel, vk.GroupsFor(n, axpyLocal), axpyPush{N: n}, views[1], views[2])            // part 2 += 2·part 1
	s.Fill(whole, 0)                                                                             // after both
	if st := s.Stats(); st.Barriers != 2 {
		t.Errorf("%d barriers: want one between the dependent dispatches and one before the fill of the whole", st.Barriers)
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	s.Dispatch(newAxpy(t, d, 1), vk.GroupsFor(n, axpyLocal), axpyPush{N: n}, views[0], views[1])
	s.Dispatch(texel, vk.GroupsFor(n, axpyLocal), axpyPush{N: n}, views[1], views[2])
	if err := s.Submit(); err != nil {
		t.Fatal(err)
	}
	all := make([]float32, 3*stride/4)
	if err := whole.Download(0, vk.Float32Bytes(all)); err != nil {
		t.Fatal(err)
	}
	for j := 0; j < n; j++ {
		p0, p1 := float32(j), float32(100+j)+float32(j)
		p2 := float32(200+j) + 2*p1
		if got := [3]float32{all[j], all[stride/4+j], all[2*stride/4+j]}; got != [3]float32{p0, p1, p2} {
			t.Fatalf("float %d of the parts: %v, want %v", j, got, [3]float32{p0, p1, p2})
		}
	}
	for _, c := range []struct {
		name      string
		off, size int
	}{{"misaligned", al / 2, 4}, {"past the end", 2 * stride, stride + 1}, {"empty", 0, 0}} {
		if _, err := whole.View(c.name, c.off, c.size); err == nil {
			t.Errorf("view %s (%d bytes at %d): no error", c.name, c.size, c.off)
		}
	}
	views[0].Close()
	upload(t, views[1], make([]float32, n)) // the others still work
	whole.Close()
	if err := views[1].Upload(0, make([]byte, 4)); !errors.Is(err, vk.ErrClosed) {
		t.Errorf("upload to a view of a closed buffer: %v, want ErrClosed", err)
	}
}
