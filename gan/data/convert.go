package data

import (
	"fmt"
	"io"
)

// convert makes the data set serve its images with c channels: colour to
// grey as luma (ITU-R 601, as PIL's "L" mode), grey to colour by repeating
// it.
func (d *Dataset) convert(c int) {
	from := d.C
	d.src = &channelReader{src: d.src, from: from, to: c, plane: d.S * d.S}
	d.C = c
	if c == 1 {
		d.Converted = fmt.Sprintf("converted from %d channels to grey (luma)", from)
	} else {
		d.Converted = "converted from grey to 3 channels"
	}
}

// channelReader reads whole images of to channels from images of from
// channels.
type channelReader struct {
	src      io.ReaderAt
	from, to int
	plane    int // pixels per channel
}

func (r *channelReader) ReadAt(p []byte, off int64) (int, error) {
	in, out := int64(r.from*r.plane), int64(r.to*r.plane)
	if off%out != 0 || int64(len(p))%out != 0 {
		return 0, fmt.Errorf("data: a read of %d bytes at %d is not of whole images", len(p), off)
	}
	raw := make([]byte, int64(len(p))/out*in)
	n, err := r.src.ReadAt(raw, off/out*in)
	if int64(n) < int64(len(raw)) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	for img := 0; img < len(p)/int(out); img++ {
		src, dst := raw[img*int(in):], p[img*int(out):]
		for i := range r.plane {
			if r.to == 1 {
				v := (299*int(src[i]) + 587*int(src[r.plane+i]) + 114*int(src[2*r.plane+i]) + 500) / 1000
				dst[i] = byte(v)
			} else {
				dst[i], dst[r.plane+i], dst[2*r.plane+i] = src[i], src[i], src[i]
			}
		}
	}
	return len(p), nil
}
