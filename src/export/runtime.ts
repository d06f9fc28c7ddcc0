/**
 * The Python engine of an exported spec (PyTorch only): appended, unchanged, after the spec's
 * CONFIG by exportPytorch. It transcribes geodesic's step (src/optim/compile.ts) and estimators
 * (src/curvature) for nn.Linear models, single-process or under torch.distributed; docs/export.md
 * maps it clause by clause. Kept as one string so the CLI needs no asset files.
 */
export const RUNTIME_PY = String.raw`# ---------------------------------------------------------------------------------------------
# The engine below is the same for every exported spec; CONFIG above says what it computes.
# Conventions are geodesic's (docs/engine.md, docs/export.md): a dense layer computes
# z = a W + b with W of shape [in, out] (torch stores weight = Wᵀ, [out, in]); K-FAC's factors
# are A = (1/N) Σ ā āᵀ (ā = [a; 1] with bias "homogeneous", a alone with "separate") and
# G = w Σ g gᵀ over per-example pre-activation gradients; the W block is kron(A, G).
# ---------------------------------------------------------------------------------------------
import copy
import math

import torch
import torch.distributed as dist
from torch import nn

_EPS = 2.220446049250313e-16  # float64 machine epsilon (geodesic's host thresholds)


class CurvatureSolveError(ArithmeticError):
    """A damped curvature that cannot be solved (not positive definite, singular): the step is rejected."""


def _schedule(s, t):
    k = s["kind"]
    if k == "constant":
        return s["value"]
    if k == "step":
        return s["initial"] * s["factor"] ** math.floor(t / s["every"])
    if k == "exponential":
        return s["initial"] * s["rate"] ** (t / s["every"])
    if k == "inverse_time":
        return s["initial"] / (1 + s["decay"] * t / s["every"])
    if k == "cosine":
        frac = min(t, s["steps"]) / s["steps"]
        return s["final"] + 0.5 * (s["initial"] - s["final"]) * (1 + math.cos(math.pi * frac))
    raise ValueError("unknown schedule " + k)


# ----------------------------------- likelihoods ---------------------------------------------
# ℓₙ = −log p(yₙ | fₙ), summed over output units; the loss is the batch mean of ℓₙ.

def categorical_nll(outputs, targets):
    """Softmax cross-entropy; targets one-hot [N, C] (or class indices [N])."""
    if targets.dim() == 1:
        targets = nn.functional.one_hot(targets, outputs.shape[1]).to(outputs.dtype)
    return -(targets * torch.log_softmax(outputs, 1)).sum(1).mean()


def gaussian_nll(outputs, targets):
    """Unit-variance Gaussian: ½‖f − y‖² per example (not divided by the output dimension)."""
    return 0.5 * ((outputs - targets) ** 2).sum(1).mean()


def bernoulli_nll(outputs, targets):
    """Independent sigmoid logits: Σₖ binary cross-entropy per example."""
    return (nn.functional.softplus(outputs) - targets * outputs).sum(1).mean()


categorical_nll.likelihood = "categorical"
gaussian_nll.likelihood = "gaussian"
bernoulli_nll.likelihood = "bernoulli"
LOSSES = {"categorical": categorical_nll, "gaussian": gaussian_nll, "bernoulli": bernoulli_nll}


class _Likelihood:
    def __init__(self, name):
        self.name = name

    def output_gradient(self, f, y):
        if self.name == "categorical":
            if y.dim() == 1:
                y = nn.functional.one_hot(y, f.shape[1]).to(f.dtype)
            return torch.softmax(f, 1) - y
        if self.name == "gaussian":
            return f - y
        return torch.sigmoid(f) - y

    def hessian_vp(self, f, u):
        if self.name == "categorical":
            p = torch.softmax(f, 1)
            pu = p * u
            return pu - p * pu.sum(1, keepdim=True)
        if self.name == "gaussian":
            return u
        s = torch.sigmoid(f)
        return s * (1 - s) * u

    def hessian_sqrt_columns(self, f):
        """Columns S[:, :, c] of Sₙ with Sₙ Sₙᵀ = Hₙ (C = number of outputs)."""
        n, c = f.shape
        cols = []
        if self.name == "categorical":
            p = torch.softmax(f, 1)
            q = torch.sqrt(p)
            for k in range(c):
                e = torch.zeros_like(f)
                e[:, k] = 1
                cols.append(q[:, k:k + 1] * (e - p))  # diag(√p) − p √pᵀ, column k
            return cols
        d = torch.ones_like(f) if self.name == "gaussian" else torch.sqrt(torch.sigmoid(f) * (1 - torch.sigmoid(f)))
        for k in range(c):
            col = torch.zeros_like(f)
            col[:, k] = d[:, k]
            cols.append(col)
        return cols

    def noise(self, gen, n, c, dtype):
        if self.name == "gaussian":
            return torch.randn((n, c), generator=gen, dtype=torch.float64).to(dtype)
        width = 1 if self.name == "categorical" else c
        return torch.rand((n, width), generator=gen, dtype=torch.float64).to(dtype)

    def sample(self, f, u):
        """y ~ p(·|f) from the noise u (uniform, or standard normal for gaussian)."""
        if self.name == "categorical":
            cdf = torch.cumsum(torch.softmax(f, 1), 1)
            idx = torch.clamp((cdf < u).sum(1), max=f.shape[1] - 1)
            return nn.functional.one_hot(idx, f.shape[1]).to(f.dtype)
        if self.name == "gaussian":
            return f + u
        return (u < torch.sigmoid(f)).to(f.dtype)


# --------------------------------- vectors of tensors ----------------------------------------

def _dot(u, v):
    return sum(float((a * b).sum()) for a, b in zip(u, v))


def _clone(u):
    return [a.detach().clone() for a in u]


# ------------------------------------ distribution -------------------------------------------

class _Comm:
    """torch.distributed when initialized (world size > 1), else a single process."""

    def __init__(self):
        on = dist.is_available() and dist.is_initialized()
        self.world = dist.get_world_size() if on else 1
        self.rank = dist.get_rank() if on else 0

    def mean(self, tensors):
        """All-reduced average over ranks of a list of tensors (one collective)."""
        if self.world == 1 or not tensors:
            return tensors
        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.all_reduce(flat)
        flat /= self.world
        out, i = [], 0
        for t in tensors:
            out.append(flat[i:i + t.numel()].view_as(t))
            i += t.numel()
        return out

    def mean_scalars(self, values, like):
        if self.world == 1:
            return list(values)
        t = torch.tensor(list(values), dtype=torch.float64, device=like.device)
        dist.all_reduce(t)
        return [float(v) / self.world for v in t]

    def broadcast_int(self, value):
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.int64)
        dist.broadcast(t, 0)
        return int(t[0])


class _Jobs:
    """Decompositions (eigh, SPD inverses) of a refresh spread over the ranks and broadcast.

    Jobs are assigned largest first to the least-loaded rank (cost n³), the same assignment on
    every rank; each rank computes only its own and receives the others' by one broadcast per
    owner. work counts this rank's decompositions and their summed n³.
    """

    def __init__(self, comm, work):
        self.comm = comm
        self.work = work

    def run(self, jobs):
        """jobs: list of (kind, matrix) with kind 'eigh' or 'inv'; returns the results in order."""
        world = self.comm.world
        order = sorted(range(len(jobs)), key=lambda i: (-jobs[i][1].shape[0], i))
        load = [0.0] * world
        owner = [0] * len(jobs)
        for i in order:
            r = min(range(world), key=lambda k: (load[k], k))
            owner[i] = r
            load[r] += float(jobs[i][1].shape[0]) ** 3
        results = [None] * len(jobs)
        for i, (kind, m) in enumerate(jobs):
            if owner[i] == self.comm.rank:
                results[i] = _decompose(kind, m)
                self.work["decompositions"] += 1
                self.work["cost"] += float(m.shape[0]) ** 3
        if world == 1:
            return results
        for r in range(world):
            mine = [i for i in range(len(jobs)) if owner[i] == r]
            if not mine:
                continue
            sizes = []
            for i in mine:
                n = jobs[i][1].shape[0]
                sizes.append(n + n * n if jobs[i][0] == "eigh" else n * n + 1)
            like = jobs[mine[0]][1]
            if r == self.comm.rank:
                parts = []
                for i, size in zip(mine, sizes):
                    part = _pack(jobs[i][0], results[i])
                    parts.append(part if part.numel() == size else jobs[i][1].new_zeros(size))
                buf = torch.cat(parts)
            else:
                buf = torch.empty(sum(sizes), dtype=like.dtype, device=like.device)
            dist.broadcast(buf, r)
            if r != self.comm.rank:
                k = 0
                for i, size in zip(mine, sizes):
                    results[i] = _unpack(jobs[i][0], buf[k:k + size], jobs[i][1].shape[0])
                    k += size
        return results


def _decompose(kind, m):
    if kind == "eigh":
        values, vectors = torch.linalg.eigh(m)
        return (values, vectors)
    chol, info = torch.linalg.cholesky_ex(m)
    if int(info) != 0 or not bool(torch.isfinite(chol).all()):
        return None  # not positive definite
    return torch.cholesky_inverse(chol)


def _pack(kind, r):
    if kind == "eigh":
        return torch.cat([r[0].reshape(-1), r[1].reshape(-1)])
    if r is None:  # not positive definite: a zero flag tells the receivers
        return torch.zeros(0)
    return torch.cat([r.reshape(-1), r.new_ones(1)])


def _unpack(kind, buf, n):
    if kind == "eigh":
        return (buf[:n].clone(), buf[n:].view(n, n).clone())
    if float(buf[-1]) != 1.0:
        return None
    return buf[:-1].view(n, n).clone()


# --------------------------------------- layers ----------------------------------------------

_CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _dense_layers(module):
    """The model's nn.Linear layers in registration order (geodesic's dense layers)."""
    layers = []
    for name, m in module.named_modules():
        if isinstance(m, _CONVOLUTIONS):
            raise ValueError(
                "%s: %s is not supported by this export: geodesic's layers are dense (nn.Linear) only; "
                "convolutions come with geodesic's conv2d layer" % (name or "model", type(m).__name__))
        if isinstance(m, nn.Linear):
            if m.bias is None:
                raise ValueError("%s: nn.Linear without a bias: geodesic's dense layers have one" % name)
            layers.append(m)
    if not layers:
        raise ValueError("the model has no nn.Linear layer")
    covered = {id(p) for m in layers for p in (m.weight, m.bias)}
    outside = [n for n, p in module.named_parameters() if p.requires_grad and id(p) not in covered]
    if outside:
        raise ValueError("trainable parameters outside nn.Linear layers are not supported: " + ", ".join(outside))
    return layers


def _pow_values(values, p, what):
    """geodesic's powerOfEigenvalues: clamp rounding-noise negatives to 0, refuse real negatives."""
    if p == 1:
        return values
    tol = 64 * values.numel() * _EPS * float(values.abs().max()) if values.numel() else 0.0
    v = torch.where((values < 0) & (-values <= tol), torch.zeros_like(values), values)
    if float(p) != int(p) and bool((v < 0).any()):
        raise CurvatureSolveError("%s: negative eigenvalue %.3e; the fractional power %s is undefined" % (what, float(v.min()), p))
    if p < 0 and bool((v.abs() <= tol).any()):
        raise CurvatureSolveError("%s: a numerically zero eigenvalue; the power %s is undefined" % (what, p))
    return v ** p


# -------------------------------------- optimizer --------------------------------------------

class GeodesicOptimizer:
    """One exported geodesic spec. step(x, y) runs a whole step and returns the loss before it."""

    def __init__(self, model, loss_fn, config):
        self.model = model
        ddp = getattr(nn.parallel, "DistributedDataParallel", None)
        self.ddp = ddp is not None and isinstance(model, ddp)
        self.module = model.module if self.ddp else model
        self.loss_fn = loss_fn
        self.cfg = config
        self.comm = _Comm()
        self.work = {"decompositions": 0, "cost": 0.0}
        self.jobs = _Jobs(self.comm, self.work)
        self.layers = _dense_layers(self.module)
        self.params = [p for m in self.layers for p in (m.weight, m.bias)]
        name = getattr(loss_fn, "likelihood", None)
        if config["needs_likelihood"] and name not in LOSSES:
            raise ValueError(
                "this spec needs the model's likelihood (Fisher/GGN statistics or products): pass one of "
                "categorical_nll, gaussian_nll, bernoulli_nll from this module as loss_fn, or any function "
                "with a .likelihood attribute naming one of them")
        self.likelihood = _Likelihood(name) if name in LOSSES else None
        self.estimates = _estimate_nodes(config["curvature"])
        seed = int(torch.initial_seed()) % (2 ** 31)
        self.last = {}
        self._s = {
            "t": 0,
            "failures": 0,
            "lr_scale": 1.0,
            "damping": {"lambda": config["damping"].get("initial", 0.0), "boost": 1.0},
            "gradient": [self._init_gradient_state(g) for g in config["gradient"]],
            "estimates": {k: {"est": None, "t": 0} for k in self.estimates},
            "op": None,
            "factored": None,
            "velocity": [torch.zeros_like(p) for p in self.params] if config["momentum"]["kind"] in ("heavy_ball", "nesterov") else None,
            "previous": None,
            "average": _clone(self.params) if config["averaging"]["kind"] == "ema" else None,
            "average_count": 0,
            "seed": self.comm.broadcast_int(seed),
        }

    # ------------------------------------------------------------------ state
    def state_dict(self):
        """Every piece of optimizer state (tensors cloned)."""
        return copy.deepcopy({"geodesic_optimizer": self.cfg["name"], "state": self._s})

    def load_state_dict(self, state):
        if state.get("geodesic_optimizer") != self.cfg["name"]:
            raise ValueError("state of optimizer %r, not %r" % (state.get("geodesic_optimizer"), self.cfg["name"]))
        s = copy.deepcopy(state["state"])
        ref = self.params[0]

        def move(x):
            if isinstance(x, torch.Tensor):
                return x.to(device=ref.device, dtype=ref.dtype) if x.is_floating_point() else x.to(ref.device)
            if isinstance(x, dict):
                return {k: move(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return type(x)(move(v) for v in x)
            return x

        self._s = move(s)

    def evaluation_parameters(self):
        """The parameters to evaluate: the average when the spec averages, else the iterate (copies)."""
        avg = self._s["average"]
        return _clone(avg if avg is not None else self.params)

    def _init_gradient_state(self, g):
        if g["kind"] == "ema":
            return {"m": [torch.zeros_like(p) for p in self.params], "power": g["decay"]}
        return None

    # ------------------------------------------------------------------ passes
    def _forward(self, x, capture):
        acts = [None] * len(self.layers)
        handles = []
        if capture:
            def hook_for(i):
                def hook(mod, inp, out):
                    if acts[i] is not None:
                        raise ValueError("an nn.Linear layer is applied twice in one forward pass; K-FAC statistics need each layer once")
                    acts[i] = (inp[0], out)
                return hook
            handles = [m.register_forward_hook(hook_for(i)) for i, m in enumerate(self.layers)]
        try:
            out = self.model(x)
        finally:
            for h in handles:
                h.remove()
        return out, acts

    def _loss_at(self, x, y):
        """Mean loss over the global batch at the current parameters (no graph)."""
        with torch.no_grad():
            loss = float(self.loss_fn(self.module(x), y))
        return self.comm.mean_scalars([loss], self.params[0])[0]

    def _fisher_dots(self, x, pairs):
        """uᵀFv for (u, v) pairs, F the exact GGN (= Fisher here) on the global batch."""
        with torch.enable_grad():
            out = self.module(x)
            n = out.shape[0]
            u = torch.zeros_like(out, requires_grad=True)
            ju = torch.autograd.grad(out, self.params, u, create_graph=True)
            products = {}
            for _, v in pairs:
                if id(v) in products:
                    continue
                jv = torch.autograd.grad(ju, u, v, retain_graph=True)[0]
                hjv = self.likelihood.hessian_vp(out.detach(), jv) / n
                products[id(v)] = torch.autograd.grad(out, self.params, hjv, retain_graph=True)
        local = [_dot(a, products[id(b)]) for a, b in pairs]
        return self.comm.mean_scalars(local, self.params[0])

    # ------------------------------------------------------------------ statistics
    def _columns(self, atom, out, loss, t):
        """Per-example output cotangents (columns) and the weight w of the atom's sample set."""
        n = out.shape[0]
        f = out.detach()
        name = atom["name"]
        if name == "empirical_fisher":
            return [torch.autograd.grad(loss * n, out, retain_graph=True)[0]], 1.0 / n
        if name in ("ggn", "fisher") and atom.get("sampled", 0) == 0:
            return self.likelihood.hessian_sqrt_columns(f), 1.0 / n
        k = atom["sampled"]
        cols = []
        for i in range(k):
            # Noise drawn for the global batch, this rank's rows taken: the draws do not depend on
            # the world size (ranks hold consecutive equal shards of each global batch).
            gen = torch.Generator()
            gen.manual_seed((self._s["seed"] * 1000003 + t * 7919 + i) % (2 ** 62))
            u = self.likelihood.noise(gen, n * self.comm.world, f.shape[1], f.dtype)[self.comm.rank * n:(self.comm.rank + 1) * n]
            cols.append(self.likelihood.output_gradient(f, self.likelihood.sample(f, u.to(f.device))))
        return cols, 1.0 / (k * n)

    def _layer_grads(self, out, acts, cols):
        zs = [z for _, z in acts]
        return [[g.detach() for g in torch.autograd.grad(out, zs, c, retain_graph=True)] for c in cols]

    def _inputs(self, acts, bias):
        xs = []
        for a, _ in acts:
            a = a.detach()
            xs.append(torch.cat([a, a.new_ones(a.shape[0], 1)], 1) if bias == "homogeneous" else a)
        return xs

    def _fresh(self, node, ctx, state):
        """This step's estimate of one structure(atom), all-reduced over the ranks."""
        structure, atom = node["structure"], node["atom"]
        if atom["name"] == "outer":
            return {"d": [g * g for g in ctx["before_ema"]]}
        cols, w = ctx["samples"](atom)
        grads = ctx["layer_grads"](atom)
        if structure == "diag":
            d = []
            for l, (a, _) in enumerate(ctx["acts"]):
                a2 = a.detach() ** 2
                gw = sum((grads[c][l] ** 2).t() @ a2 for c in range(len(cols)))
                gb = sum((grads[c][l] ** 2).sum(0) for c in range(len(cols)))
                d += [gw * w, gb * w]
            return {"d": self.comm.mean(d)}
        xs = self._inputs(ctx["acts"], node["bias"])
        n = xs[0].shape[0]
        A = [x.t() @ x / n for x in xs]
        G = [sum(grads[c][l].t() @ grads[c][l] for c in range(len(cols))) * w for l in range(len(xs))]
        red = self.comm.mean(A + G)
        A, G = red[:len(xs)], red[len(xs):]
        if structure == "kfac":
            return {"A": A, "G": G}
        prev = state["est"]
        if prev is not None:
            QA, QG = prev["QA"], prev["QG"]
        else:
            eig = self.jobs.run([("eigh", M) for M in A + G])
            QA = [e[1] for e in eig[:len(A)]]
            QG = [e[1] for e in eig[len(A):]]
        S, Sb = [], []
        for l, x in enumerate(xs):
            aq2 = (x @ QA[l]) ** 2
            gq2 = sum((grads[c][l] @ QG[l]) ** 2 for c in range(len(cols)))
            S.append(aq2.t() @ gq2 * w)
            Sb.append(gq2.sum(0) * w)
        red = self.comm.mean(S + (Sb if node["bias"] == "separate" else []))
        S = red[:len(xs)]
        Sb = red[len(xs):] if node["bias"] == "separate" else [s.new_zeros(0) for s in S]
        return {"A": A, "G": G, "QA": QA, "QG": QG, "S": S, "Sb": Sb}

    def _update_estimates(self, ctx):
        for key, node in self.estimates.items():
            st = self._s["estimates"][key]
            e = self._fresh(node, ctx, st)
            avg = node["average"]
            if avg is None:
                st["est"] = e
            elif avg["kind"] == "ema":
                d = avg["decay"]
                st["est"] = _lin(e, 1 - d, None, 0) if st["est"] is None else _lin(st["est"], d, e, 1 - d)
                st["t"] += 1
            else:
                st["est"] = _add_init(e, avg["init"]) if st["est"] is None else _lin(st["est"], 1.0, e, 1.0)

    def _refresh_estimates(self):
        """EKFAC under a running average: new eigenbases of the averaged factors, S expressed in them."""
        for key, node in self.estimates.items():
            st = self._s["estimates"][key]
            e = st["est"]
            if node["structure"] != "ekfac" or node["average"] is None or e is None:
                continue
            L = len(e["A"])
            eig = self.jobs.run([("eigh", M) for M in e["A"] + e["G"]])
            QA = [r[1] for r in eig[:L]]
            QG = [r[1] for r in eig[L:]]
            S, Sb = [], []
            for l in range(L):
                PA = (QA[l].t() @ e["QA"][l]) ** 2
                PG = (QG[l].t() @ e["QG"][l]) ** 2
                S.append(PA @ e["S"][l] @ PG.t())
                Sb.append(PG @ e["Sb"][l] if e["Sb"][l].numel() else e["Sb"][l])
            st["est"] = dict(e, QA=QA, QG=QG, S=S, Sb=Sb)

    def _view(self, key):
        """An estimate as the operator sees it (EMA debiased when asked)."""
        node = self.estimates[key]
        st = self._s["estimates"][key]
        if st["est"] is None:
            raise CurvatureSolveError("no curvature estimate yet")
        avg = node["average"]
        if avg is not None and avg["kind"] == "ema" and avg["debias"]:
            return _lin(st["est"], 1.0 / (1 - avg["decay"] ** st["t"]), None, 0)
        return st["est"]

    # ------------------------------------------------------------------ operators
    def _build(self, lam):
        """The preconditioner at a refresh: a diagonal, a multiple of I, or Kronecker eigenbases."""
        node = self.cfg["curvature"]
        if self.cfg["family"] == "diag":
            return {"kind": "diag", "value": self._diag_value(node)}
        leaf = node
        while leaf["op"] in ("scale", "power"):
            leaf = leaf["of"]
        c, p = _kron_scale_power(node)
        e = self._view(leaf["id"])
        bias = leaf["bias"]
        L = len(e["A"])
        if leaf["structure"] == "ekfac":
            pw = (lambda s: s) if p == 1 else (lambda s: torch.clamp(s, min=0) ** p)
            return {"kind": "ekfac", "bias": bias, "QA": e["QA"], "QG": e["QG"],
                    "S": [c * pw(s) for s in e["S"]], "Sb": [c * pw(s) for s in e["Sb"]]}
        factored = self.cfg["damping"]["kind"] == "factored"
        if factored and p == 1:
            return {"kind": "kfac_factored", "bias": bias, "c": c, "A": e["A"], "G": e["G"]}
        eig = self.jobs.run([("eigh", M) for M in e["A"] + e["G"]])
        sA = [_pow_values(r[0], p, "kfac factor A") for r in eig[:L]]
        sG = [_pow_values(r[0], p, "kfac factor G") for r in eig[L:]]
        QA = [r[1] for r in eig[:L]]
        QG = [r[1] for r in eig[L:]]
        if factored:  # powered factors, then the factored inverses of those
            return {"kind": "kfac_factored", "bias": bias, "c": c,
                    "A": [Q @ torch.diag(s) @ Q.t() for Q, s in zip(QA, sA)],
                    "G": [Q @ torch.diag(s) @ Q.t() for Q, s in zip(QG, sG)]}
        return {"kind": "kfac", "bias": bias, "c": c, "sA": sA, "QA": QA, "sG": sG, "QG": QG}

    def _diag_value(self, node):
        """Evaluates the diagonal family: ('scalar', s) or ('diag', tensors, non_negative)."""
        op = node["op"]
        if op == "identity":
            return ("scalar", 1.0)
        if op == "estimate":
            return ("diag", [t.clone() for t in self._view(node["id"])["d"]], True)
        if op == "scale":
            v = self._diag_value(node["of"])
            c = node["factor"]
            return ("scalar", c * v[1]) if v[0] == "scalar" else ("diag", [c * t for t in v[1]], v[2] and c >= 0)
        if op == "power":
            v = self._diag_value(node["of"])
            p = node["p"]
            if v[0] == "scalar":
                return ("scalar", v[1] ** p)
            if float(p) != int(p) and not v[2] and min(float(t.min()) for t in v[1]) < 0:
                raise CurvatureSolveError("a negative diagonal entry; the fractional power %s is undefined" % p)
            if p < 0 and min(float(t.abs().min()) for t in v[1]) == 0:
                raise CurvatureSolveError("a zero diagonal entry; the power %s is undefined" % p)
            return ("diag", [torch.sqrt(t) if p == 0.5 else t ** p for t in v[1]], v[2] or p % 2 == 0)
        # sum: diagonals add, multiples of the identity shift
        shift, diags, nonneg = 0.0, [], True
        for term in node["terms"]:
            v = self._diag_value(term)
            if v[0] == "scalar":
                shift += v[1]
            else:
                diags.append(v[1])
                nonneg = nonneg and v[2]
        if not diags:
            return ("scalar", shift)
        acc = [sum(ts) for ts in zip(*diags)]
        return ("diag", [t + shift for t in acc] if shift != 0 else acc, nonneg)

    def _solve(self, op, g, lam):
        kind = op["kind"]
        if kind == "diag":
            v = op["value"]
            if v[0] == "scalar":
                if not v[1] + lam > 0:
                    raise CurvatureSolveError("%s·identity + λI is singular (λ = %s)" % (v[1], lam))
                return [gi / (v[1] + lam) for gi in g]
            if not (v[2] and lam > 0):
                low = min(float(t.min()) for t in v[1])
                if not low + lam > 0:
                    raise CurvatureSolveError("diagonal + λI is singular or indefinite (smallest entry %s, λ = %s)" % (low, lam))
            return [gi / (d + lam) for gi, d in zip(g, v[1])]
        out = []
        for l in range(len(self.layers)):
            W, b = g[2 * l].t(), g[2 * l + 1]  # geodesic's [in, out] layout
            if op["bias"] == "homogeneous":
                X = self._solve_block(op, l, torch.cat([W, b[None, :]], 0), lam, False)
                out += [X[:-1].t(), X[-1]]
            else:
                out += [self._solve_block(op, l, W, lam, False).t(), self._solve_block(op, l, b[None, :], lam, True)[0]]
        return out

    def _solve_block(self, op, l, V, lam, bias_block):
        kind = op["kind"]
        if kind == "kfac":
            c, sG, QG = op["c"], op["sG"][l], op["QG"][l]
            if bias_block:  # kron([1], G)
                grid = c * sG[None, :] + lam
                self._check_grid(grid, lam)
                return ((V @ QG) / grid) @ QG.t()
            sA, QA = op["sA"][l], op["QA"][l]
            grid = c * torch.outer(sA, sG) + lam
            self._check_grid(grid, lam)
            return QA @ ((QA.t() @ V @ QG) / grid) @ QG.t()
        if kind == "ekfac":
            QG = op["QG"][l]
            if bias_block:
                grid = op["Sb"][l][None, :] + lam
                if not float(grid.min()) > 0:
                    raise CurvatureSolveError("ekfac + λI is singular (λ = %s); add damping" % lam)
                return ((V @ QG) / grid) @ QG.t()
            grid = op["S"][l] + lam
            if not float(grid.min()) > 0:
                raise CurvatureSolveError("ekfac + λI is singular (λ = %s); add damping" % lam)
            QA = op["QA"][l]
            return QA @ ((QA.t() @ V @ QG) / grid) @ QG.t()
        inv = self._factored_inverses(op, lam)
        left, right = inv[l]["b" if bias_block else "W"]
        return (left @ V @ right) / op["c"]

    @staticmethod
    def _check_grid(grid, lam):
        low = float(grid.min())
        high = float(grid.abs().max())
        if not low > 64 * grid.numel() * _EPS * high:
            raise CurvatureSolveError("the damped Kronecker system is not positive definite (smallest eigenvalue %.3e with λ = %s); increase damping" % (low, lam))
        return True

    def _factored_inverses(self, op, lam):
        """(A + π√λ' I)⁻¹ and (G + √λ'/π I)⁻¹ per block, λ' = λ/c, cached per λ (Martens & Grosse §6.3)."""
        cached = self._s["factored"]
        if cached is not None and cached["lambda"] == lam:
            return cached["layers"]
        r = math.sqrt(lam / op["c"])
        jobs, shifts = [], []
        for l, (A, G) in enumerate(zip(op["A"], op["G"])):
            blocks = [("W", A)] + ([("b", A.new_ones(1, 1))] if op["bias"] == "separate" else [])
            mean_g = float(torch.trace(G)) / G.shape[0]
            for name, F in blocks:
                mean_a = float(torch.trace(F)) / F.shape[0]
                if not (mean_a > 0 and mean_g > 0):
                    raise CurvatureSolveError("factored damping needs positive factor traces (layer %d)" % l)
                pi = math.sqrt(mean_a / mean_g)
                eye_a = torch.eye(F.shape[0], dtype=F.dtype, device=F.device)
                eye_g = torch.eye(G.shape[0], dtype=G.dtype, device=G.device)
                jobs += [("inv", F + pi * r * eye_a), ("inv", G + r / pi * eye_g)]
                shifts.append((l, name))
        res = self.jobs.run(jobs)
        if any(x is None for x in res):
            raise CurvatureSolveError("factored damping: a damped Kronecker factor is not positive definite")
        layers = [{} for _ in op["A"]]
        for k, (l, name) in enumerate(shifts):
            layers[l][name] = (res[2 * k], res[2 * k + 1])
        self._s["factored"] = {"lambda": lam, "layers": layers}
        return layers

    # ------------------------------------------------------------------ the step
    def _lambda(self, t):
        d, s = self.cfg["damping"], self._s["damping"]
        if d["kind"] == "none":
            return 0.0
        if d["kind"] == "levenberg_marquardt":
            return s["lambda"]
        return _schedule(d["lambda"], t) * s["boost"]

    def _reject(self, t, loss, reason):
        s = self._s
        s["t"] = t + 1
        s["failures"] += 1
        d = self.cfg["damping"]
        if d["kind"] == "none":
            s["lr_scale"] /= 2
        elif d["kind"] == "levenberg_marquardt":
            s["damping"]["lambda"] = max(s["damping"]["lambda"], 1e-8) * 10
        else:
            s["damping"]["boost"] *= 10
        self.last = {"step": t, "loss": loss, "accepted": False, "reason": reason, "failures": s["failures"]}
        if s["failures"] > self.cfg["max_failures"]:
            raise FloatingPointError("step %d: %s; %d consecutive rejected steps (max_failures %d): stop" % (t, reason, s["failures"], self.cfg["max_failures"]))
        return loss

    def step(self, x, y):
        """One whole step on the batch (x, y); returns the loss before the step (global batch mean)."""
        cfg, s = self.cfg, self._s
        t = s["t"]
        estimate_now = self.estimates and t % cfg["estimate_every"] == 0
        capture = estimate_now and cfg["layer_statistics"]
        for p in self.params:
            p.grad = None
        out, acts = self._forward(x, capture)
        loss_t = self.loss_fn(out, y)
        samples, layer_grads = {}, {}
        if capture:
            # statistics first, on this forward's graph; then the gradient (averaged by DDP)
            for node in self.estimates.values():
                atom = node["atom"]
                key = repr(sorted(atom.items()))
                if atom["name"] != "outer" and key not in samples:
                    cols, w = self._columns(atom, out, loss_t, t)
                    samples[key] = (cols, w)
                    layer_grads[key] = self._layer_grads(out, acts, cols)
        loss_t.backward()
        g = []
        for p in self.params:
            g.append(p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p))
            p.grad = None
        if self.comm.world > 1 and not self.ddp:
            g = self.comm.mean(g)
        loss = self.comm.mean_scalars([float(loss_t.detach())], self.params[0])[0]
        grad_norm = math.sqrt(_dot(g, g))
        lam = self._lambda(t)
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            return self._reject(t, loss, "non-finite " + ("gradient" if math.isfinite(loss) else "loss"))
        # gradient transforms, in the order written
        gt, before_ema = g, None
        for i, tr in enumerate(cfg["gradient"]):
            if tr["kind"] == "weight_decay":
                wd = _schedule(tr["lambda"], t)
                gt = [gi + wd * p.detach() for gi, p in zip(gt, self.params)]
            elif tr["kind"] == "clip":
                norm = math.sqrt(_dot(gt, gt))
                if norm > tr["norm"]:
                    gt = [gi * (tr["norm"] / norm) for gi in gt]
            else:
                st = s["gradient"][i]
                if before_ema is None:
                    before_ema = gt
                st["m"] = [m * tr["decay"] + gi * (1 - tr["decay"]) for m, gi in zip(st["m"], gt)]
                gt = [m / (1 - st["power"]) for m in st["m"]] if tr["debias"] else [m.clone() for m in st["m"]]
                st["power"] *= tr["decay"]
        if before_ema is None:
            before_ema = gt
        # curvature: estimate (every n), refresh (every m), d = (C + λI)⁻¹ g̃
        if cfg["curvature"] is not None:
            try:
                if estimate_now:
                    ctx = {"acts": acts, "before_ema": before_ema,
                           "samples": lambda a: samples[repr(sorted(a.items()))],
                           "layer_grads": lambda a: layer_grads[repr(sorted(a.items()))]}
                    self._update_estimates(ctx)
                if t % cfg["refresh_every"] == 0:
                    self._refresh_estimates()
                if t % cfg["refresh_every"] == 0 or s["op"] is None:
                    s["op"] = self._build(lam)
                    s["factored"] = None
                d = self._solve(s["op"], gt, lam)
            except (CurvatureSolveError, RuntimeError) as err:
                return self._reject(t, loss, "curvature solve failed: %s" % err)
        else:
            d = gt
        del out, acts, loss_t, samples, layer_grads
        # momentum → direction p
        mom = cfg["momentum"]
        alpha = mu = None
        known = {}
        new_velocity = None
        if mom["kind"] == "heavy_ball" or mom["kind"] == "nesterov":
            mu = _schedule(mom["mu"], t)
            new_velocity = [v * mu + di for v, di in zip(s["velocity"], d)]
            p = new_velocity if mom["kind"] == "heavy_ball" else [di + v * mu for di, v in zip(d, new_velocity)]
        elif mom["kind"] == "quadratic_model":
            p, alpha, mu, known = self._quadratic_momentum(x, d, s["previous"], g, lam)
        else:
            p = d
        stats = _Stats(self, x, p, g, known)
        scale, lr, kl = self._step_scale(x, y, t, lam, loss, stats, p)
        # Δ = −s·p
        step_norm = abs(scale) * math.sqrt(stats.pp())
        if not math.isfinite(step_norm):
            return self._reject(t, loss, "non-finite step")
        with torch.no_grad():
            for th, pi in zip(self.params, p):
                th.add_(pi, alpha=-scale)
        rho = None
        dmp = cfg["damping"]
        if dmp["kind"] == "levenberg_marquardt" and t % dmp["every"] == 0:
            pfp = stats.pFp()
            kl = 0.5 * scale * scale * pfp
            quadratic_change = kl - scale * stats.gp()
            loss_after = self._loss_at(x, y)
            rho = (loss_after - loss) / quadratic_change if quadratic_change != 0 else float("nan")
            lam_now = s["damping"]["lambda"]
            if not math.isfinite(rho):
                lam_now *= dmp["increase"]
            elif rho > dmp["upper"]:
                lam_now *= dmp["decrease"]
            elif rho < dmp["lower"]:
                lam_now *= dmp["increase"]
            s["damping"]["lambda"] = lam_now
        if mom["kind"] == "quadratic_model":
            s["previous"] = [pi * -scale for pi in p]
        if new_velocity is not None:
            s["velocity"] = new_velocity
        self._average(t)
        s["t"] = t + 1
        s["failures"] = 0
        self.last = {"step": t, "loss": loss, "grad_norm": grad_norm, "step_norm": step_norm, "damping": lam,
                     "lr": lr, "kl": kl, "rho": rho, "alpha": alpha, "mu": mu, "accepted": True}
        return loss

    def _quadratic_momentum(self, x, d, prev, g, lam):
        """(α, μ) minimizing ½Δᵀ(F + λI)Δ + gᵀΔ over Δ = α(−d) + μδ (Martens & Grosse 2015 §7)."""
        dd, gd = _dot(d, d), _dot(g, d)
        if prev is None:
            (dFd,) = self._fisher_dots(x, [(d, d)])
            return self._one_dimensional(d, lam, dFd, dd, gd)
        dFd, dFp, pFp = self._fisher_dots(x, [(d, d), (d, prev), (prev, prev)])
        dp, pp, gp = _dot(d, prev), _dot(prev, prev), _dot(g, prev)
        a11 = dFd + lam * dd
        a12 = -(dFp + lam * dp)
        a22 = pFp + lam * pp
        b1, b2 = -gd, gp
        det = a11 * a22 - a12 * a12
        if not (det > 1e-12 * abs(a11 * a22)) or not a11 > 0:
            return self._one_dimensional(d, lam, dFd, dd, gd)
        alpha = -(a22 * b1 - a12 * b2) / det
        mu = -(a11 * b2 - a12 * b1) / det
        p = [alpha * di - mu * qi for di, qi in zip(d, prev)]
        known = {"pFp": alpha * alpha * dFd - 2 * alpha * mu * dFp + mu * mu * pFp,
                 "pp": alpha * alpha * dd - 2 * alpha * mu * dp + mu * mu * pp,
                 "gp": alpha * gd - mu * gp}
        return p, alpha, mu, known

    @staticmethod
    def _one_dimensional(d, lam, dFd, dd, gd):
        denom = dFd + lam * dd
        alpha = gd / denom if denom > 0 else 0.0
        return [di * alpha for di in d], alpha, 0.0, {"pFp": alpha * alpha * dFd, "pp": alpha * alpha * dd, "gp": alpha * gd}

    def _step_scale(self, x, y, t, lam, loss, stats, p):
        st, lr_scale = self.cfg["step"], self._s["lr_scale"]
        k = st["kind"]
        if k == "lr":
            eta = _schedule(st["eta"], t) * lr_scale
            return eta, eta, None
        if k == "kl":
            pfp = stats.pFp()
            if not pfp > 0:
                return 0.0, None, 0.0
            sc = math.sqrt(2 * _schedule(st["epsilon"], t) / pfp) * lr_scale
            return sc, None, 0.5 * sc * sc * pfp
        if k == "kl_trust":
            eta = _schedule(st["eta"], t) * lr_scale
            pfp = stats.pFp()
            kl0 = 0.5 * eta * eta * pfp
            radius = _schedule(st["radius"], t)
            sc = eta * math.sqrt(radius / kl0) if kl0 > radius else eta
            return sc, eta, 0.5 * sc * sc * pfp
        if k == "quadratic_model":
            denom = stats.pFp() + lam * stats.pp()
            if not denom > 0:
                return 0.0, None, None
            return stats.gp() / denom * lr_scale, None, None
        # line_search (Armijo backtracking along Δ = −s p)
        slope = -stats.gp()
        trial = st["initial"] * lr_scale
        saved = _clone(self.params)
        try:
            for _ in range(st["max_iters"]):
                with torch.no_grad():
                    for th, th0, pi in zip(self.params, saved, p):
                        th.copy_(th0).add_(pi, alpha=-trial)
                val = self._loss_at(x, y)
                if math.isfinite(val) and val <= loss + st["c"] * trial * slope:
                    return trial, trial, None
                trial *= st["shrink"]
            return 0.0, 0.0, None
        finally:
            with torch.no_grad():
                for th, th0 in zip(self.params, saved):
                    th.copy_(th0)

    def _average(self, t):
        a, s = self.cfg["averaging"], self._s
        if a["kind"] == "ema":
            s["average"] = [m * a["decay"] + th.detach() * (1 - a["decay"]) for m, th in zip(s["average"], self.params)]
        elif a["kind"] == "polyak" and t + 1 >= a["from"]:
            k = s["average_count"] + 1
            if s["average"] is None:
                s["average"] = _clone(self.params)
            else:
                s["average"] = [m + (th.detach() - m) / k for m, th in zip(s["average"], self.params)]
            s["average_count"] = k


class _Stats:
    """pᵀFp, pᵀp, gᵀp computed at most once each (F products only when a rule asks)."""

    def __init__(self, opt, x, p, g, known):
        self.opt, self.x, self.p, self.g = opt, x, p, g
        self.v = dict(known)

    def pFp(self):
        if "pFp" not in self.v:
            self.v["pFp"] = self.opt._fisher_dots(self.x, [(self.p, self.p)])[0]
        return self.v["pFp"]

    def pp(self):
        if "pp" not in self.v:
            self.v["pp"] = _dot(self.p, self.p)
        return self.v["pp"]

    def gp(self):
        if "gp" not in self.v:
            self.v["gp"] = _dot(self.g, self.p)
        return self.v["gp"]


def _estimate_nodes(node):
    found = {}

    def walk(n):
        if n is None:
            return
        if n["op"] == "estimate":
            found[n["id"]] = n
        for key in ("of",):
            if key in n:
                walk(n[key])
        for term in n.get("terms", []):
            walk(term)

    walk(node)
    return found


def _kron_scale_power(node):
    """c·(K)^p for a chain of scales and powers around one Kronecker estimate ((c·K)^q = c^q K^q)."""
    if node["op"] == "estimate":
        return 1.0, 1.0
    c, p = _kron_scale_power(node["of"])
    if node["op"] == "scale":
        return node["factor"] * c, p
    return c ** node["p"], p * node["p"]


_LINEAR_KEYS = ("d", "A", "G", "S", "Sb")


def _lin(x, a, y, b):
    """a·x + b·y for estimates of one structure (ekfac keeps x's basis)."""
    out = dict(x)
    for k in _LINEAR_KEYS:
        if k in x:
            out[k] = [a * u + b * v for u, v in zip(x[k], y[k])] if y is not None else [a * u for u in x[k]]
    return out


def _add_init(x, init):
    """x + init·I: a diagonal starts at init, Kronecker factors at √init·I each."""
    if "d" in x:
        return {"d": [t + init for t in x["d"]]}
    r = math.sqrt(init)
    eye = lambda M: M + r * torch.eye(M.shape[0], dtype=M.dtype, device=M.device)
    return dict(x, A=[eye(M) for M in x["A"]], G=[eye(M) for M in x["G"]])


def make_optimizer(model, loss_fn, **overrides):
    """The exported optimizer for model (nn.Linear layers, optionally wrapped in DDP).

    loss_fn(outputs, targets) returns the batch-mean loss; specs with Fisher/GGN statistics or
    products need one of this module's categorical_nll / gaussian_nll / bernoulli_nll (or any
    function with a .likelihood attribute naming one). overrides replace numeric arguments of
    the spec by their names in HYPERPARAMETERS (they rename nothing and add nothing).
    """
    unknown = sorted(set(overrides) - set(HYPERPARAMETERS))
    if unknown:
        raise TypeError("unknown hyper-parameter(s) %s; this spec has: %s" % (", ".join(unknown), ", ".join(sorted(HYPERPARAMETERS)) or "none"))
    values = dict(HYPERPARAMETERS)
    for k, v in overrides.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise TypeError("%s must be a finite number, got %r" % (k, v))
        values[k] = float(v) if isinstance(HYPERPARAMETERS[k], float) else int(v)
    return GeodesicOptimizer(model, loss_fn, _config(values))
`;
