#!/usr/bin/python3
"""PyTorch CPU beside gan-vk, op by op: the convolution and dense passes of
both DCGAN presets at batch 64, with the names and FLOP counts of
layers/bench_test.go (2 x the multiply-adds of the dense definition).

    go test -run - -bench Conv -benchtime 2x ./layers/ | /usr/bin/python3 bench/torch_ops.py

reads gan-vk's benchmark lines on stdin, times the same passes in PyTorch
(Debian's python3-torch; 2 threads unless --threads), and prints both with
the ratio PyTorch time / gan-vk time (1.0 is as fast as PyTorch). Without
stdin (or with --torch-only) it prints PyTorch alone. Install
libopenblas0-pthread beside python3-torch: without it Debian's torch falls
back to the reference BLAS, and its dense layers run 10-30x slower.

PyTorch 1.13's CPU transposed convolution can take a slow path, so each
transposed-conv pass is also timed as the equivalent regular-convolution
gradient call (oneDNN), and the faster of the two is the baseline.
"""
import argparse
import re
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch.nn.grad import conv2d_input, conv2d_weight


def ops(n):
    g = lambda c, h, k: (n, c, h, h, k, 5, 2, 2, 1)
    return [
        ("dcgan64/G/dense_100-16384", False, (n, 100, 1, 1, 16384, 1, 1, 0, 0)),
        ("dcgan64/G/convT_1024-512_4", True, g(1024, 4, 512)),
        ("dcgan64/G/convT_512-256_8", True, g(512, 8, 256)),
        ("dcgan64/G/convT_256-128_16", True, g(256, 16, 128)),
        ("dcgan64/G/convT_128-3_32", True, g(128, 32, 3)),
        ("dcgan64/D/conv_3-64_64", False, g(3, 64, 64)),
        ("dcgan64/D/conv_64-128_32", False, g(64, 32, 128)),
        ("dcgan64/D/conv_128-256_16", False, g(128, 16, 256)),
        ("dcgan64/D/conv_256-512_8", False, g(256, 8, 512)),
        ("dcgan64/D/dense_8192-1", False, (n, 8192, 1, 1, 1, 1, 1, 0, 0)),
        ("dcgan28/G/dense_100-12544", False, (n, 100, 1, 1, 12544, 1, 1, 0, 0)),
        ("dcgan28/G/convT_256-128_7s1", True, (n, 256, 7, 7, 128, 5, 1, 2, 0)),
        ("dcgan28/G/convT_128-64_7", True, g(128, 7, 64)),
        ("dcgan28/G/convT_64-1_14", True, g(64, 14, 1)),
        ("dcgan28/D/conv_1-64_28", False, g(1, 28, 64)),
        ("dcgan28/D/conv_64-128_14", False, g(64, 14, 128)),
        ("dcgan28/D/dense_6272-1", False, (n, 6272, 1, 1, 1, 1, 1, 0, 0)),
    ]


def timed(f, reps):
    f()
    f()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def passes(transposed, n, c, h, w, k, kh, s, p, op):
    """The three passes as (name, [callables]) over random tensors."""
    x = torch.randn(n, c, h, w)
    if transposed:
        wt = torch.randn(c, k, kh, kh)
        y = F.conv_transpose2d(x, wt, stride=s, padding=p, output_padding=op)
        dy = torch.randn_like(y)
        return [
            ("fwd", [lambda: F.conv_transpose2d(x, wt, stride=s, padding=p, output_padding=op),
                     lambda: conv2d_input(y.shape, wt, x, stride=s, padding=p)]),
            ("data", [lambda: F.conv2d(dy, wt, stride=s, padding=p)]),
            ("filter", [lambda: conv2d_weight(dy, wt.shape, x, stride=s, padding=p)]),
        ]
    wt = torch.randn(k, c, kh, kh)
    y = F.conv2d(x, wt, stride=s, padding=p)
    dy = torch.randn_like(y)
    return [
        ("fwd", [lambda: F.conv2d(x, wt, stride=s, padding=p)]),
        ("data", [lambda: conv2d_input(x.shape, wt, dy, stride=s, padding=p)]),
        ("filter", [lambda: conv2d_weight(x, wt.shape, dy, stride=s, padding=p)]),
    ]


def macs(transposed, n, c, h, w, k, kh, s, p, op):
    if transposed:
        return n * c * h * w * k * kh * kh
    oh = (h + 2 * p - kh) // s + 1
    ow = (w + 2 * p - kh) // s + 1
    return n * k * oh * ow * c * kh * kh


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--torch-only", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)

    ours = {}
    if not a.torch_only and not sys.stdin.isatty():
        for line in sys.stdin:
            m = re.match(r"BenchmarkConv/(\S+)/(fwd|data|filter)-\d+\s+\d+\s+\d+ ns/op\s+([\d.]+) GFLOP/s\s+([\d.]+) device-ms/op", line)
            if m:
                ours[(m.group(1), m.group(2))] = (float(m.group(3)), float(m.group(4)))

    print("PyTorch %s, %d threads, batch %d; CPU: %s" % (torch.__version__, a.threads, a.batch, cpu()))
    print("%-30s %-6s %10s %8s %10s %8s %6s" % ("op", "pass", "torch ms", "GFLOP/s", "gan-vk ms", "GFLOP/s", "ratio"))
    tot = {"torch": 0.0, "ours": 0.0}
    for name, transposed, g in ops(a.batch):
        flops = 2 * macs(transposed, *g)
        for pname, fs in passes(transposed, *g):
            t = min(timed(f, a.reps) for f in fs)
            row = "%-30s %-6s %10.2f %8.1f" % (name, pname, t * 1e3, flops / t / 1e9)
            if (name, pname) in ours:
                gf, ms = ours[(name, pname)]
                row += " %10.2f %8.1f %6.2f" % (ms, gf, t * 1e3 / ms)
                tot["torch"] += t * 1e3
                tot["ours"] += ms
            print(row, flush=True)
    if tot["ours"]:
        print("%-37s %10.1f %8s %10.1f %8s %6.2f" % ("all passes above", tot["torch"], "", tot["ours"], "", tot["torch"] / tot["ours"]))


def cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
