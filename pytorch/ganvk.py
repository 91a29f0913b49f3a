"""gan-vk's models and checkpoints in PyTorch.

A gan-vk checkpoint is a safetensors file whose tensor names are the
state_dict of the nn.Sequential networks built here: load one with
load_checkpoint() (or safetensors.torch.load_file where the safetensors
package is installed) and the generator is an ordinary nn.Module.

The latent draws are gan-vk's too: normal() is Philox4x32-10 and Box-Muller
as shaders/normal.comp computes them, so the same seed gives the same z.

Uses only torch and numpy (Debian: python3-torch).
"""

import json
import struct

import numpy as np
import torch
from torch import nn

DTYPES = {"F32": (np.float32, 4), "I64": (np.int64, 8)}


def read_safetensors(path):
    """Returns (tensors, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        dt, _ = DTYPES[e["dtype"]]
        lo, hi = e["data_offsets"]
        a = np.frombuffer(data[lo:hi], dtype=dt).reshape(e["shape"])
        out[name] = torch.from_numpy(a.copy())
    return out, meta


def write_safetensors(path, tensors, meta):
    """Writes tensors (name -> torch tensor, float32 or int64) and metadata."""
    header = {"__metadata__": meta}
    blobs, off = [], 0
    for name, t in tensors.items():
        a = t.detach().cpu().numpy()
        dtype = "I64" if a.dtype == np.int64 else "F32"
        b = a.astype(np.int64 if dtype == "I64" else np.float32).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def config_of(meta):
    """The TrainConfig (as a dict) a checkpoint's metadata holds."""
    return json.loads(meta["config"])


class CondBatchNorm2d(nn.Module):
    """Class-conditional batch norm (StudioGAN's, BigGAN's): batch norm
    without an affine of its own, then each sample's channels scaled and
    shifted by its class's rows of two embeddings (gan/nn/class.go)."""

    def __init__(self, classes, k):
        super().__init__()
        self.bn = nn.BatchNorm2d(k, affine=False)
        self.gain = nn.Embedding(classes, k)
        self.bias = nn.Embedding(classes, k)

    def forward(self, x, y):
        return self.bn(x) * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]


class ProjectedLinear(nn.Linear):
    """A projection discriminator's last layer (Miyato and Koyama 2018):
    the logit plus <embed(y), h>."""

    def __init__(self, classes, c):
        super().__init__(c, 1)
        self.embed = nn.Embedding(classes, c)

    def forward(self, h, y):
        return super().forward(h) + (self.embed(y) * h).sum(1, keepdim=True)


class Conditional(nn.Sequential):
    """An nn.Sequential whose class-conditional modules also read the
    classes y: net(x, y)."""

    def forward(self, x, y):
        for m in self:
            x = m(x, y) if isinstance(m, (CondBatchNorm2d, ProjectedLinear)) else m(x)
        return x


def sequential(m, layers):
    """nn.Sequential, or Conditional for a class-conditional ModelConfig."""
    return Conditional(*layers) if m.get("classes") else nn.Sequential(*layers)


def generator(m):
    """The generator of a ModelConfig dict, as gan/model.go builds it: with
    "classes", a Conditional one, g(z, y)."""
    leak, gf, z, ch = m["leak"], m["gf"], m["z"], m["channels"]
    act = lambda: nn.LeakyReLU(leak)
    classes = m.get("classes", 0)
    bn = (lambda k: CondBatchNorm2d(classes, k)) if classes else nn.BatchNorm2d
    if m["preset"] == "dcgan28":
        return sequential(m, [
            nn.Linear(z, 7 * 7 * 4 * gf, bias=False), nn.Unflatten(1, (4 * gf, 7, 7)), bn(4 * gf), act(),
            nn.ConvTranspose2d(4 * gf, 2 * gf, 5, 1, 2, bias=False), bn(2 * gf), act(),
            nn.ConvTranspose2d(2 * gf, gf, 5, 2, 2, 1, bias=False), bn(gf), act(),
            nn.ConvTranspose2d(gf, ch, 5, 2, 2, 1), nn.Tanh()])
    n = size(m)
    w = [family_width(gf, n, r) for r in sides(n)]  # at 4×4, 8×8, … n/2
    layers = [nn.Linear(z, 4 * 4 * w[0], bias=False), nn.Unflatten(1, (w[0], 4, 4)), bn(w[0]), act()]
    for c, k in zip(w, w[1:]):
        layers += [nn.ConvTranspose2d(c, k, 5, 2, 2, 1, bias=False), bn(k), act()]
    layers += [nn.ConvTranspose2d(w[-1], ch, 5, 2, 2, 1), nn.Tanh()]
    return sequential(m, layers)


def size(m):
    """The side of a DCGAN family preset's images (dcgan32 … dcgan256)."""
    return int(m["preset"][len("dcgan"):])


def sides(n):
    """The sides 4, 8, … n/2 of a size-n DCGAN's feature maps."""
    return [4 << i for i in range((n // 8).bit_length())]


def family_width(w, n, r):
    """gan/model.go's familyWidth: channels at side r, halving as the side doubles, 8w at most."""
    return w * min(8, n // (2 * r))


class MaskDropout(nn.Module):
    """Dropout with the mask gan-vk draws: set .mask before each forward."""

    def __init__(self, p):
        super().__init__()
        self.p, self.mask = p, None

    def forward(self, x):
        return x if self.mask is None else x * self.mask.view_as(x)


def discriminator(m):
    """The discriminator of a ModelConfig dict, as gan/model.go builds it:
    with "classes", a Conditional one, d(x, y), ending in a projection."""
    leak, df, ch = m["leak"], m["df"], m["channels"]
    act = lambda: nn.LeakyReLU(leak)
    classes = m.get("classes", 0)
    logit = (lambda c: ProjectedLinear(classes, c)) if classes else (lambda c: nn.Linear(c, 1))
    if m["preset"] == "dcgan28":
        return sequential(m, [
            nn.Conv2d(ch, df, 5, 2, 2), act(), MaskDropout(m["dropout"]),
            nn.Conv2d(df, 2 * df, 5, 2, 2), act(), MaskDropout(m["dropout"]),
            nn.Flatten(), logit(2 * df * 7 * 7)])
    n = size(m)
    w = [family_width(df, n, r) for r in reversed(sides(n))]  # at n/2, … 8, 4
    # --sn: torch.nn.utils.spectral_norm around every conv and the linear
    # (weight_orig, weight_u, weight_v); --d-norm none: a bias, no batch norm.
    sn = torch.nn.utils.spectral_norm if m.get("sn") else (lambda layer: layer)
    bn = m.get("d_norm", "bn") == "bn"
    layers = [sn(nn.Conv2d(ch, w[0], 5, 2, 2)), act()]
    for c, k in zip(w, w[1:]):
        if bn:
            layers += [sn(nn.Conv2d(c, k, 5, 2, 2, bias=False)), nn.BatchNorm2d(k), act()]
        else:
            layers += [sn(nn.Conv2d(c, k, 5, 2, 2)), act()]
    layers += [nn.Flatten(), sn(logit(w[-1] * 4 * 4))]
    return sequential(m, layers)


def load_checkpoint(path):
    """Returns (generator, discriminator, config, step) of a gan-vk checkpoint."""
    tensors, meta = read_safetensors(path)
    cfg = config_of(meta)
    nets = []
    for name, build in [("generator", generator), ("discriminator", discriminator)]:
        net = build(cfg["model"])
        prefix = name + "."
        net.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}, strict=True)
        nets.append(net)
    return nets[0], nets[1], cfg, int(meta["step"])


def load_generator(path, weights=None):
    """Returns (generator, config, step, weights) of a gan-vk checkpoint: its EMA
    generator (generator_ema.*, the same nn.Sequential) with weights "ema", the
    trained one with "raw", and by default the EMA one when the checkpoint has it,
    as gan-vk sample does."""
    tensors, meta = read_safetensors(path)
    cfg = config_of(meta)
    if weights is None:
        weights = "ema" if any(k.startswith("generator_ema.") for k in tensors) else "raw"
    prefix = {"ema": "generator_ema.", "raw": "generator."}[weights]
    net = generator(cfg["model"])
    net.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}, strict=True)
    return net, cfg, int(meta["step"]), weights


# Philox4x32-10 and the draws built on it, as shaders/include/common.glsl.

M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = np.uint32(0x9E3779B9), np.uint32(0xBB67AE85)
LOW = np.uint64(0xFFFFFFFF)


def philox(c0, c1, c2, c3, seed):
    """Philox4x32-10 of counter arrays (uint32) under a 64-bit seed."""
    c = [np.asarray(v, dtype=np.uint32) for v in (c0, c1, c2, c3)]
    c = [np.broadcast_to(v, np.broadcast(*c).shape).copy() for v in c]
    k0, k1 = np.uint32(seed & 0xFFFFFFFF), np.uint32(seed >> 32)
    with np.errstate(over="ignore"):
        for _ in range(10):
            p0 = c[0].astype(np.uint64) * M0
            p1 = c[2].astype(np.uint64) * M1
            hi0, lo0 = (p0 >> np.uint64(32)).astype(np.uint32), (p0 & LOW).astype(np.uint32)
            hi1, lo1 = (p1 >> np.uint64(32)).astype(np.uint32), (p1 & LOW).astype(np.uint32)
            c = [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0]
            k0, k1 = k0 + W0, k1 + W1
    return c


def uniform01(u):
    return ((u >> np.uint32(8)).astype(np.float32) + np.float32(1)) * np.float32(1 / 16777216)


def normal(count, seed, step, stream):
    """gan-vk's z: count N(0, 1) draws at (seed, step, stream), float32."""
    q = np.arange((count + 3) // 4, dtype=np.uint32)
    r = philox(q, stream, step, 1, seed)
    u = [uniform01(v).astype(np.float64) for v in r]
    r0, r1 = np.sqrt(-2 * np.log(u[0])), np.sqrt(-2 * np.log(u[2]))
    t0, t1 = 2 * np.pi * u[1], 2 * np.pi * u[3]
    z = np.stack([r0 * np.cos(t0), r0 * np.sin(t0), r1 * np.cos(t1), r1 * np.sin(t1)], axis=1).reshape(-1)
    return torch.from_numpy(z[:count].astype(np.float32))


def dropout_mask(count, p, seed, step, stream):
    """gan-vk's dropout mask: 1/(1-p) where kept, 0 where dropped."""
    q = np.arange((count + 3) // 4, dtype=np.uint32)
    r = philox(q, stream, step, 0, seed)
    u = np.stack([uniform01(v) for v in r], axis=1).reshape(-1)[:count]
    p32 = np.float32(p)
    return torch.from_numpy(np.where(u > p32, np.float32(1) / (np.float32(1) - p32), np.float32(0)).astype(np.float32))


SAMPLE_STREAM = 1 << 16  # gan/sample.go's sampleStream


def sample_z(n, z, seed):
    """The z's gan-vk sample --n n --seed seed draws."""
    return normal(n * z, seed, 0, SAMPLE_STREAM).view(n, z)


def class_grid(z, cols, classes):
    """gan-vk's class grid (gan.Sampler.ClassGrid) over z: row r shows
    classes[r % len(classes)], and every row takes the first row's z's."""
    n = z.shape[0]
    y = torch.tensor([classes[(i // cols) % len(classes)] for i in range(n)], dtype=torch.int64)
    cols = min(cols, n)
    zz = z[:cols].repeat((n + cols - 1) // cols, 1)[:n]
    return zz, y
