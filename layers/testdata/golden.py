#!/usr/bin/python3
"""Writes the PyTorch goldens that layers' tests hold the shaders and the
references to: small cases of conv, transposed conv, batch norm, BCE with
logits and Adam, values and gradients, in float32 on the CPU.

Run it from this directory with Debian's python3 and python3-torch (1.13):

    /usr/bin/python3 golden.py

It rewrites golden.json; commit the result. The Go tests need no Python.
"""
import json

import torch
import torch.nn.functional as F

torch.manual_seed(20261127)
torch.use_deterministic_algorithms(True)
out = {"torch": torch.__version__}


def put(case, **tensors):
    out[case] = {k: (list(v.shape), v.detach().reshape(-1).tolist()) for k, v in tensors.items()}


def tensor_json(shape, data):
    # %.9g round-trips every float32.
    return '{"shape":%s,"data":[%s]}' % (json.dumps(shape), ",".join("%.9g" % x for x in data))


def leaf(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).requires_grad_()


# Conv2d, DCGAN's 5x5 stride 2 padding 2, odd sizes.
x, w, b = leaf(2, 3, 9, 7), leaf(4, 3, 5, 5, scale=0.2), leaf(4)
y = F.leaky_relu(F.conv2d(x, w, b, stride=2, padding=2), 0.2)
dy = torch.randn_like(y)
y.backward(dy)
put("conv2d", x=x, w=w, b=b, y=y, dy=dy, dx=x.grad, dw=w.grad, db=b.grad)

# ConvTranspose2d, DCGAN's 5x5 stride 2 padding 2 output padding 1.
x, w, b = leaf(2, 4, 4, 5), leaf(4, 3, 5, 5, scale=0.2), leaf(3)
y = torch.tanh(F.conv_transpose2d(x, w, b, stride=2, padding=2, output_padding=1))
dy = torch.randn_like(y)
y.backward(dy)
put("conv_transpose2d", x=x, w=w, b=b, y=y, dy=dy, dx=x.grad, dw=w.grad, db=b.grad)

# Linear.
x, w, b = leaf(3, 10), leaf(6, 10, scale=0.3), leaf(6)
y = F.linear(x, w, b)
dy = torch.randn_like(y)
y.backward(dy)
put("linear", x=x, w=w, b=b, y=y, dy=dy, dx=x.grad, dw=w.grad, db=b.grad)

# BatchNorm2d in training mode, then eval with the moved running statistics.
bn = torch.nn.BatchNorm2d(3)
with torch.no_grad():
    bn.weight.copy_(torch.randn(3))
    bn.bias.copy_(torch.randn(3))
x = (torch.randn(4, 3, 5, 5) * 2 + 0.5).requires_grad_()
y = F.leaky_relu(bn(x), 0.2)
dy = torch.randn_like(y)
y.backward(dy)
bn.eval()
put("batch_norm2d", x=x, gamma=bn.weight, beta=bn.bias, y=y, dy=dy, dx=x.grad, dgamma=bn.weight.grad,
    dbeta=bn.bias.grad, running_mean=bn.running_mean, running_var=bn.running_var,
    eval_y=F.leaky_relu(bn(x), 0.2))

# BCE with logits, mean over the batch, large logits included.
for target in (0.0, 1.0):
    logit = torch.cat([torch.randn(13) * 3, torch.tensor([-60.0, 60.0, -17.0, 17.0])]).requires_grad_()
    loss = F.binary_cross_entropy_with_logits(logit, torch.full_like(logit, target))
    loss.backward()
    put("bce_target%d" % target, logit=logit, loss=loss.reshape(1), dlogit=logit.grad)

# Adam, the DCGAN settings, three steps with a new gradient each.
p = torch.nn.Parameter(torch.randn(50) * 0.02)
opt = torch.optim.Adam([p], lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
case = {"p0": p.detach().clone()}
for step in range(1, 4):
    g = torch.randn(50)
    p.grad = g.clone()
    opt.step()
    st = opt.state[p]
    case["grad%d" % step] = g
    case["p%d" % step] = p.detach().clone()
    case["m%d" % step] = st["exp_avg"].clone()
    case["v%d" % step] = st["exp_avg_sq"].clone()
put("adam", **case)

# One line per tensor, so a regenerated file diffs readably.
with open("golden.json", "w") as f:
    f.write('{"torch": %s' % json.dumps(out.pop("torch")))
    for case, tensors in out.items():
        f.write(',\n"%s": {' % case)
        f.write(",".join('\n  "%s": %s' % (k, tensor_json(*v)) for k, v in tensors.items()))
        f.write("}")
    f.write("\n}\n")
