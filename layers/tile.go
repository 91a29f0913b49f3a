package layers

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gan-vk/gan-vk/shaders"
	"github.com/gan-vk/gan-vk/vk"
)

// A GEMM pass is one dispatch set of conv_fwd, convt_fwd or conv_wgrad over
// one geometry; which kernel configuration (a Tile) it runs with is data,
// chosen per device and shape when the op is built: from a Tiler (a tuned
// cache, a run's recorded plan, a tile forced for measuring) or, where that
// has none, from Heuristic. A configuration changes the order in which a
// pass sums, so a run records the tile of every pass and a resume builds
// exactly those.

// Op names a GEMM shader.
type Op string

// The GEMM shaders.
const (
	OpConvFwd   Op = "conv_fwd"   // Conv2d and Linear forward, ConvTranspose2d backward-data
	OpConvtFwd  Op = "convt_fwd"  // ConvTranspose2d forward, Conv2d and Linear backward-data
	OpConvWgrad Op = "conv_wgrad" // every filter gradient
)

// Pass is one GEMM pass: its shader and the geometry it runs over, as the
// shader's specialization constants take it (for conv_wgrad of a
// transposed convolution, the swapped geometry).
type Pass struct {
	Op Op
	geom
}

// Rows, Cols and Red are the pass's GEMM: rows×cols outputs, each a sum of
// Red products (for convt_fwd, per output phase: Cols and Red are the
// largest phase's).
func (p Pass) Rows() int { return p.k }
func (p Pass) Cols() int {
	switch p.Op {
	case OpConvtFwd:
		return p.n * ceilDiv(p.oh, p.s) * ceilDiv(p.ow, p.s)
	case OpConvWgrad:
		return p.c * p.kh * p.kw
	}
	return p.n * p.oh * p.ow
}
func (p Pass) Red() int {
	switch p.Op {
	case OpConvtFwd:
		return p.c * ceilDiv(p.kh, p.s) * ceilDiv(p.kw, p.s)
	case OpConvWgrad:
		return p.n * p.oh * p.ow
	}
	return p.c * p.kh * p.kw
}

// Bytes is the least a pass moves through memory: its two operands read
// once and its output written once, in floats of 4 bytes. It is the
// memory side of a pass's roofline bound.
func (p Pass) Bytes() float64 {
	x, w, y := p.n*p.c*p.h*p.w, p.k*p.c*p.kh*p.kw, p.n*p.k*p.oh*p.ow
	if p.Op == OpConvWgrad { // reads x and dy, writes the filter gradient
		w, y = y, w
	}
	return 4 * float64(x+w+y)
}

// String is the pass's key in a plan or a tuning cache, for example
// "conv_fwd n64 c1 28x28 k64 14x14 r5x5 s2 p2".
func (p Pass) String() string {
	return fmt.Sprintf("%s n%d c%d %dx%d k%d %dx%d r%dx%d s%d p%d", p.Op, p.n, p.c, p.h, p.w, p.k, p.oh, p.ow, p.kh, p.kw, p.s, p.p)
}

var passPattern = regexp.MustCompile(`^(conv_fwd|convt_fwd|conv_wgrad) n(\d+) c(\d+) (\d+)x(\d+) k(\d+) (\d+)x(\d+) r(\d+)x(\d+) s(\d+) p(\d+)$`)

// ParsePass reads a pass from its String form.
func ParsePass(s string) (Pass, error) {
	m := passPattern.FindStringSubmatch(s)
	if m == nil {
		return Pass{}, fmt.Errorf("%q is not a GEMM pass (like \"conv_fwd n64 c1 28x28 k64 14x14 r5x5 s2 p2\")", s)
	}
	var v [11]int
	for i := range v {
		n, err := strconv.Atoi(m[i+2])
		if err != nil || n > 1<<24 {
			return Pass{}, fmt.Errorf("%q: %q is not a size", s, m[i+2])
		}
		v[i] = n
	}
	p := Pass{Op(m[1]), geom{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]}}
	if err := checkGeom(string(p.Op), p.geom); err != nil {
		return Pass{}, err
	}
	return p, nil
}

func (p Pass) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

func (p *Pass) UnmarshalText(b []byte) error {
	q, err := ParsePass(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// Form is how a GEMM kernel reaches its operands.
type Form uint8

const (
	// Register: each invocation reads its operands straight from memory
	// into registers (gemm.glsl), which is what lavapipe makes fast.
	Register Form = iota
	// Shared: the workgroup stages tiles of both operands in shared
	// memory (gemm_shared.glsl), which is what GPUs make fast.
	Shared
)

func (f Form) String() string {
	if f == Shared {
		return "shared"
	}
	return "register"
}

// Loads is how a GEMM kernel reads its operands from memory
// (gemm_loads.glsl).
type Loads uint8

const (
	// Texel: through texel buffers, which lavapipe vectorises and which
	// have no storage-buffer range limit.
	Texel Loads = iota
	// Storage: from storage buffers, a GPU's plain global loads (vec4s
	// of the row operand); the operands must lie within the device's
	// maxStorageBufferRange.
	Storage
)

func (l Loads) String() string {
	if l == Storage {
		return "storage"
	}
	return "texel"
}

// Tile is a GEMM pass's kernel configuration: workgroups of LX×LY
// invocations, each computing a TM×TN block of the output (TM rows, a
// multiple of 4: the row operand is read four rows at a time), in one of
// the two forms, reading its operands through Loads; BK is the shared
// form's reduction step and Prefetch its double buffering (the next
// slices loaded into registers while the current ones are multiplied),
// and Split cuts the reduction into that many slices summed in order
// afterwards (of the batch for a filter gradient, of the input channels
// otherwise).
type Tile struct {
	Form     Form
	LX, LY   int
	TM, TN   int
	BK       int  // shared form only
	Prefetch bool // shared form only
	Split    int  // at least 1
	Loads    Loads
}

// String is the form --tile and the cache files take: "8,8,32,8",
// "16,16,4,4,shared,bk16", "16,16,8,8,shared,bk8,prefetch", with
// ",storage" where the operands are read from storage buffers and
// ",split4" where the reduction is split.
func (t Tile) String() string {
	s := fmt.Sprintf("%d,%d,%d,%d", t.LX, t.LY, t.TM, t.TN)
	if t.Form == Shared {
		s += fmt.Sprintf(",shared,bk%d", t.BK)
	}
	if t.Prefetch {
		s += ",prefetch"
	}
	if t.Loads == Storage {
		s += ",storage"
	}
	if t.Split > 1 {
		s += fmt.Sprintf(",split%d", t.Split)
	}
	return s
}

// ParseTile reads a tile from its String form; the shared form's BK
// defaults to 16, the loads to texel and the split to 1.
func ParseTile(s string) (Tile, error) {
	bad := func(why string) (Tile, error) {
		return Tile{}, fmt.Errorf("tile %q: %s; give four numbers LX,LY,TM,TN and optionally \",shared\", \",bkN\", \",prefetch\", \",storage\", \",splitN\", such as 16,16,8,8,shared,bk8,prefetch", s, why)
	}
	f := strings.Split(strings.TrimSpace(s), ",")
	if len(f) < 4 {
		return bad("too few numbers")
	}
	t := Tile{Split: 1, BK: -1}
	for i, dst := range []*int{&t.LX, &t.LY, &t.TM, &t.TN} {
		n, err := strconv.Atoi(strings.TrimSpace(f[i]))
		if err != nil {
			return bad(fmt.Sprintf("%q is not a number", f[i]))
		}
		*dst = n
	}
	for _, w := range f[4:] {
		w = strings.TrimSpace(w)
		num := func(prefix string) (int, bool) {
			n, err := strconv.Atoi(strings.TrimPrefix(w, prefix))
			return n, err == nil
		}
		switch {
		case w == "shared":
			t.Form = Shared
		case w == "register":
			t.Form = Register
		case w == "prefetch":
			t.Prefetch = true
		case w == "storage":
			t.Loads = Storage
		case w == "texel":
			t.Loads = Texel
		case strings.HasPrefix(w, "bk"):
			n, ok := num("bk")
			if !ok {
				return bad(fmt.Sprintf("%q is not bk and a number", w))
			}
			t.BK = n
		case strings.HasPrefix(w, "split"):
			n, ok := num("split")
			if !ok {
				return bad(fmt.Sprintf("%q is not split and a number", w))
			}
			t.Split = n
		default:
			return bad(fmt.Sprintf("%q is not shared, bkN, prefetch, storage or splitN", w))
		}
	}
	switch {
	case t.Form == Shared && t.BK == -1:
		t.BK = 16
	case t.Form == Register && (t.BK != -1 || t.Prefetch):
		return bad("bk and prefetch are for the shared form")
	case t.Form == Register:
		t.BK = 0
	}
	if err := t.valid(); err != nil {
		return Tile{}, fmt.Errorf("tile %q: %w", s, err)
	}
	return t, nil
}

func (t Tile) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

func (t *Tile) UnmarshalText(b []byte) error {
	u, err := ParseTile(string(b))
	if err != nil {
		return err
	}
	*t = u
	return nil
}

// valid reports a tile no device can run.
func (t Tile) valid() error {
	switch {
	case t.LX < 1 || t.LY < 1 || t.TN < 1 || t.TM < 4 || t.TM%4 != 0:
		return fmt.Errorf("the workgroup and block sizes must be positive, and the block's rows a multiple of 4")
	case t.LX*t.LY > 1024:
		return fmt.Errorf("a workgroup of %d invocations is more than 1024", t.LX*t.LY)
	case t.TM*t.TN > 1024:
		return fmt.Errorf("a block of %d outputs per invocation is more than 1024", t.TM*t.TN)
	case t.Split < 1 || t.Split > 1<<16:
		return fmt.Errorf("split %d must be in [1, 65536]", t.Split)
	case t.Form == Register && (t.BK != 0 || t.Prefetch):
		return fmt.Errorf("bk and prefetch are for the shared form")
	case t.Form == Shared && (t.BK < 1 || t.BK > 64):
		return fmt.Errorf("bk %d must be in [1, 64]", t.BK)
	case t.Loads > Storage:
		return fmt.Errorf("loads %d are neither texel nor storage", t.Loads)
	}
	return nil
}

// sharedBytes is the shared memory the tile's workgroup needs.
func (t Tile) sharedBytes() int {
	if t.Form != Shared {
		return 0
	}
	return (t.LX*t.TN + t.LY*t.TM) * t.BK * 4
}

// Check reports a tile the device cannot run for p.
func (t Tile) Check(info vk.DeviceInfo, p Pass) error {
	if err := t.valid(); err != nil {
		return fmt.Errorf("tile %v: %w", t, err)
	}
	switch {
	case uint32(t.LX*t.LY) > info.MaxWorkgroupInvocations || uint32(t.LX) > info.MaxWorkgroupSize[0] || uint32(t.LY) > info.MaxWorkgroupSize[1]:
		return fmt.Errorf("tile %v: a workgroup of %d×%d is more than %s allows (%d invocations, %d×%d)", t, t.LX, t.LY, info.Name,
			info.MaxWorkgroupInvocations, info.MaxWorkgroupSize[0], info.MaxWorkgroupSize[1])
	case uint32(t.sharedBytes()) > info.SharedMemory:
		return fmt.Errorf("tile %v: needs %d bytes of shared memory, %s has %d", t, t.sharedBytes(), info.Name, info.SharedMemory)
	case t.Split > p.maxSplit():
		return fmt.Errorf("tile %v: %s cannot be split %d ways (at most %d: one slice per %s)", t, p, t.Split, p.maxSplit(), p.sliceOf())
	case t.Split > 1 && t.Split*p.splitPart() > int(info.MaxTexelBufferElements):
		return fmt.Errorf("tile %v: the slices of %s would hold %d floats, more than %s's texel buffers' %d", t, p, t.Split*p.splitPart(), info.Name, info.MaxTexelBufferElements)
	case t.Split > 1 && info.MaxAllocationSize > 0 && uint64(4*t.Split*p.splitPart()) > info.MaxAllocationSize:
		return fmt.Errorf("tile %v: the slices of %s would take %d bytes, more than %s allocates at once (%d)", t, p, 4*t.Split*p.splitPart(), info.Name, info.MaxAllocationSize)
	}
	if t.Loads == Storage {
		x, rows := p.operands()
		for _, o := range []struct {
			name   string
			floats int
		}{{"column operand", x}, {"row operand", rows}} {
			if uint64(4*o.floats) > uint64(info.MaxStorageBufferRange) {
				return fmt.Errorf("tile %v: %s's %s is %d bytes, more than %s's maxStorageBufferRange (%d): read it through texel buffers",
					t, p, o.name, 4*o.floats, info.Name, info.MaxStorageBufferRange)
			}
		}
	}
	g := t.groups(p.Rows(), p.Cols())
	if g.Y*uint32(t.Split) > info.MaxWorkgroupCount[1] || g.Z > info.MaxWorkgroupCount[2] {
		return fmt.Errorf("tile %v: %s's grid of %d×%d×%d workgroups is more than %s allows", t, p, g.X, g.Y*uint32(t.Split), g.Z, info.Name)
	}
	return nil
}

// Fit shrinks a tile to a small output: a block never spans more than the
// output's rows (rounded up to 4), nor a workgroup more columns than it has,
// and the workgroup is never taller than its rows need. The block shrinks
// rather than the workgroup's width, which keeps the lanes of one lavapipe
// subgroup on one row. Fitting a fitted tile changes nothing.
func (t Tile) Fit(p Pass) Tile {
	rows, cols := p.Rows(), p.Cols()
	t.TM = min(t.TM, ceilDiv(rows, 4)*4)
	t.TN = min(t.TN, ceilDiv(cols, t.LX))
	t.LY = min(t.LY, ceilDiv(rows, t.TM))
	t.Split = max(1, min(t.Split, p.maxSplit()))
	return t
}

// maxSplit is the most slices a pass's reduction can be cut into: one per
// sample for a filter gradient, one per input channel for the others.
func (p Pass) maxSplit() int {
	if p.Op == OpConvWgrad {
		return p.n
	}
	return p.c
}

func (p Pass) sliceOf() string {
	if p.Op == OpConvWgrad {
		return "sample"
	}
	return "input channel"
}

// operands are the floats of a pass's two operands as its kernels read
// them: the column operand x, and the row operand rearranged into rows of
// K rounded up to 4 (the weight; dy for a filter gradient).
func (p Pass) operands() (x, rows int) {
	r4 := ceilDiv(p.k, 4) * 4
	if p.Op == OpConvWgrad {
		return p.n * p.c * p.h * p.w, p.n * p.oh * p.ow * r4
	}
	return p.n * p.c * p.h * p.w, p.c * p.kh * p.kw * r4
}

// splitPart is the floats one slice of a split pass writes: the output.
func (p Pass) splitPart() int {
	if p.Op == OpConvWgrad {
		return p.k * p.c * p.kh * p.kw
	}
	return p.n * p.k * p.oh * p.ow
}

// groups covers rows×cols outputs; column blocks past 65535 workgroups
// (the minimum limit in x) wrap into z, as tile_col0 in gemm.glsl reads
// them. A split stacks its slices in y on top of this.
func (t Tile) groups(rows, cols int) vk.Groups {
	x := ceilDiv(cols, t.TN*t.LX)
	z := ceilDiv(x, 65535)
	return vk.Groups{X: uint32(ceilDiv(x, z)), Y: uint32(ceilDiv(rows, t.TM*t.LY)), Z: uint32(z)}
}

func (t Tile) gemm() shaders.Gemm {
	return shaders.Gemm{LocalX: uint32(t.LX), LocalY: uint32(t.LY), TM: uint32(t.TM), TN: uint32(t.TN)}
}

func (t Tile) shared() shaders.GemmShared {
	bk := t.BK
	if bk == 0 {
		bk = 16 // unused by the register form; a constant the shader declares anyway
	}
	return shaders.GemmShared{Shared: t.Form == Shared, BK: uint32(bk), Prefetch: t.Prefetch}
}

func (t Tile) loads() shaders.GemmLoads { return shaders.GemmLoads{Storage: t.Loads == Storage} }

// Heuristic is the tile a pass gets on a device that has not been tuned
// for it, fitted to the pass. It chooses from the device's kind and limits
// and the pass's shape, never from a vendor's name; doc.go says why each
// choice.
//
// On lavapipe (a CPU device) loads are the cost (storage and shared memory
// are accessed lane by lane there), so a large register block per
// invocation read through texel views wins; which size depends on the Mesa
// version (lavapipeTile). A GPU gets the shared-memory form with
// CUTLASS's SIMT tiles (gpuTile) and, where the pass's grid leaves the
// device idle, its reduction split into slices (gpuSplit).
func Heuristic(info vk.DeviceInfo, p Pass) Tile {
	if info.Type == vk.TypeCPU {
		return lavapipeTile(info).Fit(p)
	}
	t := gpuTile(info, p)
	t.Split = defaultSplit(info, p, t)
	return t
}

// gpuTile is the first of the GPU tiles for p's shape that the device
// runs, fitted, reading its operands from storage buffers where they fit
// the device's storage-buffer range and through texel views where not.
//
//   - Most passes: 128×128 output blocks, 256 invocations of 8×8, BK 8,
//     prefetched (CUTLASS's SIMT SGEMM); 64×128 where the pass has 64
//     rows or fewer, 128×64 where it has 128 columns or fewer (128
//     invocations of 8×8), 64×64 where both (64 invocations), so that
//     Fit keeps the 8×8 block (a filter gradient of a 5×5 kernel over 3
//     or 4 channels has 75 or 100 columns).
//   - Few rows (32 or fewer: G's last layer writes 3 channels, D's last
//     1): blocks of 8×1 (4×1 where the rows are 4 or fewer) in workgroups
//     two subgroups wide, which keeps every invocation busy where an 8×8
//     block's workgroup would shrink to a few lanes. Such a pass uses each
//     loaded input at most 4 or 8 times whatever the block, so the narrow
//     block costs nothing, and each invocation then loads one column of
//     each slice and keeps one column's setup (gemm_shared.glsl).
//   - Devices that run none of those (fewer invocations or less shared
//     memory): 64×64 blocks of 8×8, then the 11-27 tile (16×16 of 4×4).
func gpuTile(info vk.DeviceInfo, p Pass) Tile {
	big := func(lx, ly int) Tile {
		return Tile{Form: Shared, LX: lx, LY: ly, TM: 8, TN: 8, BK: 8, Prefetch: true, Split: 1}
	}
	var shapes []Tile
	switch rows, cols := p.Rows(), p.Cols(); {
	case rows <= 32:
		wide := 64
		if info.SubgroupSize >= 16 {
			wide = int(2 * info.SubgroupSize)
		}
		shapes = append(shapes, Tile{Form: Shared, LX: wide, LY: max(1, ceilDiv(rows, 8)), TM: 8, TN: 1, BK: 8, Prefetch: true, Split: 1})
	case rows <= 64 && cols <= 128:
		shapes = append(shapes, big(8, 8))
	case rows <= 64:
		shapes = append(shapes, big(16, 8))
	case cols <= 128:
		shapes = append(shapes, big(8, 16))
	default:
		shapes = append(shapes, big(16, 16), big(16, 8))
	}
	shapes = append(shapes, big(8, 8), Tile{Form: Shared, LX: 16, LY: 16, TM: 4, TN: 4, BK: 16, Split: 1})
	for _, t := range shapes {
		t = t.Fit(p)
		for _, l := range []Loads{Storage, Texel} {
			t.Loads = l
			if t.Check(info, p) == nil {
				return t
			}
		}
	}
	return lavapipeTile(info).Fit(p) // registers and texel views: what every device runs
}

// gpuSplit is how many slices p's reduction is cut into with tile t on a
// GPU: enough that the grid holds gpuFill invocations, where one slice
// does not, and never so many that a slice sums fewer than minSliceRed
// products; 1 where the device cannot hold the slices.
func gpuSplit(info vk.DeviceInfo, p Pass, t Tile) int {
	inv := t.gridSize(p) * t.LX * t.LY
	if inv >= gpuFill {
		return 1
	}
	split := min(ceilDiv(gpuFill, inv), p.maxSplit(), max(1, p.Red()/minSliceRed))
	t.Split = split
	if split < 2 || t.Check(info, p) != nil {
		return 1
	}
	return split
}

// gpuFill is how many invocations a GEMM pass's grid should hold on a GPU:
// about one wave of 8×8-per-invocation workgroups on the largest GPUs (an
// H200's 132 SMs, each holding two 256-invocation workgroups at the ~128
// registers such a kernel takes, is 67 584). Vulkan does not say how many
// SMs or CUs a device has, so smaller GPUs run such a grid in several
// waves, which costs them nothing. A pass with fewer (a filter gradient,
// whose output is small; a transposed conv's phase of a deep layer; D's
// last layer, dense 8192→1, one workgroup) splits its reduction into
// slices (of the batch, of the input channels). On a CPU device its few
// threads any grid keeps busy, so it does not split.
const gpuFill = 1 << 16

// minSliceRed is the shortest reduction a slice of a split pass sums: below
// it the slices' partial sums (written, read and added by sum_slices) cost
// more than the parallelism they buy.
const minSliceRed = 256

// gridSize is how many workgroups one slice of p covers with t.
func (t Tile) gridSize(p Pass) int {
	g := t.groups(p.Rows(), p.Cols())
	return int(g.X * g.Y * max(g.Z, 1))
}

// lavapipeTile is the register tile for lavapipe, by Mesa version: Mesa 22
// runs 32×8 blocks fastest, and Mesa 25 runs them several times slower than
// 16×8 (bench/results/kernel-notes.md). Mesa 23 and 24 were not measured;
// they get the newer tile, which costs little if they behave as 22 does.
func lavapipeTile(info vk.DeviceInfo) Tile {
	if major, ok := mesaMajor(info.DriverInfo); ok && major >= 23 {
		return Tile{Form: Register, LX: 8, LY: 8, TM: 16, TN: 8, Split: 1}
	}
	return Tile{Form: Register, LX: 8, LY: 8, TM: 32, TN: 8, Split: 1}
}

var mesaVersion = regexp.MustCompile(`\bMesa (\d+)\.`)

// mesaMajor reads Mesa's major version from a driver's info string, such
// as "Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6)".
func mesaMajor(driverInfo string) (int, bool) {
	m := mesaVersion.FindStringSubmatch(driverInfo)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// Tiler supplies the tiles of the passes it knows: a Plan, or one tile
// forced on every pass (Force).
type Tiler interface {
	Tile(p Pass) (Tile, bool)
}

// Plan is a tile per pass: what a tuning cache holds, and what a run
// records in its config.json.
type Plan map[Pass]Tile

// Tile is the plan's tile for p, if it has one.
func (pl Plan) Tile(p Pass) (Tile, bool) {
	t, ok := pl[p]
	return t, ok
}

// Force is one tile for every pass, fitted to each: for measuring a tile
// on a device (gan-vk bench --tile) and for holding a form to the
// references in tests. Its split applies to the passes that can split,
// at most one slice per sample.
type Force Tile

func (f Force) Tile(p Pass) (Tile, bool) { return Tile(f).Fit(p), true }

// Choose is the tile p is built with on a device: tiles' tile where it
// has one (nil has none), else the heuristic's. from says which.
func Choose(info vk.DeviceInfo, tiles Tiler, p Pass) (t Tile, fromTiler bool) {
	if tiles != nil {
		if t, ok := tiles.Tile(p); ok {
			return t, true
		}
	}
	return Heuristic(info, p), false
}
