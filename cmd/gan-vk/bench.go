package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

const benchSynopsis = `bench [--preset dcgan28|dcgan64|… | --size N] [--batch 64] [--steps 20] [--profile] [--sweep-batch 16,32,64] [--json]

Times full training steps (one D update and --g-steps G updates) on
synthetic data already on the device, after --warmup steps, and prints the
device, images/s, ms per step, the FLOPs of a step and the GFLOP/s reached,
the fixed cost of the step's dispatches, device memory and host RSS.
--profile adds where a step's device time goes, layer by layer, from
timestamps written after every command, and each GEMM pass's kernel
configuration (tuned by gan-vk tune, or the built-in choice), its time and
its roofline bound from the device's peak and bandwidth, which the bench
measures. --sweep-batch times each batch size
in a list. The FLOP count is 2 × the multiply-adds of every dense, conv and
transposed-conv pass of a step (gan/bench.go writes the formula out).`

// benchReport is what bench measures, as --json prints it.
type benchReport struct {
	Device       string  `json:"device"`
	DeviceType   string  `json:"device_type"`
	Driver       string  `json:"driver"`
	API          string  `json:"vulkan"`
	Preset       string  `json:"preset"`
	Batch        int     `json:"batch"`
	GSteps       int     `json:"g_steps"`
	Steps        int     `json:"steps"`
	Warmup       int     `json:"warmup"`
	SetupSec     float64 `json:"setup_s"`
	MsMedian     float64 `json:"ms_per_step_median"`
	MsMin        float64 `json:"ms_per_step_min"`
	MsMax        float64 `json:"ms_per_step_max"`
	ImagesPerSec float64 `json:"images_per_s"`
	StepGFLOP    float64 `json:"gflop_per_step"`
	GFLOPs       float64 `json:"gflop_per_s"`
	Dispatches   int     `json:"dispatches_per_step"`
	Transfers    int     `json:"transfers_per_step"`
	Barriers     int     `json:"barriers_per_step"`
	Submits      int     `json:"submits_per_step"`
	DispatchUs   float64 `json:"dispatch_cost_us"`
	FixedMs      float64 `json:"fixed_cost_ms"`
	DeviceAlloc  uint64  `json:"device_allocated_bytes"`
	DeviceBufs   uint64  `json:"device_buffer_bytes"`
	DeviceBlocks int     `json:"device_blocks"`
	Staging      uint64  `json:"staging_bytes"`
	RSSWarm      uint64  `json:"host_rss_after_warmup_bytes,omitempty"`
	RSS          uint64  `json:"host_rss_bytes,omitempty"`

	Profile      []profileEntry `json:"profile,omitempty"`
	Kernels      []kernelEntry  `json:"kernels,omitempty"`
	PeakGFLOPs   float64        `json:"peak_gflop_per_s,omitempty"`   // measured: peak.comp
	BandwidthGBs float64        `json:"bandwidth_gb_per_s,omitempty"` // measured: a 64 MiB copy
	Sweep        []sweepEntry   `json:"sweep,omitempty"`
}

// kernelEntry is one GEMM pass of a step in the profile: its tile, where
// the tile came from, its device time in the step and its roofline bound,
// max(FLOPs ÷ peak, bytes ÷ bandwidth), for all its runs.
type kernelEntry struct {
	Layer   string  `json:"layer"`
	Phase   string  `json:"phase"`
	Pass    string  `json:"pass"`
	Tile    string  `json:"tile"`
	From    string  `json:"from"` // tuned, heuristic or --tile
	Runs    int     `json:"runs"`
	Ms      float64 `json:"ms"`
	BoundMs float64 `json:"bound_ms"`
}

type profileEntry struct {
	Layer  string             `json:"layer"`
	Ms     map[string]float64 `json:"ms"`
	GFLOPs float64            `json:"gflop_per_s,omitempty"`
}

type sweepEntry struct {
	Batch        int     `json:"batch"`
	MsMedian     float64 `json:"ms_per_step_median"`
	ImagesPerSec float64 `json:"images_per_s"`
	GFLOPs       float64 `json:"gflop_per_s"`
}

// variantFlags are bench's flags for a step other than the plain one:
// train's augmentation, mirror and discriminator.
type variantFlags struct {
	augment, dNorm *string
	mirror, sn     *bool
}

func newVariantFlags(fs *flag.FlagSet) variantFlags {
	return variantFlags{
		augment: fs.String("augment", "", "time the step augmented with this policy, as train's --augment (at p 1)"),
		mirror:  fs.Bool("mirror", false, "time the step with train's --mirror"),
		sn:      fs.Bool("sn", false, "time the step with train's --sn (spectral norm in the discriminator)"),
		dNorm:   fs.String("d-norm", "bn", "time the step with train's --d-norm: bn or none"),
	}
}

func (f variantFlags) apply(cfg *gan.TrainConfig) (err error) {
	if *f.augment != "" {
		if cfg.Augment, err = layers.ParseAugmentOps(*f.augment); err != nil {
			return &usageError{fmt.Sprintf("--augment %q: %v", *f.augment, err)}
		}
		cfg.AugmentP = 1
	}
	cfg.Mirror = *f.mirror
	if cfg.Model.DNorm, err = gan.ParseNorm(*f.dNorm); err != nil {
		return &usageError{fmt.Sprintf("--d-norm: %v", err)}
	}
	if cfg.Model.SN = *f.sn; cfg.Model.SN || cfg.Model.DNorm != gan.NormBatch {
		if err := cfg.Model.Check(); err != nil {
			return &usageError{err.Error()}
		}
	}
	return nil
}

func runBench(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("bench", benchSynopsis, stdout, stderr)
	model := newSyntheticFlags(fs)
	steps := fs.Int("steps", 20, "timed steps")
	warmup := fs.Int("warmup", 3, "untimed steps first (the first touches of fresh memory are slow)")
	profile := fs.Bool("profile", false, "add a per-layer profile of a step from device timestamps")
	sweep := fs.String("sweep-batch", "", "time each batch size in this comma-separated `list` instead")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	tile := fs.String("tile", "", "force the GEMM tile `LX,LY,TM,TN[,shared][,bkN][,prefetch][,storage][,splitN]` (workgroup LX×LY, TM×TN outputs per invocation, operands staged in shared memory or not, read from storage buffers or texel views, the reduction split or not) on every pass, to measure one on a new device")
	variant := newVariantFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := model.config()
	if err != nil {
		return err
	}
	if err := variant.apply(&cfg); err != nil {
		return err
	}
	m := cfg.Model
	switch {
	case *steps < 1:
		return &usageError{"--steps must be at least 1"}
	case *warmup < 0:
		return &usageError{"--warmup must not be negative"}
	}
	var tiles layers.Tiler
	if *tile != "" {
		t, err := layers.ParseTile(*tile)
		if err != nil {
			return &usageError{"--tile: " + err.Error()}
		}
		tiles = layers.Force(t)
	}
	batches, err := sweepBatches(*sweep, cfg)
	if err != nil {
		return err
	}

	d, err := openDevice(*model.device)
	if err != nil {
		return err
	}
	defer closeDevice(d, stderr, &err)
	info := d.Info()
	if tiles == nil {
		tiles = kernelTiles(info, stderr)
	}
	rep := benchReport{Device: info.Name, DeviceType: info.Type.String(), Driver: strings.TrimSpace(info.DriverName + " " + info.DriverInfo),
		API: info.APIVersion.String(), Preset: m.Preset, Batch: cfg.Batch, GSteps: cfg.GSteps, Steps: *steps, Warmup: *warmup}
	if !*asJSON {
		fmt.Fprintf(stdout, "gan-vk bench: %s (%d×%d×%d), %d generator updates per step, synthetic data on the device\n",
			m.Preset, m.Channels, m.Size(), m.Size(), cfg.GSteps)
		fmt.Fprintf(stdout, "device       %s (%s), %s, Vulkan %s\n", rep.Device, rep.DeviceType, rep.Driver, rep.API)
	}

	if *sweep != "" {
		return benchSweep(d, cfg, tiles, batches, rep, *warmup, *steps, *asJSON, stdout)
	}

	cfg.Kernels = cfg.KernelPlan(info, tiles)
	r, err := benchOne(d, cfg, *warmup, *steps, *profile, func(p layers.Pass) string { return tileSource(info, tiles, p) })
	if err != nil {
		return err
	}
	r.Device, r.DeviceType, r.Driver, r.API = rep.Device, rep.DeviceType, rep.Driver, rep.API
	r.Preset, r.GSteps, r.Steps, r.Warmup = rep.Preset, rep.GSteps, rep.Steps, rep.Warmup
	if *asJSON {
		return printJSON(stdout, r.benchReport)
	}
	r.print(stdout)
	return nil
}

// sweepBatches reads --sweep-batch (none: cfg's batch alone), each a batch
// a trainer can be built with.
func sweepBatches(list string, cfg gan.TrainConfig) ([]int, error) {
	batches := []int{cfg.Batch}
	if list != "" {
		batches = nil
		for _, f := range strings.Split(list, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return nil, &usageError{fmt.Sprintf("--sweep-batch %q: give batch sizes like 16,32,64", list)}
			}
			batches = append(batches, n)
		}
	}
	for _, n := range batches {
		c := cfg
		c.Batch = n
		if err := c.Check(); err != nil {
			return nil, &usageError{err.Error()}
		}
	}
	return batches, nil
}

// benchSweep times each batch size and prints a row (or, with asJSON, the
// report) for each.
func benchSweep(d *vk.Device, cfg gan.TrainConfig, tiles layers.Tiler, batches []int, rep benchReport, warmup, steps int, asJSON bool, stdout io.Writer) error {
	if !asJSON {
		fmt.Fprintf(stdout, "\n%8s %12s %10s %10s\n", "batch", "ms/step", "images/s", "GFLOP/s")
	}
	for _, n := range batches {
		c := cfg
		c.Batch = n
		c.Kernels = c.KernelPlan(d.Info(), tiles)
		r, err := benchOne(d, c, warmup, steps, false, nil)
		if err != nil {
			return err
		}
		e := sweepEntry{Batch: n, MsMedian: r.MsMedian, ImagesPerSec: r.ImagesPerSec, GFLOPs: r.GFLOPs}
		rep.Sweep = append(rep.Sweep, e)
		if !asJSON {
			fmt.Fprintf(stdout, "%8d %12.1f %10.1f %10.1f\n", n, e.MsMedian, e.ImagesPerSec, e.GFLOPs)
		}
	}
	if asJSON {
		return printJSON(stdout, rep)
	}
	return nil
}

// benchRun is one batch size's measurement, with the profile as measured.
type benchRun struct {
	benchReport
	profile *gan.Profile
}

// benchOne builds a trainer at c, fills its real batch with noise, runs
// warmup steps, then times steps one by one on the host clock (a step
// waits for the device, so that is the device's time plus the submits).
func benchOne(d *vk.Device, c gan.TrainConfig, warmup, steps int, profile bool, from func(layers.Pass) string) (*benchRun, error) {
	start := time.Now()
	t, err := gan.NewTrainer(d, c)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	if err := t.FillSynthetic(int64(c.Seed)); err != nil {
		return nil, err
	}
	setup := time.Since(start)
	for i := range warmup {
		if err := benchStep(t.Step, c, "warm-up", i, warmup); err != nil {
			return nil, err
		}
	}
	rssWarm := hostRSS()
	times := make([]time.Duration, steps)
	for i := range times {
		s := time.Now()
		if err := benchStep(t.Step, c, "timed", i, steps); err != nil {
			return nil, err
		}
		times[i] = time.Since(s)
	}
	slices.Sort(times)
	med := times[len(times)/2]
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	flops := c.StepFLOPs()
	r := &benchRun{benchReport: benchReport{Batch: c.Batch, SetupSec: setup.Seconds(),
		MsMedian: ms(med), MsMin: ms(times[0]), MsMax: ms(times[len(times)-1]),
		ImagesPerSec: float64(c.Batch) / med.Seconds(), StepGFLOP: flops / 1e9, GFLOPs: flops / med.Seconds() / 1e9}}
	r.Dispatches, r.Transfers, r.Barriers, r.Submits = t.Commands()
	mem := d.Memory()
	r.DeviceAlloc, r.DeviceBufs, r.DeviceBlocks, r.Staging = mem.Allocated, mem.Buffers, mem.Blocks, mem.Staging
	if d.Info().Timestamps {
		cost, err := gan.DispatchCost(d, 200, 5)
		if err != nil {
			return nil, err
		}
		r.DispatchUs = float64(cost) / 1e3
		r.FixedMs = ms(cost * time.Duration(r.Dispatches+r.Transfers))
	}
	if profile {
		if !d.Info().Timestamps {
			return nil, fmt.Errorf("--profile needs timestamps, and %s cannot write them; run without --profile", d.Info().Name)
		}
		if r.profile, err = t.Profile(3); err != nil {
			return nil, err
		}
		for _, row := range append(r.profile.Rows, r.profile.Total) {
			e := profileEntry{Layer: row.Name, Ms: map[string]float64{}, GFLOPs: gemmRate(row)}
			for cat := range gan.Categories {
				if row.Time[cat] > 0 {
					e.Ms[cat.String()] = ms(row.Time[cat])
				}
			}
			r.Profile = append(r.Profile, e)
		}
		if err := r.kernels(d, c, from); err != nil {
			return nil, err
		}
	}
	r.RSSWarm, r.RSS = rssWarm, hostRSS()
	return r, nil
}

// benchStep runs step (a trainer's) as step i of n of a bench's kind
// ("warm-up" or "timed"), failing where the step's losses are not finite:
// its time would be the time of garbage (synthetic data cannot make a step
// diverge in a few steps; a kernel the device runs wrong can).
func benchStep(step func() (gan.Stats, error), c gan.TrainConfig, kind string, i, n int) error {
	st, err := step()
	if err != nil {
		return err
	}
	if bad := st.NotFinite(); bad != "" {
		return fmt.Errorf("bench: %s at batch %d, %s step %d of %d: %s, so the step's time would mean nothing; this device computes the step wrong with these kernels (the profile's kernel table, bench --profile, lists them; bench --tile forces another to compare)",
			c.Model.Preset, c.Batch, kind, i+1, n, bad)
	}
	return nil
}

// kernels fills the profile's per-pass table, measuring the device's
// peak and bandwidth for the roofline bounds.
func (r *benchRun) kernels(d *vk.Device, c gan.TrainConfig, from func(layers.Pass) string) error {
	peak, err := layers.PeakFLOPs(d)
	if err != nil {
		return err
	}
	bw, err := layers.Bandwidth(d)
	if err != nil {
		return err
	}
	r.PeakGFLOPs, r.BandwidthGBs = peak/1e9, bw/1e9
	rows := map[string]gan.ProfileRow{}
	for _, row := range r.profile.Rows {
		rows[row.Name] = row
	}
	for _, p := range c.GEMMPasses() {
		tile, _ := layers.Choose(d.Info(), c.Kernels, p.Pass)
		n := float64(p.Runs)
		bound := max(p.FLOPs*n/peak, p.Pass.Bytes()*n/bw)
		r.Kernels = append(r.Kernels, kernelEntry{Layer: p.Layer, Phase: p.PhaseName(), Pass: p.Pass.String(), Tile: tile.String(),
			From: from(p.Pass), Runs: p.Runs, Ms: float64(rows[p.Layer].Time[p.Phase]) / 1e6, BoundMs: bound * 1e3})
	}
	return nil
}

// tileSource says where the tile of p comes from when a step is built
// over tiles: --tile, the tuning cache, or the heuristic.
func tileSource(info vk.DeviceInfo, tiles layers.Tiler, p layers.Pass) string {
	switch tiles.(type) {
	case layers.Force:
		return "--tile"
	case nil:
		return "heuristic"
	}
	if _, ok := tiles.Tile(p); ok {
		return "tuned"
	}
	return "heuristic"
}

// gemmRate is the GFLOP/s of a row's dense, conv and transposed-conv
// passes; 0 when it has none.
func gemmRate(r gan.ProfileRow) float64 {
	var f float64
	var t time.Duration
	for _, c := range []gan.Category{gan.Forward, gan.BackwardData, gan.BackwardFilter} {
		f += r.FLOPs[c]
		t += r.Time[c]
	}
	if f == 0 || t == 0 {
		return 0
	}
	return f / t.Seconds() / 1e9
}

func (r *benchRun) print(w io.Writer) {
	fmt.Fprintf(w, "batch        %d\n", r.Batch)
	fmt.Fprintf(w, "setup        %.2f s (kernels, buffers and the recorded steps)\n", r.SetupSec)
	fmt.Fprintf(w, "step         median %.1f ms, min %.1f, max %.1f (%d steps after %d warm-up)\n",
		r.MsMedian, r.MsMin, r.MsMax, r.Steps, r.Warmup)
	fmt.Fprintf(w, "images/s     %.1f\n", r.ImagesPerSec)
	fmt.Fprintf(w, "FLOPs        %.2f GFLOP per step, %.1f GFLOP/s\n", r.StepGFLOP, r.GFLOPs)
	if r.DispatchUs > 0 {
		fmt.Fprintf(w, "fixed cost   %d dispatches + %d copies and fills per step × %.1f µs = %.1f ms (%.1f%% of the step); %d barriers, %d submits\n",
			r.Dispatches, r.Transfers, r.DispatchUs, r.FixedMs, 100*r.FixedMs/r.MsMedian, r.Barriers, r.Submits)
	} else {
		fmt.Fprintf(w, "commands     %d dispatches + %d copies and fills per step; %d barriers, %d submits\n",
			r.Dispatches, r.Transfers, r.Barriers, r.Submits)
	}
	fmt.Fprintf(w, "memory       device %s in %d blocks for %s of buffers (%.2f×), and %s of staging", bytesString(r.DeviceAlloc), r.DeviceBlocks,
		bytesString(r.DeviceBufs), float64(r.DeviceAlloc)/float64(max(r.DeviceBufs, 1)), bytesString(r.Staging))
	if r.RSS > 0 {
		fmt.Fprintf(w, "; host RSS %s after warm-up, %s after the timed steps", bytesString(r.RSSWarm), bytesString(r.RSS))
	}
	fmt.Fprintln(w)
	if r.profile == nil {
		return
	}
	p := r.profile
	total := p.Total.Total()
	fmt.Fprintf(w, "\nprofile: device time of one step by layer, ms (median of %d runs; a timestamp after every command)\n", p.Runs)
	cols := []gan.Category{gan.Forward, gan.BackwardData, gan.BackwardFilter, gan.BatchNorm, gan.Activations, gan.Loss, gan.Adam, gan.Copies, gan.Other}
	heads := []string{"fwd", "bwd-data", "bwd-filt", "bn", "act", "loss", "adam", "copies", "other"}
	if p.Total.Time[gan.Augmentation] > 0 { // an augmented step's column, before other
		cols = append(cols[:len(cols)-1], gan.Augmentation, gan.Other)
		heads = append(heads[:len(heads)-1], "augment", "other")
	}
	fmt.Fprintf(w, "%-34s", "layer")
	for _, h := range heads {
		fmt.Fprintf(w, " %8s", h)
	}
	fmt.Fprintf(w, " %9s %6s %8s\n", "total", "share", "GFLOP/s")
	line := func(row gan.ProfileRow) {
		fmt.Fprintf(w, "%-34s", row.Name)
		for _, c := range cols {
			if row.Time[c] == 0 {
				fmt.Fprintf(w, " %8s", "·")
				continue
			}
			fmt.Fprintf(w, " %8.2f", float64(row.Time[c])/1e6)
		}
		fmt.Fprintf(w, " %9.2f %5.1f%%", float64(row.Total())/1e6, 100*float64(row.Total())/float64(max(total, 1)))
		if g := gemmRate(row); g > 0 {
			fmt.Fprintf(w, " %8.1f", g)
		}
		fmt.Fprintln(w)
	}
	for _, row := range p.Rows {
		line(row)
	}
	line(p.Total)
	fmt.Fprintf(w, "\nkernels: each GEMM pass's tile, where it came from, and its device time in a step against its roofline\n")
	fmt.Fprintf(w, "bound, max(FLOPs ÷ peak, bytes ÷ bandwidth), with the peak %.1f GFLOP/s and bandwidth %.1f GB/s measured by this\n",
		r.PeakGFLOPs, r.BandwidthGBs)
	fmt.Fprintf(w, "bench (peak.comp's FMA chains, a 64 MiB copy); bwd-filter times include the bias gradient\n")
	fmt.Fprintf(w, "%-34s %-6s %4s %-44s %-9s %9s %9s %8s\n", "layer", "pass", "runs", "tile", "from", "ms", "bound ms", "× bound")
	for _, k := range r.Kernels {
		fmt.Fprintf(w, "%-34s %-6s %4d %-44s %-9s %9.2f %9.3f %8.1f\n", k.Layer, k.Phase, k.Runs, k.Tile, k.From, k.Ms, k.BoundMs, k.Ms/max(k.BoundMs, 1e-9))
	}
	fmt.Fprintf(w, "\nby kind:\n")
	for _, c := range cols {
		t := p.Total.Time[c]
		fmt.Fprintf(w, "  %-16s %9.2f ms %5.1f%%", c, float64(t)/1e6, 100*float64(t)/float64(max(total, 1)))
		if f := p.Total.FLOPs[c]; f > 0 && t > 0 {
			fmt.Fprintf(w, " %8.1f GFLOP/s", f/t.Seconds()/1e9)
		}
		fmt.Fprintln(w)
	}
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// hostRSS is the process's resident memory from /proc (Linux); 0 where
// there is none.
func hostRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
