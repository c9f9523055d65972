#!/usr/bin/env python3
"""Golden values for nsas's tensor engine, computed by PyTorch (an independent implementation).

Writes Tests/NSASTensorTests/Golden/ops.json. Inputs are not random: element i of an input with
seed s is float32(sin(0.731 * i + 1.37 * s)) * scale, which the Swift test recomputes exactly.
Each case stores the output and the gradients of L = sum(out * R) for R built the same way.

Set-up (never a project dependency):
  python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch numpy
  /tmp/torch-venv/bin/python Tools/make-golden.py
"""
import json, math, os, sys
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)


def values(shape, seed, scale=1.0):
    n = math.prod(shape)
    v = [float(torch.tensor(math.sin(0.731 * i + 1.37 * seed), dtype=torch.float32)) * scale for i in range(n)]
    return torch.tensor(v, dtype=torch.float32).reshape(shape)


def case(name, inputs, fn, params=None, r_seed=100):
    ts = {k: values(shape, seed, scale).requires_grad_(True) for k, (shape, seed, scale) in inputs.items()}
    out = fn(**ts)
    r = values(list(out.shape), r_seed)
    (out * r).sum().backward()
    return {
        "name": name,
        "params": params or {},
        "inputs": {k: {"shape": list(shape), "seed": seed, "scale": scale} for k, (shape, seed, scale) in inputs.items()},
        "r_seed": r_seed,
        "out_shape": list(out.shape),
        "out": [float(x) for x in out.detach().reshape(-1)],
        "grads": {k: [float(x) for x in t.grad.reshape(-1)] for k, t in ts.items()},
    }


cases = [
    case("conv2d_s2_p1", {"x": ([2, 3, 7, 7], 1, 1.0), "w": ([4, 3, 3, 3], 2, 0.5)},
         lambda x, w: F.conv2d(x, w, stride=2, padding=1)),
    case("dil_conv_5x5_depthwise", {"x": ([2, 3, 9, 9], 3, 1.0), "w": ([3, 1, 5, 5], 4, 0.5)},
         lambda x, w: F.conv2d(x, w, stride=1, padding=4, dilation=2, groups=3)),
    case("sep_conv_3x3_s2", {"x": ([2, 4, 8, 8], 5, 1.0), "dw": ([4, 1, 3, 3], 6, 0.5), "pw": ([6, 4, 1, 1], 7, 0.5)},
         lambda x, dw, pw: F.conv2d(F.conv2d(F.relu(x), dw, stride=2, padding=1, groups=4), pw)),
    case("max_pool_3x3_s2", {"x": ([2, 3, 7, 7], 8, 1.0)},
         lambda x: F.max_pool2d(x, 3, stride=2, padding=1)),
    case("avg_pool_3x3_s1_exclude_pad", {"x": ([2, 3, 6, 6], 9, 1.0)},
         lambda x: F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)),
    case("batch_norm_train_affine", {"x": ([4, 3, 5, 5], 10, 2.0), "g": ([3], 11, 1.0), "b": ([3], 12, 1.0)},
         lambda x, g, b: F.batch_norm(x, torch.zeros(3), torch.ones(3), g, b, training=True, momentum=0.1, eps=1e-5)),
    case("batch_norm_train_plain", {"x": ([4, 3, 5, 5], 13, 2.0)},
         lambda x: F.batch_norm(x, torch.zeros(3), torch.ones(3), None, None, training=True, momentum=0.1, eps=1e-5)),
    case("linear", {"x": ([5, 7], 14, 1.0), "w": ([3, 7], 15, 0.5), "b": ([3], 16, 1.0)},
         lambda x, w, b: F.linear(x, w, b)),
    case("cross_entropy", {"x": ([4, 5], 17, 2.0)},
         lambda x: F.cross_entropy(x, torch.tensor([0, 3, 4, 1])).reshape(1), {"labels": [0, 3, 4, 1]}),
    case("softmax", {"x": ([3, 4], 18, 2.0)}, lambda x: F.softmax(x, dim=-1)),
    case("activations", {"x": ([3, 8], 19, 3.0)}, lambda x: torch.tanh(x) * torch.sigmoid(x) + F.relu(x)),
    case("embedding", {"t": ([6, 4], 20, 1.0)}, lambda t: F.embedding(torch.tensor([5, 0, 5, 2]), t),
         {"ids": [5, 0, 5, 2]}),
    case("factorized_reduce", {"x": ([2, 4, 6, 6], 21, 1.0), "w1": ([3, 4, 1, 1], 22, 0.5), "w2": ([3, 4, 1, 1], 23, 0.5)},
         lambda x, w1, w2: torch.cat([F.conv2d(F.relu(x), w1, stride=2), F.conv2d(F.relu(x)[:, :, 1:, 1:], w2, stride=2)], dim=1)),
    case("global_avg_pool", {"x": ([2, 3, 4, 4], 24, 1.0)}, lambda x: F.adaptive_avg_pool2d(x, 1).reshape(2, 3)),
]

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "NSASTensorTests", "Golden", "ops.json")
with open(out, "w") as f:
    json.dump({"generator": "Tools/make-golden.py", "torch": torch.__version__, "cases": cases}, f, indent=1)
print(f"wrote {len(cases)} cases to {os.path.normpath(out)} (torch {torch.__version__})")
