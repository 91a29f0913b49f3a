#!/usr/bin/env python3
"""Changes the EMA decay of a copy of a gan-vk run, to measure another decay
without training again.

    bench/ema_decay.py RUN_COPY DECAY

rewrites RUN_COPY/config.json and every checkpoint in RUN_COPY/checkpoints
so that `gan-vk train --resume RUN_COPY` goes on with --ema DECAY. The
trained networks are the same bits under any decay (the EMA generator only
reads them: gan's TestEMALeavesTrainingAlone), so the resumed copy trains
exactly as the original; its EMA generator starts from the original's
average, whose weight after k generator updates is DECAY^k (0.99^700 is
0.09 %). Score the copy only once that weight is negligible.

Plain Python: a safetensors header is an 8-byte little-endian length and a
JSON object, whose __metadata__.config holds the run's configuration as a
JSON string. The header is rewritten padded with spaces to its old length
when it fits, so the tensors do not move.
"""
import json
import os
import struct
import sys


def rewrite_checkpoint(path, decay):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        rest = f.read()
    config = json.loads(header["__metadata__"]["config"])
    if not config.get("ema"):
        sys.exit(f"{path}: the run keeps no EMA generator, so it has no average to go on from")
    config["ema"] = decay
    header["__metadata__"]["config"] = json.dumps(config, separators=(",", ":"))
    raw = json.dumps(header, separators=(",", ":")).encode()
    if len(raw) > n:
        sys.exit(f"{path}: the new header is {len(raw)} bytes, longer than the old {n}")
    raw += b" " * (n - len(raw))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", n) + raw + rest)
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    run, decay = sys.argv[1], float(sys.argv[2])
    if not 0 < decay < 1:
        sys.exit(f"decay {decay} must be in (0, 1)")
    cfg_path = os.path.join(run, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["train"]["ema"] = decay
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2)
    ckpts = os.path.join(run, "checkpoints")
    for name in sorted(os.listdir(ckpts)):
        if name.endswith(".safetensors"):
            rewrite_checkpoint(os.path.join(ckpts, name), decay)
            print(f"{name}: ema {decay}")


if __name__ == "__main__":
    main()
