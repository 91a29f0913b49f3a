#!/usr/bin/python3
"""Writes gan/testdata/torch_step.safetensors: whole training steps of small
versions of both presets run in PyTorch, which TestStepMatchesPyTorch holds
gan-vk's recorded steps to.

    /usr/bin/python3 pytorch/golden_step.py

The step is gan/trainer.go's: z drawn once per step; the discriminator on
the real batch (target 1) and then on G(z) (target 0), each backward after
its forward, then Adam; then --g-steps generator updates, each running G
and D again and taking the BCE of D(G(z)) against 1 back to G. Dropout
masks and z are gan-vk's Philox draws (pytorch/ganvk.py).

For each case the file holds the initial parameters (init.<case>.<name>),
the real batches (real.<case>.<step>), the state after the last step
(want.<case>.<name>: parameters and running statistics) and, in the
metadata, the configuration and each step's losses.
"""

import json
import os

import torch
from torch import nn

import ganvk

CASES = {
    "dcgan28": dict(model=dict(preset="dcgan28", channels=1, z=8, gf=2, df=2, leak=0.2, dropout=0.3),
                    batch=4, lr=2e-4, beta1=0.5, g_steps=2, seed=11, steps=3),
    "dcgan64": dict(model=dict(preset="dcgan64", channels=3, z=8, gf=2, df=2, leak=0.2, dropout=0.0),
                    batch=2, lr=1e-3, beta1=0.5, g_steps=1, seed=12, steps=2),
    # SNGAN's discriminator: spectral norm, no batch norm, the hinge loss and
    # two time scales.
    "dcgan32_sn": dict(model=dict(preset="dcgan32", channels=1, z=8, gf=2, df=2, leak=0.2, dropout=0.0,
                                  sn=True, d_norm="none"),
                       batch=2, lr=2e-4, lr_d=4e-4, lr_g=1e-4, loss="hinge", beta1=0.5, g_steps=1, seed=13, steps=3),
    # Class-conditional: conditional batch norm in G, a projection in D, on
    # each preset (the second with spectral norm and the hinge loss).
    "dcgan28_cond": dict(model=dict(preset="dcgan28", channels=1, z=8, gf=2, df=2, leak=0.2, dropout=0.3, classes=3),
                         batch=5, lr=2e-4, beta1=0.5, g_steps=2, seed=14, steps=3),
    "dcgan32_cond": dict(model=dict(preset="dcgan32", channels=3, z=8, gf=2, df=2, leak=0.2, dropout=0.0,
                                    sn=True, d_norm="none", classes=4),
                         batch=4, lr=2e-4, lr_d=4e-4, lr_g=1e-4, loss="hinge", beta1=0.5, g_steps=1, seed=15, steps=3),
}


def init(net, gen):
    for m in net.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            getattr(m, "weight_orig", m.weight).data.normal_(0, 0.02, generator=gen)
            if m.bias is not None:
                m.bias.data.zero_()
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            m.weight.data.normal_(1, 0.02, generator=gen)
            m.bias.data.zero_()
        elif isinstance(m, ganvk.CondBatchNorm2d):
            m.gain.weight.data.normal_(1, 0.02, generator=gen)
            m.bias.weight.data.zero_()
        if isinstance(m, ganvk.ProjectedLinear):
            m.embed.weight.data.normal_(0, 0.02, generator=gen)


def dropouts(d):
    """The MaskDropout modules of d with their index among gan-vk's layers
    (gan/model.go: layers that compute, not activations or Flatten)."""
    out, layer = [], 0
    for m in d:
        if isinstance(m, ganvk.MaskDropout):
            if m.p > 0:
                out.append((m, layer))
                layer += 1
        elif isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d)):
            layer += 1
    return out


def set_masks(d, n, p, seed, step, pass_, shape_of):
    for m, layer in dropouts(d):
        count = n * shape_of(m)
        m.mask = ganvk.dropout_mask(count, p, seed, step, 1 + 3 * layer + pass_)


def losses_of(kind):
    """The (real, fake, generator) loss terms of D's logits, as gan_loss.comp."""
    if kind == "hinge":
        return (lambda l: torch.relu(1 - l).mean(), lambda l: torch.relu(1 + l).mean(), lambda l: -l.mean())
    bce = nn.BCEWithLogitsLoss()
    return (lambda l: bce(l, torch.ones_like(l)), lambda l: bce(l, torch.zeros_like(l)),
            lambda l: bce(l, torch.ones_like(l)))


def conditional(net, classes):
    """net as f(x, y): y is ignored by an unconditional network."""
    return (lambda x, y: net(x, y)) if classes else (lambda x, y: net(x))


def run(name, c):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(c["seed"])
    g_net, d_net = ganvk.generator(c["model"]), ganvk.discriminator(c["model"])
    classes = c["model"].get("classes", 0)
    g, d = conditional(g_net, classes), conditional(d_net, classes)
    init(g_net, gen)
    init(d_net, gen)
    y0 = torch.zeros(1, dtype=torch.int64)
    if c["model"].get("sn"):  # the power iteration gan-vk's initialisation takes (nn.Store.Init)
        with torch.no_grad():
            d_net.train()
            d(torch.zeros(1, c["model"]["channels"], ganvk.size(c["model"]), ganvk.size(c["model"])), y0)
    out = {}
    for net, prefix in [(g_net, "generator"), (d_net, "discriminator")]:
        for k, v in net.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                out[f"init.{name}.{prefix}.{k}"] = v.clone()
    n, m = c["batch"], c["model"]
    side = ganvk.size(m)
    # The element count each dropout sees, per sample: from a dry run.
    sizes = {}
    hooks = [mod.register_forward_pre_hook(lambda mod, inp: sizes.__setitem__(mod, inp[0][0].numel()))
             for mod, _ in dropouts(d_net)]
    with torch.no_grad():
        d_net.eval()
        d(torch.zeros(1, m["channels"], side, side), y0)
    for h in hooks:
        h.remove()
    g_net.train()
    d_net.train()
    # gan-vk's spectral norm takes one power iteration per D update, after
    # Adam, and every pass in between uses its σ; PyTorch's takes one in
    # every training-mode forward. So with spectral norm (and no batch norm
    # or dropout, which eval mode would change) D runs in eval mode, which
    # takes σ from the kept u and v, and the iteration is a training-mode
    # forward after Adam.
    sn = m.get("sn", False)
    if sn:
        d_net.eval()
    opt_d = torch.optim.Adam(d_net.parameters(), lr=c.get("lr_d", c["lr"]), betas=(c["beta1"], 0.999), eps=1e-8)
    opt_g = torch.optim.Adam(g_net.parameters(), lr=c.get("lr_g", c["lr"]), betas=(c["beta1"], 0.999), eps=1e-8)
    loss_real, loss_fake, loss_g = losses_of(c.get("loss", "bce"))
    seed, losses = c["seed"], []
    rnd = torch.Generator().manual_seed(100 + c["seed"])
    for k in range(1, c["steps"] + 1):
        real = (torch.rand(n, m["channels"], side, side, generator=rnd) * 2 - 1).float()
        out[f"real.{name}.{k}"] = real
        # The real batch's classes, which its fakes are drawn for too
        # (gan/trainer.go's recorder.mode); stored as floats.
        y = torch.randint(classes, (n,), generator=rnd) if classes else None
        if classes:
            out[f"labels.{name}.{k}"] = y.float()
        z = ganvk.normal(n * m["z"], seed, k, 0).view(n, m["z"])
        opt_d.zero_grad()
        fake = g(z, y)
        set_masks(d_net, n, m["dropout"], seed, k, 0, sizes.get)
        logit = d(real, y)
        l_real = loss_real(logit)
        dx = torch.sigmoid(logit).mean()
        l_real.backward()
        set_masks(d_net, n, m["dropout"], seed, k, 1, sizes.get)
        logit = d(fake.detach(), y)
        l_fake = loss_fake(logit)
        dgz = torch.sigmoid(logit).mean()
        l_fake.backward()
        opt_d.step()
        if sn:
            with torch.no_grad():
                d_net.train()
                d(real, y)
                d_net.eval()
        for j in range(c["g_steps"]):
            gk = (k - 1) * c["g_steps"] + j + 1
            opt_g.zero_grad()
            set_masks(d_net, n, m["dropout"], seed, gk, 2, sizes.get)
            logit = d(g(z, y), y)
            l_g = loss_g(logit)
            dgz_after = torch.sigmoid(logit).mean()
            l_g.backward()
            opt_g.step()
        losses.append([float(v) for v in (l_real, l_fake, l_g, dx, dgz, dgz_after)])
    for net, prefix in [(g_net, "generator"), (d_net, "discriminator")]:
        for k, v in net.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                out[f"want.{name}.{prefix}.{k}"] = v.clone()
    cfg = {key: c[key] for key in ("model", "batch", "lr", "lr_d", "lr_g", "loss", "beta1", "g_steps", "seed") if key in c}
    return out, {f"{name}.config": json.dumps(cfg), f"{name}.losses": json.dumps(losses), f"{name}.steps": str(c["steps"])}


def main():
    tensors, meta = {}, {"torch": torch.__version__}
    for name, c in CASES.items():
        t, m = run(name, c)
        tensors.update(t)
        meta.update(m)
    path = os.path.join(os.path.dirname(__file__), "..", "gan", "testdata", "torch_step.safetensors")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ganvk.write_safetensors(path, tensors, meta)
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
