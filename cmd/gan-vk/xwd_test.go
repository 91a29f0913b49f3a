package main

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"io"
)

// decodeXWD reads what `xwd` writes for a 24- or 32-bit TrueColor screen
// (XWD version 7): a header of big-endian 32-bit fields, the window name,
// the colour map, then the pixels.
func decodeXWD(r io.Reader) (*image.RGBA, error) {
	var h [25]uint32
	if err := binary.Read(r, binary.BigEndian, &h); err != nil {
		return nil, err
	}
	headerSize, version := h[0], h[1]
	width, height := int(h[4]), int(h[5])
	byteOrder, bpp, bytesPerLine := h[7], h[11], int(h[12])
	redMask, greenMask, blueMask := h[14], h[15], h[16]
	ncolors := h[19]
	// Pixels take bits_per_pixel/8 bytes (Xvfb at depth 24: 3), rows
	// bytes_per_line.
	px := int(bpp) / 8
	if version != 7 || (px != 3 && px != 4) || width <= 0 || height <= 0 || bytesPerLine < px*width {
		return nil, fmt.Errorf("xwd: version %d, %d bits per pixel, %d bytes a line for %d×%d: want version 7, true colour", version, bpp, bytesPerLine, width, height)
	}
	if _, err := io.CopyN(io.Discard, r, int64(headerSize)-100+int64(ncolors)*12); err != nil {
		return nil, err
	}
	row := make([]byte, bytesPerLine)
	m := image.NewRGBA(image.Rect(0, 0, width, height))
	shift := func(mask uint32) uint {
		s := uint(0)
		for mask != 0 && mask&1 == 0 {
			mask >>= 1
			s++
		}
		return s
	}
	rs, gs, bs := shift(redMask), shift(greenMask), shift(blueMask)
	for y := 0; y < height; y++ {
		if _, err := io.ReadFull(r, row); err != nil {
			return nil, err
		}
		for x := 0; x < width; x++ {
			var v uint32
			for i := 0; i < px; i++ {
				b := uint32(row[px*x+i])
				if byteOrder == 0 { // LSBFirst
					v |= b << (8 * i)
				} else {
					v = v<<8 | b
				}
			}
			m.SetRGBA(x, y, color.RGBA{uint8(v & redMask >> rs), uint8(v & greenMask >> gs), uint8(v & blueMask >> bs), 0xff})
		}
	}
	return m, nil
}
