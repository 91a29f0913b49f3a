#!/usr/bin/python3
"""gan-vk's training step in PyTorch, timed the way `gan-vk bench` times it.

    /usr/bin/python3 pytorch/bench.py --preset dcgan28 --batch 64
    python3 pytorch/bench.py --device cuda --preset dcgan64 --batch 256

The models are pytorch/ganvk.py's (the same layers and shapes as
gan/model.go) and the step is gan/trainer.go's, in the same order: z drawn
once per step; D forward and backward on the real batch and then on G(z),
Adam on D; then --g-steps generator updates, each running D (and, after
the first, G) again and taking the BCE of D(G(z)) against 1 back to G, Adam
on G. The first G update reuses the D update's G(z), as gan-vk does (the
same weights and z give the same output; gan-vk also moves batch norm's
running statistics again, which costs little and PyTorch skips). The real
batch is uniform noise already on the device, as in `gan-vk bench`.
Dropout is nn.Dropout (gan-vk's masks are a Philox draw; the cost is the
same).

On the CPU, PyTorch 1.13's ConvTranspose2d backward takes a slow path
(about 5× its forward here). By default the script runs transposed convs
as the convolution they are the adjoint of, through oneDNN's conv kernels
(FastConvTranspose2d below, checked against nn.ConvTranspose2d at start),
so the baseline is PyTorch at its fastest; --plain-convt keeps PyTorch's
own. On CUDA, cuDNN runs ConvTranspose2d directly, and TF32 is off
(--tf32 turns it on) so both sides do fp32 arithmetic.

FLOPs per step are counted as gan/bench.go counts them: 2 × the
multiply-adds of every dense, conv and transposed-conv pass that runs.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

import ganvk

PRESETS = {
    "dcgan28": dict(preset="dcgan28", channels=1, z=100, gf=64, df=64, leak=0.2, dropout=0.3),
    "dcgan64": dict(preset="dcgan64", channels=3, z=100, gf=128, df=64, leak=0.2, dropout=0.0),
}


class _ConvTAsConvAdjoint(torch.autograd.Function):
    """y = ConvTranspose2d(x; w) computed as the input-gradient of
    Conv2d(·; w), and its backward as Conv2d forward (dx) and Conv2d's
    weight gradient with the roles of input and gradient swapped (dw)."""

    @staticmethod
    def forward(ctx, x, w, out_shape, stride, padding):
        ctx.save_for_backward(x, w)
        ctx.stride, ctx.padding = stride, padding
        shape_only = x.new_empty(out_shape)
        dx, _, _ = torch.ops.aten.convolution_backward(
            x, shape_only, w, None, [stride] * 2, [padding] * 2, [1, 1], False, [0, 0], 1, [True, False, False])
        return dx

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        dx = F.conv2d(dy, w, stride=ctx.stride, padding=ctx.padding)
        _, dw, _ = torch.ops.aten.convolution_backward(
            x, dy, w, None, [ctx.stride] * 2, [ctx.padding] * 2, [1, 1], False, [0, 0], 1, [False, True, False])
        return dx, dw, None, None, None


class FastConvTranspose2d(nn.Module):
    """nn.ConvTranspose2d (same parameters, same state_dict) on conv kernels."""

    def __init__(self, m):
        super().__init__()
        self.weight, self.bias = m.weight, m.bias
        self.stride, self.padding, self.output_padding = m.stride[0], m.padding[0], m.output_padding[0]
        self.k = m.kernel_size[0]

    def forward(self, x):
        n, _, h, w = x.shape
        oh = (h - 1) * self.stride - 2 * self.padding + self.k + self.output_padding
        ow = (w - 1) * self.stride - 2 * self.padding + self.k + self.output_padding
        y = _ConvTAsConvAdjoint.apply(x, self.weight, (n, self.weight.shape[1], oh, ow), self.stride, self.padding)
        if self.bias is not None:
            y = y + self.bias.view(1, -1, 1, 1)
        return y


def swap(net, cls, make):
    for i, m in enumerate(net):
        if isinstance(m, cls):
            net[i] = make(m)
    return net


def check_fast_convt(device):
    """FastConvTranspose2d gives nn.ConvTranspose2d's values and gradients."""
    torch.manual_seed(0)
    for stride, op in [(1, 0), (2, 1)]:
        ref = nn.ConvTranspose2d(6, 5, 5, stride, 2, op, bias=True).to(device)
        fast = FastConvTranspose2d(ref)
        x = torch.randn(3, 6, 7, 7, device=device, requires_grad=True)
        outs = []
        for m in (ref, fast):
            x.grad, ref.weight.grad, ref.bias.grad = None, None, None
            y = m(x)
            (y * torch.linspace(-1, 1, y.numel(), device=device).view_as(y)).sum().backward()
            outs.append([t.detach().clone() for t in (y, x.grad, ref.weight.grad, ref.bias.grad)])
        for a, b in zip(*outs):
            if not torch.allclose(a, b, rtol=1e-4, atol=1e-5):
                sys.exit("FastConvTranspose2d does not match nn.ConvTranspose2d; run with --plain-convt")


def gemm_macs(net, x):
    """The multiply-adds of one forward pass of each dense/conv/convT layer
    of net on x, in order."""
    macs = []

    def hook(m, inp, out):
        if isinstance(m, nn.Linear):
            macs.append(out.shape[0] * m.in_features * m.out_features)
        elif isinstance(m, nn.Conv2d):
            macs.append(out.numel() * m.in_channels * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, (nn.ConvTranspose2d, FastConvTranspose2d)):
            w = m.weight
            macs.append(inp[0].numel() * w.shape[1] * w.shape[2] * w.shape[3])

    hooks = [m.register_forward_hook(hook) for m in net
             if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, FastConvTranspose2d))]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    return macs


def step_flops(g_macs, d_macs, g_steps):
    """gan/bench.go's passCounts: G forward k (the first G update reuses the
    D update's), data k (not layer 0), filter k; D forward 2+k, data 2 (not
    layer 0)+k, filter 2."""
    f = 0
    for i, m in enumerate(g_macs):
        f += 2 * m * (g_steps + (g_steps if i > 0 else 0) + g_steps)
    for i, m in enumerate(d_macs):
        f += 2 * m * ((2 + g_steps) + (2 if i > 0 else 0) + g_steps + 2)
    return f


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="dcgan28")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--g-steps", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="CPU threads (default: every core; Debian's torch otherwise starts with 1)")
    ap.add_argument("--plain-convt", action="store_true", help="keep nn.ConvTranspose2d on the CPU")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 on CUDA (off: fp32 like gan-vk)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    dev = torch.device(a.device)
    if dev.type == "cpu":
        torch.set_num_threads(a.threads)
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cudnn.benchmark = True
    fast = dev.type == "cpu" and not a.plain_convt
    if fast:
        check_fast_convt(dev)

    m = PRESETS[a.preset]
    side = 28 if m["preset"] == "dcgan28" else 64
    g, d = ganvk.generator(m), ganvk.discriminator(m)
    d = swap(d, ganvk.MaskDropout, lambda md: nn.Dropout(md.p))
    if fast:
        g = swap(g, nn.ConvTranspose2d, FastConvTranspose2d)
    for net in (g, d):
        for mod in net.modules():
            if isinstance(mod, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(mod.weight, 0, 0.02)
    g, d = g.to(dev).train(), d.to(dev).train()
    n = a.batch
    real = torch.rand(n, m["channels"], side, side, device=dev) * 2 - 1
    flops = step_flops(gemm_macs(g, torch.zeros(n, m["z"], device=dev)), gemm_macs(d, real), a.g_steps)

    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    ones = torch.ones(n, 1, device=dev)
    zeros = torch.zeros(n, 1, device=dev)

    def step():
        z = torch.randn(n, m["z"], device=dev)
        opt_d.zero_grad(set_to_none=False)
        fake = g(z)  # kept for the first G update: same weights, same z (gan-vk reuses it too)
        bce(d(real), ones).backward()
        bce(d(fake.detach()), zeros).backward()
        opt_d.step()
        for j in range(a.g_steps):
            opt_g.zero_grad(set_to_none=False)
            loss = bce(d(fake if j == 0 else g(z)), ones)
            loss.backward()
            opt_g.step()
        return loss.item()  # waits for the device, as gan-vk's step reads its losses

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or platform.machine()
    rep = dict(torch=torch.__version__, device=name, threads=torch.get_num_threads() if dev.type == "cpu" else None,
               convt="oneDNN conv (adjoint)" if fast else "nn.ConvTranspose2d", tf32=a.tf32,
               preset=a.preset, batch=n, g_steps=a.g_steps, steps=a.steps, warmup=a.warmup,
               ms_per_step_median=med * 1e3, ms_per_step_min=min(times) * 1e3, ms_per_step_max=max(times) * 1e3,
               images_per_s=n / med, gflop_per_step=flops / 1e9, gflop_per_s=flops / med / 1e9)
    if a.json:
        print(json.dumps(rep, indent=2))
        return
    print(f"pytorch bench: {a.preset}, {a.g_steps} generator updates per step, synthetic data on the device")
    print(f"device       {dev.type}: {name}; torch {torch.__version__}"
          + (f", {rep['threads']} threads" if rep["threads"] else "") + f"; transposed conv: {rep['convt']}")
    print(f"batch        {n}")
    print(f"step         median {rep['ms_per_step_median']:.1f} ms, min {rep['ms_per_step_min']:.1f}, "
          f"max {rep['ms_per_step_max']:.1f} ({a.steps} steps after {a.warmup} warm-up)")
    print(f"images/s     {rep['images_per_s']:.1f}")
    print(f"FLOPs        {rep['gflop_per_step']:.2f} GFLOP per step, {rep['gflop_per_s']:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
