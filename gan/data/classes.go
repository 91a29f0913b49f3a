package data

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gan-vk/gan-vk/gan/atomicfile"
)

// folderClasses are an image folder's classes: its subfolders by name,
// and each file's class.
type folderClasses struct {
	names []string // nil: the folder is not one subfolder per class
	of    []int32  // per file
}

// classesOf reads the classes of a folder from where its files lie: every
// file must be inside a subfolder of root (at any depth), and there must be
// at least two of them.
func classesOf(root string, files []folderFile) folderClasses {
	index := map[string]int32{}
	first := make([]string, len(files))
	for i, f := range files {
		rel, err := filepath.Rel(root, f.path)
		dir, _, ok := strings.Cut(filepath.ToSlash(rel), "/")
		if err != nil || !ok {
			return folderClasses{} // an image beside the subfolders
		}
		first[i] = dir
		index[dir] = 0
	}
	if len(index) < 2 {
		return folderClasses{}
	}
	c := folderClasses{of: make([]int32, len(files))}
	for name := range index {
		c.names = append(c.names, name)
	}
	sort.Strings(c.names)
	for i, name := range c.names {
		index[name] = int32(i)
	}
	for i, dir := range first {
		c.of[i] = index[dir]
	}
	return c
}

// The labels beside a folder's cache: labelsMagic, N as a little-endian
// uint32, then N int32 classes.
const labelsMagic = "GANVKL32"

func writeFolderLabels(cache string, labels []int32) error {
	b := make([]byte, len(labelsMagic)+4+4*len(labels))
	copy(b, labelsMagic)
	binary.LittleEndian.PutUint32(b[len(labelsMagic):], uint32(len(labels)))
	for i, l := range labels {
		binary.LittleEndian.PutUint32(b[len(labelsMagic)+4+4*i:], uint32(l))
	}
	return writeFile(cache+".labels", b)
}

// readFolderLabels reads the labels cached beside a folder's images,
// checking them against the images and the classes.
func (d *Dataset) readFolderLabels(cache string, c folderClasses) error {
	b, err := os.ReadFile(cache + ".labels")
	if err != nil {
		return err
	}
	if len(b) != len(labelsMagic)+4+4*d.N || string(b[:len(labelsMagic)]) != labelsMagic ||
		int(binary.LittleEndian.Uint32(b[len(labelsMagic):])) != d.N {
		return fmt.Errorf("data: %s.labels does not hold the labels of the cache's %d images", cache, d.N)
	}
	d.Labels, d.Classes = make([]int32, d.N), len(c.names)
	for i := range d.Labels {
		l := int32(binary.LittleEndian.Uint32(b[len(labelsMagic)+4+4*i:]))
		if l < 0 || int(l) >= d.Classes {
			return fmt.Errorf("data: %s.labels names class %d of %d", cache, l, d.Classes)
		}
		d.Labels[i] = l
	}
	return nil
}

func writeFile(path string, b []byte) error {
	return atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// FashionMNIST are Fashion-MNIST's class names, by label.
var FashionMNIST = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// Classes reads the class names of the labelled data at path without
// decoding an image: an image folder's subfolders, sorted (the labels Open
// gives); an IDX images file's labels file beside it, named by
// Fashion-MNIST's names when the path says it is Fashion-MNIST, else by
// number. Unlabelled data is an error that says how to label it.
func Classes(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	images := path
	if st.IsDir() {
		idx, ok := idxInDir(path)
		if !ok {
			files, err := listImages(path)
			if err != nil {
				return nil, err
			}
			if c := classesOf(path, files); c.names != nil {
				return c.names, nil
			}
			return nil, fmt.Errorf("data: %s is not labelled: a labelled folder holds one subfolder per class (at least two), and every image inside one of them", path)
		}
		images = idx
	}
	path, labels, classes, err := idxLabels(images)
	switch {
	case err != nil:
		return nil, err
	case labels == nil:
		return nil, fmt.Errorf("data: %s is not labelled: an IDX images file needs its labels file beside it (train-labels-idx1-ubyte for train-images-idx3-ubyte)", images)
	case classes < 2:
		return nil, singleClass(path)
	case classes == len(FashionMNIST) && strings.Contains(strings.ToLower(images), "fashion"):
		return slices.Clone(FashionMNIST), nil
	}
	names := make([]string, classes)
	for k := range names {
		names[k] = fmt.Sprint(k)
	}
	return names, nil
}
