package data

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// The loader must keep up with the trainer: these report images/s of
// serving batches (which runs beside each step) and of decoding an image
// folder (once, into the cache).
//
//	go test -run - -bench Loader ./gan/

func benchLoader(b *testing.B, ds *Dataset) {
	l, err := NewLoader(ds, 64, 1)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float32, 64*ds.ImageBytes())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := l.Batch(i, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "images/s")
}

func BenchmarkLoaderFashionMNIST(b *testing.B) {
	ds, err := Open(Options{Path: Default, Size: 28})
	if err != nil {
		b.Fatal(err)
	}
	benchLoader(b, ds)
}

// celebaLike writes n 178×218 JPEGs, CelebA's size.
func celebaLike(b *testing.B, n int) string {
	dir := b.TempDir()
	m := image.NewRGBA(image.Rect(0, 0, 178, 218))
	for p := range m.Pix {
		m.Pix[p] = byte(p * 13 >> 3)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%06d.jpg", i)), buf.Bytes(), 0o644)
	}
	return dir
}

func BenchmarkLoaderImageFolderCache(b *testing.B) {
	dir := celebaLike(b, 256)
	cache := b.TempDir()
	ds, err := Open(Options{Path: dir, Size: 64, Crop: CropCelebA, CacheDir: cache})
	if err != nil {
		b.Fatal(err)
	}
	ds.Close()
	if ds, err = Open(Options{Path: dir, Size: 64, Crop: CropCelebA, CacheDir: cache}); err != nil {
		b.Fatal(err)
	}
	defer ds.Close()
	if ds.Cache == "" {
		b.Fatal("not read from the cache")
	}
	benchLoader(b, ds)
}

func BenchmarkDecodeImageFolder(b *testing.B) {
	const n = 256
	dir := celebaLike(b, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Open(Options{Path: dir, Size: 64, Crop: CropCelebA}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
}
