#!/usr/bin/python3
"""Load a gan-vk checkpoint's generator into PyTorch and reproduce gan-vk's samples.

    bin/gan-vk sample --checkpoint RUN --n 16 --seed 1 --grid /tmp/ganvk.png
    /usr/bin/python3 pytorch/sample.py RUN/checkpoints/step_000000937.safetensors \\
        --n 16 --seed 1 --compare /tmp/ganvk.png --out /tmp/torch.png

The generator is a plain nn.Sequential (pytorch/ganvk.py) loaded with
load_state_dict(strict=True); z comes from the same Philox draws. With
--compare it reads gan-vk's grid and reports how many pixels differ (float32
rounding may move a pixel by one level) and exits 1 if any differs by more.
"""

import argparse
import struct
import sys
import zlib

import numpy as np
import torch

import ganvk

PAD = 2  # gan/sample.go's gridPad


def grid(images, cols):
    """images: n×C×S×S floats in [-1, 1] -> H×W×C bytes, laid out as gan.Grid."""
    n, c, s, _ = images.shape
    rows = (n + cols - 1) // cols
    out = np.zeros((rows * (s + PAD) + PAD, cols * (s + PAD) + PAD, c), dtype=np.uint8)
    px = np.clip(np.round((images.astype(np.float64) + 1) * 127.5), 0, 255).astype(np.uint8)
    for i in range(n):
        y, x = PAD + (i // cols) * (s + PAD), PAD + (i % cols) * (s + PAD)
        out[y:y + s, x:x + s] = px[i].transpose(1, 2, 0)
    return out


def write_png(path, img):
    h, w, c = img.shape
    kind = {1: 0, 3: 2}[c]
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, kind, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def read_png(path):
    """Reads an 8-bit, non-interlaced gray, RGB or RGBA PNG as H×W×C bytes."""
    data = open(path, "rb").read()
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        (n,), t = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if t == b"IHDR":
            w, h, depth, kind, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or interlace:
                sys.exit(f"{path}: only 8-bit non-interlaced PNGs are read here")
            c = {0: 1, 2: 3, 6: 4}[kind]
        elif t == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * c
    out = np.zeros((h, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], dtype=np.uint8).astype(np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        for i in range(stride):
            a = cur[i - c] if i >= c else 0
            b = prev[i]
            cc = prev[i - c] if i >= c else 0
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - cc), abs(a - cc), abs(a + b - 2 * cc)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else cc)
            cur[i] = (line[i] + p) & 0xFF
        out[y], prev = cur, cur
    img = out.reshape(h, w, c).astype(np.uint8)
    return img[:, :, :3] if c == 4 else img


def parse_classes(arg, m):
    """gan-vk sample --class: names or numbers; none: every class."""
    if not arg:
        return list(range(m["classes"]))
    names = [n.lower() for n in m.get("class_names", [])]
    out = []
    for part in arg.split(","):
        part = part.strip()
        out.append(names.index(part.lower()) if part.lower() in names else int(part))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cols", type=int, default=8)
    ap.add_argument("--out", help="write PyTorch's grid here")
    ap.add_argument("--compare", help="gan-vk sample's grid of the same --n, --seed and --cols")
    ap.add_argument("--weights", choices=["ema", "raw"], help="the EMA or the trained generator (default: EMA when the checkpoint has it, as gan-vk sample)")
    ap.add_argument("--class", dest="classes", help="a conditional model's classes, as gan-vk sample --class: names or numbers, comma-separated")
    a = ap.parse_args()

    g, cfg, step, _ = ganvk.load_generator(a.checkpoint, a.weights)
    g.eval()
    m = cfg["model"]
    z = ganvk.sample_z(a.n, m["z"], a.seed)
    with torch.no_grad():
        if not m.get("classes"):
            images = g(z).numpy()
        else:
            classes = parse_classes(a.classes, m)
            if len(classes) == 1:  # every image the class, each its own z
                y = torch.full((a.n,), classes[0], dtype=torch.int64)
            else:  # a row per class, a column per z
                z, y = ganvk.class_grid(z, a.cols, classes)
            images = g(z, y).numpy()
    ours = grid(images, a.cols)
    print(f"{a.checkpoint}: step {step}, {cfg['model']['preset']}, {a.n} images of {images.shape[1:]}")
    if a.out:
        write_png(a.out, ours)
        print("wrote", a.out)
    if a.compare:
        theirs = read_png(a.compare)
        if theirs.shape != ours.shape:
            sys.exit(f"{a.compare} is {theirs.shape}, PyTorch's grid {ours.shape}: give the same --n and --cols")
        d = np.abs(theirs.astype(np.int32) - ours.astype(np.int32))
        print(f"pixels differing from gan-vk's: {int((d > 0).sum())} of {d.size}, the largest by {int(d.max())} level(s)")
        if d.max() > 1:
            sys.exit(1)


if __name__ == "__main__":
    main()
