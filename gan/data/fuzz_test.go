package data

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/gan-vk/gan-vk/internal/gantest"
)

// The readers of the training data, IDX files and image files, fuzzed.
// Each must refuse what it cannot read with an error, never panic, hang or
// allocate more than the input justifies. The seed corpora are
// testdata/fuzz/<target>/ plus the f.Add seeds below; `go test ./gan/data`
// runs them, and ./build.sh test fuzzes each target for a few seconds:
//
//	go test -run - -fuzz '^FuzzIDX$' -fuzztime 1m ./gan/data

// The targets parse from memory: the readers' path forms only open the
// file, and writing a file per input made the fuzzer wait on the disk.

func FuzzIDX(f *testing.F) {
	f.Add(gantest.IDX(3, 28, 28))
	f.Add(gz(gantest.IDX(2, 5, 7)))
	f.Add(gantest.IDX(1, 1, 1)[:10])
	f.Add([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x10, 0, 0, 0, 0x10, 0}) // 4 G images of 4096²
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		n, rows, cols, pix, err := readIDX(bytes.NewReader(data), "images.idx")
		if err != nil {
			return
		}
		if n < 1 || rows < 1 || cols < 1 || len(pix) != n*rows*cols {
			t.Fatalf("accepted %d images of %d×%d with %d bytes of pixels", n, rows, cols, len(pix))
		}
		if len(pix) > 1<<20 && len(pix) > 1100*len(data) { // gzip's best ratio is about 1000:1
			t.Fatalf("%d bytes of pixels from a %d-byte file", len(pix), len(data))
		}
	})
}

func FuzzImage(f *testing.F) {
	for _, enc := range []func(*bytes.Buffer, image.Image) error{
		func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) },
		func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, nil) },
	} {
		for _, m := range []image.Image{image.NewGray(image.Rect(0, 0, 1, 1)), image.NewRGBA(image.Rect(0, 0, 9, 5)),
			image.NewGray16(image.Rect(0, 0, 4, 6)), image.NewCMYK(image.Rect(0, 0, 3, 3))} {
			var b bytes.Buffer
			if err := enc(&b, m); err != nil {
				f.Fatal(err)
			}
			f.Add(b.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dst := image.NewRGBA(image.Rect(0, 0, 8, 8))
		for _, crop := range []func(image.Rectangle) image.Rectangle{squareCrop, celebACrop} {
			if _, err := decodeFrom(bytes.NewReader(data), "image", dst, crop); err != nil {
				return
			}
		}
		for i := 3; i < len(dst.Pix); i += 4 {
			if dst.Pix[i] != 0xff {
				t.Fatalf("a decoded image is not opaque: alpha %d", dst.Pix[i])
			}
		}
	})
}
