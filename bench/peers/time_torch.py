"""PyTorch step times on THIS machine, for bench/step.ts and bench/kernels.ts to divide by.

The reference timings in ../shared/reference/timings_torch*.json were taken on another 2-core
machine. This script re-times the same workloads here, so `npm run bench` can report ratios
against PyTorch on the same machine (bench/results/torch-here.json).

Setup (Debian; not needed by `npm ci` or `npm test`):
    apt-get install --no-install-recommends python3-torch libopenblas0-pthread
Run:
    /usr/bin/python3 bench/peers/time_torch.py [--steps 30] [--coretype SkylakeX|Haswell|auto]
        [--out bench/results/torch-here.json]

Workloads, as the reference describes them (timings_torch_skylakex.json "description"):
  classifier  784-1000-500-250-30, tanh, softmax cross-entropy (mean over the batch)
  autoencoder 784-1000-500-250-30-250-500-1000-784 (linear code), Bernoulli loss summed over
              pixels, averaged over the batch
  synthetic data x ~ U[0,1)^784, labels uniform in {0..29}; torch float32, 1 intra-op thread,
  OpenBLAS with its own pool of 2 threads.
One step = zero_grad + forward + loss + backward [+ K-FAC preconditioning] + optimizer.step().

K-FAC: kfac-pytorch v0.4.1 is not installable here (no PyPI), so `kfac_inverse` and
`kfac_eigen` below are this file's own transcription of kfac-pytorch's algorithm with the
reference's settings (factor_update_steps=1, inv_update_steps=10, damping=1e-3,
factor_decay=0.95, kl_clip=1e-3, SGD momentum 0.9): forward/backward hooks collect each Linear
layer's inputs a (with a ones column for the bias) and output gradients g; A = aᵀa/n and
G = gᵀg·n (empirical-Fisher scaling of a batch-mean loss) are averaged with decay 0.95; every 10
steps the factors are inverted (INVERSE: inverse of factor + sqrt(damping) I; EIGEN: eigh of
each factor, damping 1e-3 added to the outer product of eigenvalues); the preconditioned
gradient is scaled by kfac-pytorch's kl_clip rule, then SGD with momentum steps. It is a
same-machine stand-in for kfac-pytorch, not kfac-pytorch itself; the JSON says so.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=12)
    p.add_argument("--coretype", default="auto", help="OPENBLAS_CORETYPE (auto = OpenBLAS's choice)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "results", "torch-here.json"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def main():
    args = parse()
    if not args.child:
        # OpenBLAS reads its core type and thread count at load time: re-exec with them set.
        env = dict(os.environ)
        if args.coretype != "auto":
            env["OPENBLAS_CORETYPE"] = args.coretype
        env.setdefault("OPENBLAS_NUM_THREADS", "2")
        env.setdefault("OMP_NUM_THREADS", "1")
        sys.exit(subprocess.call([sys.executable, __file__, "--child", *sys.argv[1:]], env=env))
    run(args)


def run(args):
    import torch
    import torch.nn as nn

    torch.set_num_threads(1)
    torch.manual_seed(0)

    def mlp(sizes, code_linear_at=None):
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2 and i != code_linear_at:
                layers.append(nn.Tanh())
        return nn.Sequential(*layers)

    def classifier():
        return mlp([784, 1000, 500, 250, 30])

    def autoencoder():
        return mlp([784, 1000, 500, 250, 30, 250, 500, 1000, 784], code_linear_at=3)

    def loss_fn(kind, out, x, y):
        if kind == "classifier":
            return nn.functional.cross_entropy(out, y)
        return nn.functional.binary_cross_entropy_with_logits(out, x, reduction="sum") / x.shape[0]

    class KFAC:
        """kfac-pytorch's preconditioner, transcribed (see the module docstring)."""

        def __init__(self, model, method, lr, damping=1e-3, decay=0.95, kl_clip=1e-3, inv_every=10):
            self.layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
            self.method, self.lr, self.damping, self.decay, self.kl_clip, self.inv_every = method, lr, damping, decay, kl_clip, inv_every
            self.a, self.g, self.A, self.G, self.inv = {}, {}, {}, {}, {}
            self.steps = 0
            for m in self.layers:
                m.register_forward_pre_hook(self._save_a)
                m.register_full_backward_hook(self._save_g)

        def _save_a(self, m, inp):
            if torch.is_grad_enabled():
                self.a[m] = inp[0].detach()

        def _save_g(self, m, gin, gout):
            self.g[m] = gout[0].detach()

        def step(self):
            for m in self.layers:
                a, g = self.a[m], self.g[m]
                n = a.shape[0]
                a1 = torch.cat([a, a.new_ones(n, 1)], 1)
                A = a1.t() @ a1 / n
                gs = g * n
                G = gs.t() @ gs / n
                if m in self.A:
                    self.A[m].mul_(self.decay).add_(A, alpha=1 - self.decay)
                    self.G[m].mul_(self.decay).add_(G, alpha=1 - self.decay)
                else:
                    self.A[m], self.G[m] = A, G
            if self.steps % self.inv_every == 0:
                for m in self.layers:
                    if self.method == "inverse":
                        d = self.damping ** 0.5
                        eye = lambda M: torch.eye(M.shape[0], dtype=M.dtype)
                        self.inv[m] = (torch.linalg.inv(self.A[m] + d * eye(self.A[m])), torch.linalg.inv(self.G[m] + d * eye(self.G[m])))
                    else:
                        da, qa = torch.linalg.eigh(self.A[m])
                        dg, qg = torch.linalg.eigh(self.G[m])
                        self.inv[m] = (qa, qg, 1.0 / (torch.outer(dg.clamp(min=0), da.clamp(min=0)) + self.damping))
            self.steps += 1
            vg = 0.0
            new = {}
            for m in self.layers:
                grad = torch.cat([m.weight.grad, m.bias.grad.view(-1, 1)], 1)
                if self.method == "inverse":
                    Ai, Gi = self.inv[m]
                    pg = Gi @ grad @ Ai
                else:
                    qa, qg, scale = self.inv[m]
                    pg = qg @ ((qg.t() @ grad @ qa) * scale) @ qa.t()
                new[m] = pg
                vg += (pg * grad).sum().item() * self.lr ** 2
            nu = min(1.0, (self.kl_clip / abs(vg)) ** 0.5) if vg != 0 else 1.0
            for m in self.layers:
                pg = new[m] * nu
                m.weight.grad.copy_(pg[:, :-1])
                m.bias.grad.copy_(pg[:, -1])

    def time_steps(kind, batch, what):
        torch.manual_seed(0)
        model = classifier() if kind == "classifier" else autoencoder()
        x = torch.rand(batch, 784)
        y = torch.randint(0, 30, (batch,))
        lr = 1e-2 if kind == "classifier" else 1e-3
        opt = None
        kfac = None
        if what == "sgd" or what.startswith("kfac"):
            opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9 if what.startswith("kfac") else 0.0)
        elif what == "adam":
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        if what.startswith("kfac"):
            kfac = KFAC(model, what.split("_")[1], lr)
        times, refresh = [], []
        total = args.warmup + args.steps
        if kfac is not None:  # whole refresh periods after warm-up, as the amortized mean needs
            total = args.warmup + max(10, (args.steps + 9) // 10 * 10)
        loss = None
        for s in range(total):
            t0 = time.perf_counter()
            model.zero_grad(set_to_none=False)
            out = model(x)
            loss = loss_fn(kind, out, x, y)
            loss.backward()
            if kfac is not None:
                refreshing = kfac.steps % kfac.inv_every == 0
                kfac.step()
            else:
                refreshing = False
            if opt is not None:
                opt.step()
            t = (time.perf_counter() - t0) * 1e3
            if s >= args.warmup:
                times.append(t)
                refresh.append(refreshing)
        r = {
            "median_ms": statistics.median(times),
            "mean_ms_amortized": statistics.fmean(times),
            "min_ms": min(times),
            "n_steps_timed": len(times),
            "final_loss": float(loss.item()),
        }
        if kfac is not None:
            without = [t for t, f in zip(times, refresh) if not f]
            with_ = [t for t, f in zip(times, refresh) if f]
            r["median_ms_without_inverse_update"] = statistics.median(without)
            r["median_ms_with_inverse_update"] = statistics.median(with_)
        return r

    def time_gemms():
        # The autoencoder's matmuls as bench/kernels.ts times them: forward X·W, dX = dY·Wᵀ and
        # dW = Xᵀ·dY, at batch 1000 and 256; operands transposed as views (OpenBLAS's own
        # transposed kernels), the result written into a preallocated tensor.
        sizes = [784, 1000, 500, 250, 30, 250, 500, 1000, 784]
        rows = []
        for batch in (1000, 256):
            for i, o in zip(sizes[:-1], sizes[1:]):
                x, w, dy = torch.rand(batch, i), torch.rand(i, o), torch.rand(batch, o)
                cases = {
                    "forward X·W": (x, w, torch.empty(batch, o)),
                    "dX = dY·Wᵀ": (dy, w.t(), torch.empty(batch, i)),
                    "dW = Xᵀ·dY": (x.t(), dy, torch.empty(i, o)),
                }
                for op, (a, b, out) in cases.items():
                    flops = 2.0 * batch * i * o
                    reps = max(3, int(2e9 / flops))
                    for _ in range(2):
                        torch.mm(a, b, out=out)
                    ts = []
                    for _ in range(5):
                        t0 = time.perf_counter()
                        for _ in range(reps):
                            torch.mm(a, b, out=out)
                        ts.append((time.perf_counter() - t0) / reps)
                    rows.append({"batch": batch, "inDim": i, "outDim": o, "op": op, "gflops": flops / statistics.median(ts) / 1e9})
                    print(f"gemm B={batch} {i}→{o} {op:12s} {rows[-1]['gflops']:7.1f} GFLOP/s", flush=True)
        return rows

    gemm = time_gemms()
    runs = {}
    for kind in ("classifier", "autoencoder"):
        for batch in (256, 1000):
            key = f"{kind}_batch{batch}"
            runs[key] = {}
            for what in ("fwd_bwd_only", "sgd", "adam", "kfac_inverse", "kfac_eigen"):
                r = time_steps(kind, batch, what)
                runs[key][what] = r
                print(f"{key:24s} {what:13s} median {r['median_ms']:7.1f} ms  mean {r['mean_ms_amortized']:7.1f} ms", flush=True)

    try:
        load = os.getloadavg()
    except OSError:
        load = None
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") or line.startswith("cpu family") or line.startswith("model\t"):
                    cpu += line.strip() + "; "
                if line.strip() == "":
                    break
    except OSError:
        pass
    doc = {
        "description": __doc__,
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "auto"),
            "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "cpu_count": os.cpu_count(),
            "cpu": cpu,
            "loadavg_after": load,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "kfac": "own transcription of kfac-pytorch v0.4.1's algorithm (kfac-pytorch itself is not installable here)",
        },
        "runs": {"torch_threads_1": runs},
        "gemm": gemm,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", os.path.abspath(args.out))


if __name__ == "__main__":
    main()
