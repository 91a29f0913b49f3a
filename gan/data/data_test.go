package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gan-vk/gan-vk/internal/gantest"
)

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func TestIDX(t *testing.T) {
	dir := t.TempDir()
	good := gantest.IDX(3, 28, 28)
	labels := append([]byte{0, 0, 8, 1, 0, 0, 0, 3}, 1, 2, 3)
	random := gantest.IDX(3, 28, 28)
	for i := 16; i < len(random); i++ {
		random[i] = byte(i * i * 2654435761 >> 13)
	}
	noisy := gz(random)
	for _, c := range []struct {
		name string
		data []byte
		err  string // "" when it must load
	}{
		{"raw", good, ""},
		{"gzip", gz(good), ""},
		{"wrong magic", append([]byte{0, 0, 9, 3}, good[4:]...), "not an IDX file of unsigned bytes"},
		{"labels file", labels, "is it a labels file"},
		{"truncated pixels", good[:len(good)-5], "truncated"},
		{"truncated header", good[:9], "truncated"},
		{"truncated gzip header", gz(good)[:30], "truncated"},
		{"truncated gzip", noisy[:len(noisy)/2], "compressed stream ends early"},
		{"extra bytes", append(append([]byte{}, good...), 0), "more bytes than the header"},
		{"zero images", gantest.IDX(0, 28, 28), "implausible dimensions"},
		{"huge count", append(append([]byte{0, 0, 8, 3}, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 28, 0, 0, 0, 28), good[16:]...), "implausible dimensions"},
		{"empty", nil, "truncated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := gantest.WriteFile(t, filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")), c.data)
			ds, err := Open(Options{Path: p, Size: 28})
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer ds.Close()
				if ds.N != 3 || ds.C != 1 || ds.S != 28 {
					t.Fatalf("got %d images of %d×%d×%d, want 3 of 1×28×28", ds.N, ds.C, ds.S, ds.S)
				}
				img := make([]byte, 28*28)
				ds.src.ReadAt(img, 2*28*28)
				if !bytes.Equal(img, good[16+2*28*28:]) {
					t.Errorf("image 2 differs from the file's")
				}
				return
			}
			if err == nil {
				ds.Close()
				t.Fatalf("loaded; want an error containing %q", c.err)
			}
			if !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not say %q and name the file", err, c.err)
			}
		})
	}
}

// TestIDXResized reads 28×28 images at dcgan64's size.
func TestIDXResized(t *testing.T) {
	p := gantest.WriteFile(t, filepath.Join(t.TempDir(), "train-images-idx3-ubyte"), gantest.IDX(2, 28, 28))
	ds, err := Open(Options{Path: filepath.Dir(p), Size: 64})
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 2 || ds.C != 1 || ds.S != 64 {
		t.Fatalf("got %d images of %d×%d×%d, want 2 of 1×64×64", ds.N, ds.C, ds.S, ds.S)
	}
}

func TestDefaultData(t *testing.T) {
	ds, err := Open(Options{Path: Default, Size: 28})
	if err != nil {
		t.Fatalf("%v (./build.sh installs dataset-fashion-mnist)", err)
	}
	if ds.N != 60000 || ds.C != 1 {
		t.Errorf("Fashion-MNIST: %d images of %d channels, want 60000 of 1", ds.N, ds.C)
	}
	if c, preset, err := Probe(Default); err != nil || c != 1 || preset != "dcgan28" {
		t.Errorf("Probe: %d, %q, %v; want 1, dcgan28", c, preset, err)
	}
}

// hugePNG is a valid PNG header claiming w×h pixels, with no pixel data.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func encode(t *testing.T, m image.Image, jpg bool) []byte {
	var b bytes.Buffer
	var err error
	if jpg {
		err = jpeg.Encode(&b, m, nil)
	} else {
		err = png.Encode(&b, m)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestImageFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "faces")
	// A red 40×30 JPEG: a square crop and a resize must keep it red.
	red := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range red.Pix {
		if i%4 == 0 || i%4 == 3 {
			red.Pix[i] = 255
		}
	}
	gantest.WriteFile(t, filepath.Join(dir, "a.jpg"), encode(t, red, true))
	gray16 := image.NewGray16(image.Rect(0, 0, 20, 20))
	for i := range gray16.Pix {
		gray16.Pix[i] = 0xff
	}
	gantest.WriteFile(t, filepath.Join(dir, "sub", "b.PNG"), encode(t, gray16, false))
	alpha := image.NewNRGBA(image.Rect(0, 0, 8, 8)) // fully transparent: black
	gantest.WriteFile(t, filepath.Join(dir, "sub", "c.png"), encode(t, alpha, false))
	grayJPEG := image.NewGray(image.Rect(0, 0, 1, 1))
	grayJPEG.SetGray(0, 0, color.Gray{128})
	gantest.WriteFile(t, filepath.Join(dir, "d.jpeg"), encode(t, grayJPEG, true))
	gantest.WriteFile(t, filepath.Join(dir, "broken.jpg"), []byte("not a jpeg"))
	gantest.WriteFile(t, filepath.Join(dir, "huge.png"), hugePNG(30000, 30000))
	gantest.WriteFile(t, filepath.Join(dir, "notes.txt"), []byte("ignored"))

	cache := t.TempDir()
	var logs []string
	logf := func(f string, a ...any) { logs = append(logs, strings.TrimSpace(fmt.Sprintf(f, a...))) }
	ds, err := Open(Options{Path: dir, Size: 16, CacheDir: cache, Log: logf})
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 4 || ds.Skipped != 2 || ds.C != 3 || ds.S != 16 || ds.Cache == "" {
		t.Fatalf("got %d images (%d skipped) of %d×%d, cache %q; want 4 (2 skipped) of 3×16, cached", ds.N, ds.Skipped, ds.C, ds.S, ds.Cache)
	}
	joined := strings.Join(logs, "\n")
	for _, want := range []string{"broken.jpg", "huge.png", "30000×30000", "2 of 4 images are smaller than 16×16 and are upscaled"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the log does not name %q:\n%s", want, joined)
		}
	}
	img := make([]byte, 3*16*16)
	ds.src.ReadAt(img, 0) // a.jpg: red
	if img[8*16+8] < 200 || img[256+8*16+8] > 50 || img[512+8*16+8] > 50 {
		t.Errorf("a.jpg's centre is (%d, %d, %d), want red", img[8*16+8], img[256+8*16+8], img[512+8*16+8])
	}
	ds.Close()

	logs = nil
	again, err := Open(Options{Path: dir, Size: 16, CacheDir: cache, Log: logf})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.N != 4 || !strings.Contains(strings.Join(logs, "\n"), "from the cache") {
		t.Errorf("the second open did not read the cache: %d images, log %q", again.N, logs)
	}
	cached := make([]byte, len(img))
	again.src.ReadAt(cached, 0)
	if !bytes.Equal(cached, img) {
		t.Errorf("the cache holds other bytes than the decode")
	}

	// One image file is a folder of one: decoded, cropped and resized alike.
	one, err := Open(Options{Path: filepath.Join(dir, "a.jpg"), Size: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	single := make([]byte, len(img))
	if err := one.RawImage(0, single); err != nil || one.N != 1 || !bytes.Equal(single, img) {
		t.Errorf("a.jpg alone: %d images, %v; want the folder's first image", one.N, err)
	}
}

func TestImageFolderErrors(t *testing.T) {
	empty := t.TempDir()
	gantest.WriteFile(t, filepath.Join(empty, "readme.txt"), []byte("no images"))
	bad := t.TempDir()
	gantest.WriteFile(t, filepath.Join(bad, "x.png"), []byte("garbage"))
	for _, c := range []struct {
		name, path, err string
	}{
		{"missing", filepath.Join(empty, "nope"), "no such file"},
		{"empty", empty, "holds no .jpg, .jpeg or .png images"},
		{"none decodes", bad, "none of the 1 images"},
		{"one image that does not decode", filepath.Join(bad, "x.png"), "none of the 1 images"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(Options{Path: c.path, Size: 16})
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("error %v, want one containing %q", err, c.err)
			}
		})
	}
}

// TestDataOddFiles: --data at a symlink loop or a FIFO, a folder of empty
// files, a folder with a FIFO, a link loop and a link to an image among its
// images, and a CMYK JPEG. Each is refused with a message or trains, and
// nothing blocks on the FIFO.
func TestDataOddFiles(t *testing.T) {
	dir := t.TempDir()
	loop := filepath.Join(dir, "loop")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	empties := filepath.Join(dir, "empties")
	for _, n := range []string{"a.png", "b.jpg", "c.jpeg"} {
		gantest.WriteFile(t, filepath.Join(empties, n), nil)
	}
	mixed := filepath.Join(dir, "mixed")
	cmyk := image.NewCMYK(image.Rect(0, 0, 12, 9))
	for i := range cmyk.Pix {
		cmyk.Pix[i] = byte(i * 37)
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, cmyk, nil); err != nil {
		t.Fatal(err)
	}
	gantest.WriteFile(t, filepath.Join(mixed, "cmyk.jpg"), jb.Bytes())
	outside := gantest.WriteFile(t, filepath.Join(dir, "elsewhere", "linked.png"), encode(t, image.NewGray(image.Rect(0, 0, 5, 5)), false))
	for _, l := range []struct{ name, to string }{{"linked.png", outside}, {"loop.png", filepath.Join(mixed, "loop.png")}} {
		if err := os.Symlink(l.to, filepath.Join(mixed, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(mixed, "pipe.png"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, path, err string
	}{
		{"a symlink loop", loop, "too many levels of symbolic links"},
		{"a FIFO", fifo, "is neither a file nor a directory"},
		{"a folder of empty files", empties, "none of the 3 images"},
	} {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, _, perr := Probe(c.path)
				_, err := Open(Options{Path: c.path, Size: 16})
				done <- errors.Join(perr, err)
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("error %v, want one containing %q", err, c.err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("still reading after 30 s")
			}
		})
	}
	t.Run("a CMYK JPEG, a linked PNG, a link loop and a FIFO", func(t *testing.T) {
		ds, err := Open(Options{Path: mixed, Size: 16})
		if err != nil {
			t.Fatal(err)
		}
		defer ds.Close()
		if ds.N != 2 || ds.Skipped != 0 {
			t.Errorf("%d images, %d skipped; want the CMYK JPEG and the linked PNG, the loop and the FIFO passed over", ds.N, ds.Skipped)
		}
	})
}

func TestLoader(t *testing.T) {
	p := gantest.WriteFile(t, filepath.Join(t.TempDir(), "x.idx"), gantest.IDX(10, 2, 2))
	ds, err := Open(Options{Path: p, Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewLoader(ds, 11, 1); err == nil || !strings.Contains(err.Error(), "fewer than one batch") {
		t.Errorf("a batch larger than the data: %v", err)
	}
	l, err := NewLoader(ds, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if l.StepsPerEpoch() != 3 {
		t.Fatalf("%d steps per epoch, want 3 (the partial batch dropped)", l.StepsPerEpoch())
	}
	seen := map[float32]int{}
	b := make([]float32, 3*4)
	for step := 0; step < 3; step++ {
		if err := l.Batch(step, b); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			first := b[4*i] // pixel 0 of image k is byte k: which image this is
			seen[first]++
			for _, v := range b[4*i : 4*i+4] {
				if v < -1 || v > 1 {
					t.Fatalf("value %g outside [-1, 1]", v)
				}
			}
		}
	}
	if len(seen) != 9 {
		t.Errorf("an epoch served %d distinct images, want 9 of the 10", len(seen))
	}
	again := make([]float32, len(b))
	l2, _ := NewLoader(ds, 3, 1)
	l2.Batch(2, again)
	l.Batch(2, b)
	if !slices.Equal(again, b) {
		t.Errorf("step 2's batch depends on more than its step")
	}
	l.Batch(3, again)
	if slices.Equal(again, b) {
		t.Errorf("epoch 2 starts with epoch 1's last batch order")
	}
}

// Options.Channels converts colour to grey as luma and grey to colour by
// repeating it, and says so; the loader serves the converted images.
func TestChannels(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "colour")
	m := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = 200, 100, 50, 255
	}
	gantest.WriteFile(t, filepath.Join(dir, "a.png"), encode(t, m, false))
	ds, err := Open(Options{Path: dir, Size: 4, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, ds.ImageBytes())
	if err := ds.RawImage(0, raw); err != nil {
		t.Fatal(err)
	}
	want := byte((299*200 + 587*100 + 114*50 + 500) / 1000)
	if ds.C != 1 || len(raw) != 16 || raw[5] != want || !strings.Contains(ds.Converted, "grey") {
		t.Errorf("grey: %d channels, pixel %d (want %d), %q", ds.C, raw[5], want, ds.Converted)
	}
	idx := gantest.WriteFile(t, filepath.Join(t.TempDir(), "g.idx"), gantest.IDX(2, 4, 4))
	ds, err = Open(Options{Path: idx, Size: 4, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	raw = make([]byte, ds.ImageBytes())
	if err := ds.RawImage(1, raw); err != nil {
		t.Fatal(err)
	}
	if ds.C != 3 || raw[3] != raw[16+3] || raw[3] != raw[32+3] || raw[3] != byte(1+19%7) { // gantest.IDX: image 1, pixel 3 is flat index 19
		t.Errorf("colour from grey: %d channels, pixel 3 %d %d %d", ds.C, raw[3], raw[19], raw[35])
	}
	if _, err := Open(Options{Path: idx, Size: 4, Channels: 2}); err == nil {
		t.Error("2 channels: no error")
	}
}

// Options.Labels reads the labels file beside an IDX images file, and
// refuses one that is not a labels file.
func TestLabels(t *testing.T) {
	dir := t.TempDir()
	path := gantest.LabelledIDX(t, dir, 50, 1, 1, 3)
	ds, err := Open(Options{Path: dir, Size: 28, Labels: true})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Classes != 4 || len(ds.Labels) != 50 || ds.Source != path {
		t.Errorf("%d classes, %d labels, from %s", ds.Classes, len(ds.Labels), ds.Source)
	}
	if ds, _ := Open(Options{Path: dir, Size: 28}); ds.Labels != nil {
		t.Error("labels read without Options.Labels")
	}
	gantest.WriteFile(t, filepath.Join(dir, "train-labels-idx1-ubyte"), gantest.IDX(50, 1, 1))
	if _, err := Open(Options{Path: dir, Size: 28, Labels: true}); err == nil || !strings.Contains(err.Error(), "not an IDX labels file") {
		t.Errorf("an images file as labels: %v", err)
	}
}

// A folder of one subfolder per class is labelled by them, through the
// cache too, with the images that fail to decode left out of both.
func TestFolderLabels(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "classes")
	shade := func(v uint8) []byte {
		m := image.NewGray(image.Rect(0, 0, 4, 4))
		for i := range m.Pix {
			m.Pix[i] = v
		}
		return encode(t, m, false)
	}
	gantest.WriteFile(t, filepath.Join(dir, "bag", "1.png"), shade(10))
	gantest.WriteFile(t, filepath.Join(dir, "bag", "broken.png"), []byte("no"))
	gantest.WriteFile(t, filepath.Join(dir, "coat", "deep", "2.png"), shade(200))
	gantest.WriteFile(t, filepath.Join(dir, "coat", "3.png"), shade(210))
	cache := t.TempDir()
	for round := range 2 {
		ds, err := Open(Options{Path: dir, Size: 4, CacheDir: cache, Labels: true})
		if err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, ds.ImageBytes())
		var got []string
		for i := range ds.N {
			ds.RawImage(i, raw)
			got = append(got, fmt.Sprintf("%d:%d", raw[0], ds.Labels[i]))
		}
		if ds.Classes != 2 || strings.Join(got, " ") != "10:0 210:1 200:1" {
			t.Errorf("round %d: %d classes, images:labels %v", round, ds.Classes, got)
		}
		ds.Close()
	}
	gantest.WriteFile(t, filepath.Join(dir, "loose.png"), shade(50))
	ds, err := Open(Options{Path: dir, Size: 4, Labels: true})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Classes != 0 || ds.Labels != nil {
		t.Errorf("an image beside the class folders: %d classes", ds.Classes)
	}
}

// A batch's labels are its images' classes, in the batch's order, across
// an epoch's new permutation too: each class of LabelledIDX brightens its
// own quadrant, which the batch's images show.
func TestBatchLabels(t *testing.T) {
	dir := t.TempDir()
	gantest.LabelledIDX(t, dir, 20, 2)
	ds, err := Open(Options{Path: dir, Size: 28, Labels: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(ds, 6, 5)
	if err != nil {
		t.Fatal(err)
	}
	images, labels := make([]float32, 6*ds.ImageBytes()), make([]uint32, 6)
	for step := range 7 { // three steps an epoch
		if err := l.Batch(step, images); err != nil {
			t.Fatal(err)
		}
		if err := l.BatchLabels(step, labels); err != nil {
			t.Fatal(err)
		}
		for b, c := range labels {
			var quad [4]float64
			for i, v := range images[b*784 : (b+1)*784] {
				y, x := i/28, i%28
				quad[2*(y/14)+x/14] += float64(v)
			}
			bright := 0
			for q := range quad {
				if quad[q] > quad[bright] {
					bright = q
				}
			}
			if bright != int(c) {
				t.Errorf("step %d image %d: labelled %d, its bright quadrant is %d", step, b, c, bright)
			}
		}
	}
	plain, _ := Open(Options{Path: dir, Size: 28})
	pl, _ := NewLoader(plain, 6, 5)
	if err := pl.BatchLabels(0, labels); err == nil {
		t.Error("labels from unlabelled data: no error")
	}
}

// Classes names a labelled data set's classes without decoding it: a
// folder's subfolders in order, Fashion-MNIST's names where the path says
// Fashion-MNIST, else numbers; unlabelled data is an error saying how to
// label it.
func TestClasses(t *testing.T) {
	root := t.TempDir()
	folder := filepath.Join(root, "shapes")
	for _, f := range []string{"squares/a.png", "circles/b.png", "circles/deep/c.png"} {
		gantest.WriteFile(t, filepath.Join(folder, f), []byte("not decoded"))
	}
	fashion := filepath.Join(root, "fashion-mnist")
	gantest.LabelledIDX(t, fashion, 40, 1, 0, 9) // labels 0 and 9: ten classes
	digits := filepath.Join(root, "digits")
	gantest.LabelledIDX(t, digits, 20, 1, 0, 2)
	unlabelled := gantest.WriteFile(t, filepath.Join(root, "plain", "train-images-idx3-ubyte"), gantest.IDX(4, 28, 28))
	for _, c := range []struct {
		path, want string
	}{
		{folder, "circles squares"},
		{fashion, strings.Join(FashionMNIST, " ")},
		{filepath.Join(digits, "train-images-idx3-ubyte"), "0 1 2"},
	} {
		got, err := Classes(c.path)
		if err != nil || strings.Join(got, " ") != c.want {
			t.Errorf("Classes(%s) = %q, %v; want %q", c.path, got, err, c.want)
		}
	}
	gantest.WriteFile(t, filepath.Join(folder, "loose.png"), []byte("beside the classes"))
	for path, want := range map[string]string{
		folder:                      "one subfolder per class",
		unlabelled:                  "needs its labels file beside it",
		filepath.Join(root, "none"): "no such file",
	} {
		if _, err := Classes(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Classes(%s): %v, want %q", path, err, want)
		}
	}
}
