package tune

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gan-vk/gan-vk/gan"
	"github.com/gan-vk/gan-vk/internal/gantest"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
	"github.com/gan-vk/gan-vk/vk/vktest"
)

// cacheDevice is a device as the cache sees it: its identity and limits.
var cacheDevice = vk.DeviceInfo{Name: "llvmpipe", Type: vk.TypeCPU, UUID: [16]byte{'m', 'e', 's', 'a'}, DriverVersion: 7,
	MaxWorkgroupInvocations: 1024, MaxWorkgroupSize: [3]uint32{1024, 1024, 1024},
	MaxWorkgroupCount: [3]uint32{65535, 65535, 65535}, SharedMemory: 32 << 10, MaxTexelBufferElements: 128 << 20}

// tunedCache is a cache holding a non-heuristic tile for every pass of
// tinyConfig.
func tunedCache(t *testing.T, dir string, info vk.DeviceInfo) (*Cache, layers.Plan) {
	c := LoadCache(dir, info, func(msg string) { t.Errorf("warning for a missing file: %s", msg) })
	var rs []Result
	plan := layers.Plan{}
	for _, p := range gantest.TinyConfig(t).GEMMPasses() {
		tile := layers.Tile{Form: layers.Register, LX: 4, LY: 4, TM: 8, TN: 4, Split: 1}.Fit(p.Pass)
		rs = append(rs, Result{Pass: p.Pass, Best: tile, BestT: time.Millisecond, Heuristic: layers.Heuristic(info, p.Pass), HeuristicT: 2 * time.Millisecond})
		plan[p.Pass] = tile
	}
	c.Add(rs, time.Unix(0, 0))
	return c, plan
}

func TestTuneCache(t *testing.T) {
	dir := t.TempDir()
	c, plan := tunedCache(t, dir, cacheDevice)
	if err := c.Save(cacheDevice); err != nil {
		t.Fatal(err)
	}
	back := LoadCache(dir, cacheDevice, func(msg string) { t.Errorf("warning for a good file: %s", msg) })
	cfg := gantest.TinyConfig(t)
	if got := cfg.KernelPlan(cacheDevice, back); len(got) != len(plan) {
		t.Fatalf("the plan from the cache has %d passes, want %d", len(got), len(plan))
	}
	for p, tile := range plan {
		if got, ok := back.Tile(p); !ok || got != tile {
			t.Errorf("%v: cached %v read back as %v, %v", p, tile, got, ok)
		}
	}
	// Another driver version of the same device has a file of its own.
	other := cacheDevice
	other.DriverVersion++
	if c := LoadCache(dir, other, func(msg string) { t.Errorf("warning for another driver: %s", msg) }); len(c.Passes) != 0 {
		t.Errorf("another driver's cache has %d passes", len(c.Passes))
	}

	good, err := os.ReadFile(CachePath(dir, cacheDevice))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	var aPass string
	for p := range c.Passes {
		aPass = p.String()
		break
	}
	for _, bad := range []struct {
		name string
		data []byte
		want string
	}{
		{"garbage", []byte("\x00\x01not json"), "does not read"},
		{"truncated", good[:len(good)/2], "cut short"},
		{"empty", nil, "cut short"},
		{"foreign", []byte(`{"format": "something else", "passes": {}}`), "not a gan-vk kernel tuning file"},
		{"a JSON list", []byte(`[1, 2]`), "does not read"},
		{"stale kernels", edit(func(m map[string]any) { m["kernels"] = "0123456789abcdef" }), "tuned for other kernels"},
		{"another device", edit(func(m map[string]any) { m["uuid"] = "00" }), "another device"},
		{"a bad tile", edit(func(m map[string]any) {
			m["passes"].(map[string]any)[aPass].(map[string]any)["tile"] = "8,8,30,8"
		}), "does not read"},
		{"a tile too big for the device", edit(func(m map[string]any) {
			m["passes"].(map[string]any)[aPass].(map[string]any)["tile"] = "32,32,16,8,shared"
		}), "does not fit"},
		{"a bad pass", edit(func(m map[string]any) {
			m["passes"].(map[string]any)["conv_fwd n0"] = map[string]any{"tile": "8,8,32,8"}
		}), "does not read"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			d := t.TempDir()
			if err := os.WriteFile(CachePath(d, cacheDevice), bad.data, 0o644); err != nil {
				t.Fatal(err)
			}
			var warnings []string
			c := LoadCache(d, cacheDevice, func(msg string) { warnings = append(warnings, msg) })
			if len(warnings) != 1 || !strings.Contains(warnings[0], bad.want) || strings.Contains(warnings[0], "\n") {
				t.Errorf("warnings %q, want one line saying %q", warnings, bad.want)
			}
			if len(c.Passes) != 0 {
				t.Errorf("an unusable cache gave %d passes", len(c.Passes))
			}
			// The next save replaces it with a good file.
			c.Add([]Result{{Pass: cfgPass(t), Best: layers.Heuristic(cacheDevice, cfgPass(t))}}, time.Now())
			if err := c.Save(cacheDevice); err != nil {
				t.Fatal(err)
			}
			if _, err := readCache(CachePath(d, cacheDevice), cacheDevice); err != nil {
				t.Errorf("after a save: %v", err)
			}
		})
	}
}

func cfgPass(t *testing.T) layers.Pass { return gantest.TinyConfig(t).GEMMPasses()[0].Pass }

// Saves from many writers at once never leave a file that does not read,
// and a save keeps the passes another writer added meanwhile.
func TestTuneCacheConcurrentSaves(t *testing.T) {
	dir := t.TempDir()
	passes := gantest.TinyConfig(t).GEMMPasses()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 100)
	wg.Add(1)
	go func() { // a reader, all along
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := readCache(CachePath(dir, cacheDevice), cacheDevice); err != nil && !os.IsNotExist(err) {
				report(errs, fmt.Errorf("a reader saw: %v", err))
				return
			}
		}
	}()
	var writers sync.WaitGroup
	for i, p := range passes {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for range 20 {
				c := LoadCache(dir, cacheDevice, func(msg string) { report(errs, fmt.Errorf("writer %d: %s", i, msg)) })
				c.Add([]Result{{Pass: p.Pass, Best: layers.Heuristic(cacheDevice, p.Pass)}}, time.Now())
				if err := c.Save(cacheDevice); err != nil {
					report(errs, err)
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c, err := readCache(CachePath(dir, cacheDevice), cacheDevice)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Passes) == 0 {
		t.Error("no pass survived")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// report keeps an error unless the channel is full (enough to fail on).
func report(errs chan<- error, err error) {
	select {
	case errs <- err:
	default:
	}
}

// A tune on lavapipe (a quick one: two candidates a pass) times every
// distinct pass of the step once, the largest share of the step first,
// keeps each result as soon as its pass is done, keeps a winner no slower
// than the heuristic's tile, and the trainer builds and runs with what it
// found.
func TestTune(t *testing.T) {
	d := vktest.Open(t)
	cfg := gantest.TinyConfig(t)
	var started, done int
	var kept []layers.Pass
	rs, err := Run(d, cfg, Options{MaxCandidates: 2, Progress: func(i, n int, p layers.Pass, r *Result) {
		if r == nil {
			started++
		} else {
			done++
		}
	}, Keep: func(r Result) error {
		if len(kept)+1 != done {
			t.Errorf("%v kept before its progress line, or its predecessor's after", r.Pass)
		}
		kept = append(kept, r.Pass)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != len(rs) {
		t.Errorf("%d results kept as they came, %d in all", len(kept), len(rs))
	}
	cost := map[layers.Pass]float64{}
	for _, sp := range cfg.GEMMPasses() {
		cost[sp.Pass] += sp.FLOPs * float64(sp.Runs)
	}
	for i := 1; i < len(rs); i++ {
		if cost[rs[i].Pass] > cost[rs[i-1].Pass] {
			t.Errorf("%v (%.0f FLOP a step) was tuned after %v (%.0f)", rs[i].Pass, cost[rs[i].Pass], rs[i-1].Pass, cost[rs[i-1].Pass])
		}
	}
	distinct := map[layers.Pass]bool{}
	for _, p := range cfg.GEMMPasses() {
		distinct[p.Pass] = true
	}
	if len(rs) != len(distinct) || started != len(rs) || done != len(rs) {
		t.Fatalf("%d results, %d started, %d done; the step has %d distinct passes", len(rs), started, done, len(distinct))
	}
	for _, r := range rs {
		if r.BestT <= 0 || r.BestT > r.HeuristicT || r.Tried < 2 || len(r.Layers) == 0 {
			t.Errorf("%v: best %v in %v against the heuristic's %v in %v, %d timed, layers %v", r.Pass, r.Best, r.BestT, r.Heuristic, r.HeuristicT, r.Tried, r.Layers)
		}
		if err := r.Best.Check(d.Info(), r.Pass); err != nil {
			t.Errorf("%v: the winner: %v", r.Pass, err)
		}
	}
	c := LoadCache(t.TempDir(), d.Info(), nil)
	c.Add(rs, time.Now())
	cfg.Kernels = cfg.KernelPlan(d.Info(), c)
	tr, err := gan.NewTrainer(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.FillSynthetic(1); err != nil {
		t.Fatal(err)
	}
	if st, err := tr.Step(); err != nil || st.DLoss() != st.DLoss() {
		t.Fatalf("a step with the tuned kernels: %+v, %v", st, err)
	}
}

// A candidate that fails to build is skipped with a word to Failed, and the
// tune goes on; a Keep that fails ends it with that error.
func TestTuneSkipsFailures(t *testing.T) {
	d := vktest.Open(t)
	cfg := gantest.TinyConfig(t)
	// More shared memory than lavapipe has, however it is fitted: NewGEMM
	// refuses it.
	huge := layers.Tile{Form: layers.Shared, LX: 1024, LY: 1, TM: 4, TN: 1, BK: 64, Split: 1}
	good := layers.Tile{Form: layers.Register, LX: 4, LY: 4, TM: 8, TN: 4, Split: 1}
	cands := func(info vk.DeviceInfo, p layers.Pass) []layers.Tile {
		return []layers.Tile{huge, layers.Heuristic(info, p), good.Fit(p)}
	}
	var failed []string
	rs, err := Run(d, cfg, Options{Candidates: cands, Failed: func(p layers.Pass, tile layers.Tile, err error) {
		if tile != huge || !strings.Contains(err.Error(), "shared memory") {
			t.Errorf("%v failed: %v", tile, err)
		}
		failed = append(failed, p.String())
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != len(rs) || len(rs) == 0 {
		t.Fatalf("%d failures told for %d passes", len(failed), len(rs))
	}
	for _, r := range rs {
		if r.Failed != 1 || r.Tried < 2 || r.HeuristicT != 0 || r.Best == huge || r.BestT <= 0 || r.Speedup() != 1 {
			t.Errorf("%v: %+v", r.Pass, r)
		}
	}
	stop := fmt.Errorf("the disk is full")
	rs, err = Run(d, cfg, Options{MaxCandidates: 1, Keep: func(Result) error { return stop }})
	if !errors.Is(err, stop) || len(rs) != 1 {
		t.Errorf("a failing Keep: %d results, %v", len(rs), err)
	}
}

// A budget ends the tune with what it found: a pass out of time keeps its
// best so far (here the heuristic's tile, the only one it timed), and the
// passes reached with nothing left are not tuned.
func TestTuneBudget(t *testing.T) {
	d := vktest.Open(t)
	cfg := gantest.TinyConfig(t)
	rs, err := Run(d, cfg, Options{Budget: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 || len(rs) >= len(distinct(cfg)) {
		t.Fatalf("a tune of 20 ms tuned %d of %d passes", len(rs), len(distinct(cfg)))
	}
	for _, r := range rs {
		if !r.OutOfTime || r.Tried != 1 || r.Best != r.Heuristic {
			t.Errorf("%v: %+v", r.Pass, r)
		}
	}
	if _, err := Run(d, cfg, Options{Budget: time.Nanosecond}); err != nil {
		t.Errorf("a tune with no time: %v", err)
	}
}

func distinct(cfg gan.TrainConfig) map[layers.Pass]bool {
	out := map[layers.Pass]bool{}
	for _, p := range cfg.GEMMPasses() {
		out[p.Pass] = true
	}
	return out
}
