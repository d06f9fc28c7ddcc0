"""Golden-trajectory runner for test/export/golden.test.ts (float64 PyTorch).

Reads a JSON problem written by the test (model widths/activations/likelihood, initial parameters
in geodesic's [in, out] layout, the batches in order, and exported modules), runs every exported
optimizer for all batches from the same initial parameters, and prints a JSON object
{case: {"final": [...], "evaluation": [...], "losses": [...]}} with parameters back in geodesic's
layout (W [in, out], b).
"""
import importlib.util
import json
import sys

import torch
from torch import nn

torch.set_num_threads(1)
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "softplus": nn.Softplus}


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(problem):
    layers = []
    for layer in problem["layers"]:
        if layer["kind"] == "dense":
            layers.append(nn.Linear(layer["in"], layer["out"]))
        elif layer["fn"] != "identity":
            layers.append(ACTIVATIONS[layer["fn"]]())
    model = nn.Sequential(*layers).double()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for l, m in enumerate(linears):
            m.weight.copy_(torch.tensor(problem["init"][2 * l], dtype=torch.float64).t())
            m.bias.copy_(torch.tensor(problem["init"][2 * l + 1], dtype=torch.float64))
    return model, linears


def geodesic_layout(tensors):
    out = []
    for l in range(0, len(tensors), 2):
        out += [tensors[l].detach().t().tolist(), tensors[l + 1].detach().tolist()]
    return out


def main():
    problem = json.load(open(sys.argv[1]))
    batches = [(torch.tensor(b["x"], dtype=torch.float64), torch.tensor(b["y"], dtype=torch.float64)) for b in problem["batches"]]
    results = {}
    for case in problem["cases"]:
        module = load(case["module"], case["name"])
        model, linears = build(problem)
        opt = module.make_optimizer(model, module.LOSSES[problem["likelihood"]], **case.get("overrides", {}))
        losses = [opt.step(x, y) for x, y in batches]
        params = [p for m in linears for p in (m.weight, m.bias)]
        results[case["name"]] = {
            "final": geodesic_layout(params),
            "evaluation": geodesic_layout(opt.evaluation_parameters()),
            "losses": losses,
        }
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
