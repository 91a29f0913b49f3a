#!/usr/bin/python3
"""Write a copy of a gan-vk checkpoint whose EMA generator keeps the raw
generator's batch-norm running statistics instead of the ones gan-vk
recomputes for the EMA weights, to score the two against each other:

    /usr/bin/python3 bench/ema_bn.py RUN/checkpoints/step_N.safetensors /tmp/raw-stats.safetensors
    bin/gan-vk score --checkpoint /tmp/raw-stats.safetensors --data /usr/share/datasets/fashion-mnist
"""

import sys

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/pytorch")
import ganvk  # noqa: E402


def main():
    src, dst = sys.argv[1], sys.argv[2]
    tensors, meta = ganvk.read_safetensors(src)
    moved = 0
    for name in list(tensors):
        if name.startswith("generator_ema.") and ("running_" in name):
            tensors[name] = tensors["generator." + name[len("generator_ema."):]].clone()
            moved += 1
    if moved == 0:
        sys.exit(f"{src} has no EMA generator")
    ganvk.write_safetensors(dst, tensors, meta)
    print(f"wrote {dst}: {moved} running statistics of the EMA generator replaced by the raw generator's")


if __name__ == "__main__":
    main()
