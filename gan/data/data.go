package data

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // decoders for image folders
	_ "image/png"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/gan-vk/gan-vk/gan/atomicfile"
	"golang.org/x/image/draw"
)

// Default is where Debian's dataset-fashion-mnist installs Fashion-MNIST.
const Default = "/usr/share/datasets/fashion-mnist"

// Crop modes for image folders.
const (
	CropSquare = "square" // the largest centred square
	CropCelebA = "celeba" // carpedm20's centred 108×108 face crop of CelebA's 218×178 images
)

// Options says where the training images are and how to prepare them.
type Options struct {
	Path     string // an IDX images file, a directory holding one (MNIST layout), a folder of JPEG/PNG images, or one image
	Size     int    // the model's side: images are resized to Size×Size
	Crop     string // for image folders: CropSquare (default) or CropCelebA
	CacheDir string // where a decoded image folder is cached; "" decodes every time
	// Channels converts the images to 1 (grey, as luma) or 3 channels
	// (grey repeated); 0 keeps the data's own (1 for IDX, 3 for folders).
	Channels int
	// Labels reads each image's class: for an IDX images file, the IDX
	// labels file beside it (train-labels-idx1-ubyte for
	// train-images-idx3-ubyte), as MNIST, Fashion-MNIST and EMNIST ship
	// them; for a folder, the subfolder each image is in, when every image
	// is in one and there are at least two. Otherwise the data set is
	// unlabelled.
	Labels bool
	Log    func(format string, args ...any)
}

// Dataset is a set of training images at the model's size: N images of
// C×S×S bytes (CHW), read through src.
type Dataset struct {
	Source  string // the file or folder it came from
	N, C, S int
	Skipped int    // images of a folder that failed to decode
	Cache   string // the cache file it is read from, if any
	// Labels holds each image's class in [0, Classes) when Options.Labels
	// found them; Classes is 0 for unlabelled data.
	Labels  []int32
	Classes int
	// Converted says how the images' channels were converted
	// (Options.Channels), or is "".
	Converted string
	src       io.ReaderAt
	closer    io.Closer
}

// Close releases the cache file.
func (d *Dataset) Close() error {
	if d.closer != nil {
		return d.closer.Close()
	}
	return nil
}

// ImageBytes is the size of one image: C×S×S bytes, or floats in a batch.
func (d *Dataset) ImageBytes() int { return d.C * d.S * d.S }

// Open opens the images at opt.Path: an IDX file (or a directory
// with train-images-idx3-ubyte[.gz]), which is read whole and must be
// intact, or a folder of JPEG and PNG images (searched recursively), which
// is decoded once into a cache; images that fail to decode are skipped and
// counted, and a folder with none that decodes is an error.
func Open(opt Options) (*Dataset, error) {
	if opt.Crop == "" {
		opt.Crop = CropSquare
	}
	if opt.Crop != CropSquare && opt.Crop != CropCelebA {
		return nil, fmt.Errorf("unknown crop %q; use %q or %q", opt.Crop, CropSquare, CropCelebA)
	}
	if opt.Log == nil {
		opt.Log = func(string, ...any) {}
	}
	if opt.Channels != 0 && opt.Channels != 1 && opt.Channels != 3 {
		return nil, fmt.Errorf("data: %d channels: images convert to 1 or 3", opt.Channels)
	}
	ds, err := open(opt)
	if err != nil {
		return nil, err
	}
	if opt.Channels != 0 && opt.Channels != ds.C {
		ds.convert(opt.Channels)
	}
	return ds, nil
}

func open(opt Options) (*Dataset, error) {
	st, err := os.Stat(opt.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && opt.Path == Default {
			return nil, fmt.Errorf("the default data set %s is missing; install it (apt-get install dataset-fashion-mnist) or pass --data", Default)
		}
		return nil, fmt.Errorf("data: %w", err)
	}
	if st.IsDir() {
		if p, ok := idxInDir(opt.Path); ok {
			return openIDX(p, opt)
		}
		return openFolder(opt)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("data: %s is neither a file nor a directory", opt.Path)
	}
	if isImageFile(opt.Path) { // one image: a folder of one
		return openFolder(opt)
	}
	return openIDX(opt.Path, opt)
}

func openIDX(path string, opt Options) (*Dataset, error) {
	n, rows, cols, pix, err := ReadIDX(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	s := opt.Size
	if min(rows, cols) < s {
		opt.Log("data: the images of %s are %d×%d, upscaled to %d×%d (blurred)", path, rows, cols, s, s)
	}
	if rows != s || cols != s {
		out := make([]byte, n*s*s)
		for i := 0; i < n; i++ {
			src := &image.Gray{Pix: pix[i*rows*cols : (i+1)*rows*cols], Stride: cols, Rect: image.Rect(0, 0, cols, rows)}
			dst := &image.Gray{Pix: out[i*s*s : (i+1)*s*s], Stride: s, Rect: image.Rect(0, 0, s, s)}
			draw.CatmullRom.Scale(dst, dst.Rect, src, squareCrop(src.Rect), draw.Src, nil)
		}
		pix = out
	}
	ds := &Dataset{Source: path, N: n, C: 1, S: s, src: bytes.NewReader(pix)}
	if opt.Labels {
		if err := ds.readLabels(path); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// squareCrop is the largest square centred in r.
func squareCrop(r image.Rectangle) image.Rectangle {
	side := min(r.Dx(), r.Dy())
	x0 := r.Min.X + (r.Dx()-side)/2
	y0 := r.Min.Y + (r.Dy()-side)/2
	return image.Rect(x0, y0, x0+side, y0+side)
}

// celebACrop is carpedm20's face crop: a centred 108×108 square (smaller
// images get their largest centred square).
func celebACrop(r image.Rectangle) image.Rectangle {
	side := min(108, r.Dx(), r.Dy())
	x0 := r.Min.X + (r.Dx()-side+1)/2
	y0 := r.Min.Y + (r.Dy()-side+1)/2
	return image.Rect(x0, y0, x0+side, y0+side)
}

// maxPixels bounds the images a folder may hold: a header claiming more is
// refused before decoding allocates for it.
const maxPixels = 1 << 26

type folderFile struct {
	path string
	size int64
	mod  int64
}

func listImages(root string) ([]folderFile, error) {
	var files []folderFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !isImageFile(p) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			// A link to an image counts as the image (data sets are often
			// linked in); a broken link or a loop is passed over.
			if info, err = os.Stat(p); err != nil {
				return nil
			}
		}
		if info.Mode().IsRegular() { // not a FIFO or a device, which could block
			files = append(files, folderFile{p, info.Size(), info.ModTime().UnixNano()})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("data: reading %s: %w", root, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	return files, nil
}

// isImageFile says whether a path names an image the folder loader reads.
func isImageFile(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}

// cacheKey names a folder's cache by everything that decides its bytes.
func cacheKey(root string, files []folderFile, s int, crop string) string {
	h := sha256.New()
	abs, _ := filepath.Abs(root)
	fmt.Fprintf(h, "gan-vk folder cache 1\n%s\n%d %s\n", abs, s, crop)
	for _, f := range files {
		fmt.Fprintf(h, "%s %d %d\n", f.path, f.size, f.mod)
	}
	return fmt.Sprintf("%x", h.Sum(nil)[:12])
}

// The cache file: cacheMagic, then N, C, S and Skipped as little-endian
// uint32, then N images of C×S×S bytes.
const (
	cacheMagic  = "GANVKU8\n"
	cacheHeader = len(cacheMagic) + 16
)

func openFolder(opt Options) (*Dataset, error) {
	files, err := listImages(opt.Path)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("data: %s holds no .jpg, .jpeg or .png images (nor an IDX train-images file)", opt.Path)
	}
	var classes folderClasses
	if opt.Labels {
		classes = classesOf(opt.Path, files)
	}
	key := cacheKey(opt.Path, files, opt.Size, opt.Crop)
	var cache string
	if opt.CacheDir != "" {
		cache = filepath.Join(opt.CacheDir, fmt.Sprintf("%s-%d-%s.u8", filepath.Base(filepath.Clean(opt.Path)), opt.Size, key))
		if ds, err := openCache(cache); err == nil {
			if classes.names == nil || ds.readFolderLabels(cache, classes) == nil {
				ds.Source = opt.Path
				opt.Log("data: %d images of %s from the cache %s", ds.N, opt.Path, cache)
				return ds, nil
			}
			ds.Close() // cached before its labels were asked for: decode again
		}
	}
	pix, kept, skipped, err := decodeFolder(files, opt)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{Source: opt.Path, N: len(kept), C: 3, S: opt.Size, Skipped: skipped, src: bytes.NewReader(pix)}
	if classes.names != nil {
		ds.Labels, ds.Classes = make([]int32, len(kept)), len(classes.names)
		for i, f := range kept {
			ds.Labels[i] = classes.of[f]
		}
	}
	if cache != "" {
		err := writeCache(cache, ds, pix)
		if err == nil && ds.Labels != nil {
			err = writeFolderLabels(cache, ds.Labels)
		}
		if err != nil {
			opt.Log("data: not caching the decoded images (%v); the next run decodes them again", err)
		} else {
			ds.Cache = cache
		}
	}
	return ds, nil
}

func openCache(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var h [cacheHeader]byte
	if _, err := io.ReadFull(f, h[:]); err != nil || string(h[:len(cacheMagic)]) != cacheMagic {
		f.Close()
		return nil, fmt.Errorf("%s is not a gan-vk image cache", path)
	}
	u := func(i int) int { return int(binary.LittleEndian.Uint32(h[len(cacheMagic)+4*i:])) }
	ds := &Dataset{N: u(0), C: u(1), S: u(2), Skipped: u(3), Cache: path, closer: f}
	st, err := f.Stat()
	if err != nil || ds.N == 0 || st.Size() != int64(cacheHeader)+int64(ds.N)*int64(ds.ImageBytes()) {
		f.Close()
		return nil, fmt.Errorf("%s is truncated or corrupt", path)
	}
	ds.src = io.NewSectionReader(f, int64(cacheHeader), st.Size()-int64(cacheHeader))
	return ds, nil
}

// writeCache writes the decoded images atomically.
func writeCache(path string, ds *Dataset, pix []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		var h [cacheHeader]byte
		copy(h[:], cacheMagic)
		for i, v := range []int{ds.N, ds.C, ds.S, ds.Skipped} {
			binary.LittleEndian.PutUint32(h[len(cacheMagic)+4*i:], uint32(v))
		}
		if _, err := w.Write(h[:]); err != nil {
			return err
		}
		_, err := w.Write(pix)
		return err
	})
}

// decodeFolder decodes, crops and resizes every file with a pool of
// goroutines, keeping the order of files and dropping those that fail; kept
// are the indices of the files that decoded.
func decodeFolder(files []folderFile, opt Options) (pix []byte, kept []int, skipped int, err error) {
	s := opt.Size
	img := 3 * s * s
	out := make([]byte, len(files)*img)
	ok := make([]bool, len(files))
	small := make([]bool, len(files)) // cropped to less than s×s: upscaled
	errs := make([]error, len(files))
	crop := squareCrop
	if opt.Crop == CropCelebA {
		crop = celebACrop
	}
	opt.Log("data: decoding %d images of %s to %d×%d (once; later runs read the cache)", len(files), opt.Path, s, s)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := image.NewRGBA(image.Rect(0, 0, s, s))
			for i := range jobs {
				var side int
				if side, errs[i] = decodeInto(files[i].path, dst, crop); errs[i] == nil {
					toCHW(out[i*img:(i+1)*img], dst)
					ok[i], small[i] = true, side < s
				}
			}
		}()
	}
	for i := range files {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for i := range files {
		if !ok[i] {
			if skipped < 5 {
				opt.Log("data: skipping %v", errs[i])
			}
			skipped++
			continue
		}
		copy(out[len(kept)*img:], out[i*img:(i+1)*img])
		kept = append(kept, i)
	}
	if skipped > 5 {
		opt.Log("data: skipped %d images in all that failed to decode", skipped)
	}
	if n := count(small); n > 0 {
		opt.Log("data: %d of %d images are smaller than %d×%d and are upscaled to it (blurred): a smaller --size suits them", n, len(kept), s, s)
	}
	if len(kept) == 0 {
		return nil, nil, skipped, fmt.Errorf("data: none of the %d images in %s decodes (first: %v)", len(files), opt.Path, errs[0])
	}
	return out[:len(kept)*img], kept, skipped, nil
}

// count is how many of v are true.
func count(v []bool) int {
	n := 0
	for _, b := range v {
		if b {
			n++
		}
	}
	return n
}

// decodeInto decodes one image file, crops it and resizes it into dst,
// and says the side of the crop.
func decodeInto(path string, dst *image.RGBA, crop func(image.Rectangle) image.Rectangle) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return decodeFrom(f, path, dst, crop)
}

// decodeFrom is decodeInto on an open file (or any ReadSeeker); path
// names it in errors. The size is checked before the pixels are decoded.
func decodeFrom(f io.ReadSeeker, path string, dst *image.RGBA, crop func(image.Rectangle) image.Rectangle) (int, error) {
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", path, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return 0, fmt.Errorf("%s: %d×%d pixels is outside what gan-vk decodes (1 to %d pixels)", path, cfg.Width, cfg.Height, maxPixels)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	src, _, err := image.Decode(f)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", path, err)
	}
	r := crop(src.Bounds())
	draw.Draw(dst, dst.Rect, image.NewUniform(color.Black), image.Point{}, draw.Src)
	draw.CatmullRom.Scale(dst, dst.Rect, src, r, draw.Over, nil)
	return r.Dx(), nil
}

// toCHW copies an RGBA image's colour planes into out, channel by channel.
func toCHW(out []byte, m *image.RGBA) {
	s := m.Rect.Dx()
	for y := 0; y < s; y++ {
		for x := 0; x < s; x++ {
			p := m.Pix[y*m.Stride+4*x:]
			for c := 0; c < 3; c++ {
				out[(c*s+y)*s+x] = p[c]
			}
		}
	}
}

// RawImage reads image i's bytes, CHW, into dst (ImageBytes of them).
func (d *Dataset) RawImage(i int, dst []byte) error {
	if len(dst) != d.ImageBytes() {
		return fmt.Errorf("data: an image is %d bytes, not %d", d.ImageBytes(), len(dst))
	}
	if _, err := d.src.ReadAt(dst, int64(i)*int64(len(dst))); err != nil {
		return fmt.Errorf("data: reading image %d of %s: %w", i, d.Source, err)
	}
	return nil
}

// Image reads image i as floats in [-1, 1], CHW, into dst (ImageBytes
// floats).
func (d *Dataset) Image(i int, dst []float32) error {
	raw := make([]byte, d.ImageBytes())
	if len(dst) != len(raw) {
		return fmt.Errorf("data: an image is %d floats, not %d", len(raw), len(dst))
	}
	if err := d.RawImage(i, raw); err != nil {
		return err
	}
	for j, v := range raw {
		dst[j] = float32(v)/127.5 - 1
	}
	return nil
}

// Loader serves the batches of a dataset: each epoch visits every image
// once in an order drawn from the seed and the epoch, and drops the last
// partial batch. A batch depends only on its step, which makes resuming
// exact.
type Loader struct {
	ds        *Dataset
	batch     int
	seed      uint64
	mu        sync.Mutex
	perm      []int
	permEpoch int
	raw       []byte
}

// NewLoader serves batches of batch images.
func NewLoader(ds *Dataset, batch int, seed uint64) (*Loader, error) {
	if ds.N < batch {
		return nil, fmt.Errorf("data: %s has %d images, fewer than one batch of %d; use a smaller --batch", ds.Source, ds.N, batch)
	}
	return &Loader{ds: ds, batch: batch, seed: seed, permEpoch: -1, raw: make([]byte, ds.ImageBytes())}, nil
}

// BatchSize is how many images a batch holds.
func (l *Loader) BatchSize() int { return l.batch }

// StepsPerEpoch is the number of whole batches in the dataset.
func (l *Loader) StepsPerEpoch() int { return l.ds.N / l.batch }

// Batch fills dst with the real batch of step (counting from 0), as
// floats in [-1, 1], NCHW.
func (l *Loader) Batch(step int, dst []float32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	pos := l.position(step)
	size := l.ds.ImageBytes()
	if len(dst) != l.batch*size {
		return fmt.Errorf("data: a batch is %d floats, not %d", l.batch*size, len(dst))
	}
	for b := 0; b < l.batch; b++ {
		i := l.perm[pos*l.batch+b]
		if _, err := l.ds.src.ReadAt(l.raw, int64(i)*int64(size)); err != nil {
			return fmt.Errorf("data: reading image %d of %s: %w", i, l.ds.Source, err)
		}
		out := dst[b*size : (b+1)*size]
		for j, v := range l.raw {
			out[j] = float32(v)/127.5 - 1
		}
	}
	return nil
}

// position is where step's batch starts in its epoch's permutation of
// the data set, which it draws when the epoch is new (l.mu held).
func (l *Loader) position(step int) int {
	epoch, pos := step/l.StepsPerEpoch(), step%l.StepsPerEpoch()
	if epoch != l.permEpoch {
		r := rand.New(rand.NewSource(int64(l.seed) ^ int64(epoch+1)*0x5DEECE66D))
		l.perm, l.permEpoch = r.Perm(l.ds.N), epoch
	}
	return pos
}

// BatchLabels fills dst with the classes of the images Batch(step) holds,
// in the same order: a conditional run's labels.
func (l *Loader) BatchLabels(step int, dst []uint32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ds.Labels == nil {
		return fmt.Errorf("data: %s has no labels", l.ds.Source)
	}
	if len(dst) != l.batch {
		return fmt.Errorf("data: a batch has %d labels, not %d", l.batch, len(dst))
	}
	pos := l.position(step)
	for b := range dst {
		dst[b] = uint32(l.ds.Labels[l.perm[pos*l.batch+b]])
	}
	return nil
}

// Probe says, without decoding anything, how many channels the data at
// path has (1 for IDX files, 3 for image folders) and the preset that suits
// it (dcgan28 for IDX, dcgan64 for folders).
func Probe(path string) (channels int, preset string, err error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && path == Default {
			return 0, "", fmt.Errorf("the default data set %s is missing; install it (apt-get install dataset-fashion-mnist) or pass --data", Default)
		}
		return 0, "", fmt.Errorf("data: %w", err)
	}
	if !st.IsDir() {
		if !st.Mode().IsRegular() {
			return 0, "", fmt.Errorf("data: %s is neither a file nor a directory", path)
		}
		return 1, "dcgan28", nil
	}
	if _, ok := idxInDir(path); ok {
		return 1, "dcgan28", nil
	}
	return 3, "dcgan64", nil
}
