package tune

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gan-vk/gan-vk/gan/atomicfile"
	"github.com/gan-vk/gan-vk/layers"
	"github.com/gan-vk/gan-vk/vk"
)

// The tuning cache keeps what gan-vk tune found, per device and driver, in
// the user's cache folder: one file per device UUID and driver version,
// each pass's winning tile by the pass and its shape. A file for other
// kernels (a gan-vk whose GEMM shaders differ), another device or another
// format, or one that does not read whole, is ignored with one warning:
// training then takes the heuristic, and the next tune writes the file
// anew. Writes are atomic (atomicfile.Write), so concurrent runs never leave a
// file half-written; two tunes at once each keep the other's passes where
// they can (the later write re-reads the file first).

// cacheFormat marks our tuning cache files; a file in another format (or
// a later one) is foreign.
const cacheFormat = "gan-vk kernel tuning 1"

// Cache is one device's and driver's tuned tiles.
type Cache struct {
	Path   string                `json:"-"`
	Format string                `json:"format"`
	Device string                `json:"device"`
	UUID   string                `json:"uuid"`
	Driver uint32                `json:"driver_version"`
	Info   string                `json:"driver"`  // the driver's name and info, for people reading the file
	Build  string                `json:"kernels"` // layers.KernelsVersion when it was tuned
	Passes map[layers.Pass]Tuned `json:"passes"`
}

// Tuned is one pass's winner, with what it and the heuristic's tile
// took, in microseconds, when it was tuned.
type Tuned struct {
	Tile       layers.Tile `json:"tile"`
	Micros     float64     `json:"us"`
	HeuristicT float64     `json:"heuristic_us,omitzero"`
	Heuristic  layers.Tile `json:"heuristic,omitzero"`
	When       time.Time   `json:"tuned"`
}

// CacheDir is where the cache files live: $XDG_CACHE_HOME/gan-vk, else
// ~/.cache/gan-vk (os.UserCacheDir's choice on each system).
func CacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("tune: no cache folder for tuned kernels: %w", err)
	}
	return filepath.Join(dir, "gan-vk"), nil
}

// CachePath is the device's and driver's file in dir.
func CachePath(dir string, info vk.DeviceInfo) string {
	return filepath.Join(dir, fmt.Sprintf("kernels-%s-%08x.json", hex.EncodeToString(info.UUID[:]), info.DriverVersion))
}

func newCache(path string, info vk.DeviceInfo) *Cache {
	return &Cache{Path: path, Format: cacheFormat, Device: info.Name, UUID: hex.EncodeToString(info.UUID[:]),
		Driver: info.DriverVersion, Info: info.DriverName + " " + info.DriverInfo, Build: layers.KernelsVersion(),
		Passes: map[layers.Pass]Tuned{}}
}

// LoadCache reads the device's file in dir. A missing file is an empty
// cache; one that cannot be used is an empty cache too, with warn told
// once why.
func LoadCache(dir string, info vk.DeviceInfo, warn func(string)) *Cache {
	path := CachePath(dir, info)
	c, err := readCache(path, info)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && warn != nil {
			warn(fmt.Sprintf("ignoring the tuned kernels in %s: %v; using the built-in choice (gan-vk tune writes it anew)", path, err))
		}
		return newCache(path, info)
	}
	return c
}

// readCache reads and checks one file.
func readCache(path string, info vk.DeviceInfo) (*Cache, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := newCache(path, info)
	want := *c
	c.Format, c.Passes = "", nil
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("it is cut short")
		}
		return nil, fmt.Errorf("it does not read: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("it has more than one JSON object")
	}
	c.Path = path
	switch {
	case c.Format != cacheFormat:
		return nil, fmt.Errorf("it is not a gan-vk kernel tuning file of this version (format %q)", c.Format)
	case c.UUID != want.UUID || c.Driver != want.Driver:
		return nil, fmt.Errorf("it was written for another device or driver (%s, driver version %08x)", c.Device, c.Driver)
	case c.Build != want.Build:
		return nil, fmt.Errorf("it was tuned for other kernels (build %s, this gan-vk's is %s)", c.Build, want.Build)
	}
	if c.Passes == nil {
		c.Passes = map[layers.Pass]Tuned{}
	}
	for p, e := range c.Passes {
		if err := e.Tile.Check(info, p); err != nil || e.Tile.Fit(p) != e.Tile {
			return nil, fmt.Errorf("its tile for %s does not fit the pass (%v)", p, err)
		}
	}
	return c, nil
}

// Tile is the tuned tile for p, if the cache has one: a layers.Tiler.
func (c *Cache) Tile(p layers.Pass) (layers.Tile, bool) {
	e, ok := c.Passes[p]
	return e.Tile, ok
}

// Add records tuning results.
func (c *Cache) Add(rs []Result, now time.Time) {
	for _, r := range rs {
		c.Passes[r.Pass] = Tuned{Tile: r.Best, Micros: micros(r.BestT), Heuristic: r.Heuristic, HeuristicT: micros(r.HeuristicT), When: now}
	}
}

func micros(d time.Duration) float64 { return float64(d) / 1e3 }

// Save writes the cache, keeping the passes another process wrote to the
// file since it was read (this cache's own win where both have a pass).
func (c *Cache) Save(info vk.DeviceInfo) error {
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
		return fmt.Errorf("tune: saving tuned kernels: %w", err)
	}
	if now, err := readCache(c.Path, info); err == nil {
		for p, e := range now.Passes {
			if _, ok := c.Passes[p]; !ok {
				c.Passes[p] = e
			}
		}
	}
	err := atomicfile.Write(c.Path, func(w io.Writer) error {
		b, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("tune: saving tuned kernels: %w", err)
	}
	return nil
}
