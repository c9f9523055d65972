#!/usr/bin/env python3
"""Peer figure for `nsas-bench rnn`: the same DARTS RNN single-path training step in PyTorch CPU.

Model: embedding 300 tied to the decoder (vocabulary 10,000), the DARTS recurrent cell with 8
nodes (W0: [x; h] -> [c0|h0], W_i per node: s_j -> [c|h], s_i = s_j + sigmoid(c) (f(h) - s_j),
output the mean of the nodes), variational dropout masks (x 0.75, h 0.25, input 0.2, output
0.75), batch 256, bptt 35, loss = cross-entropy + 1e-3 * TAR, clip 0.25, SGD lr 20. Each step
samples a genotype uniformly (a node reads one earlier state with one of tanh, relu, sigmoid,
identity), like the Swift side.

Set-up (never a project dependency):
  python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install --find-links /opt/wheels torch
Usage: python torch_rnn_step.py --threads 2 [--steps 10 --warmup 2 --batch 256 --bptt 35 --hidden 300]
Prints one JSON line: median/min/max seconds per training step and tokens per second.
"""
import argparse, json, random, statistics, time
import torch
import torch.nn.functional as F

ACT = {'tanh': torch.tanh, 'relu': torch.relu, 'sigmoid': torch.sigmoid, 'identity': lambda x: x}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--batch', type=int, default=256)
    ap.add_argument('--bptt', type=int, default=35)
    ap.add_argument('--hidden', type=int, default=300)
    ap.add_argument('--vocabulary', type=int, default=10000)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0); random.seed(0)
    H, V, B, T, N = a.hidden, a.vocabulary, a.batch, a.bptt, 8
    emb = torch.empty(V, H).uniform_(-0.1, 0.1).requires_grad_()
    bias = torch.zeros(V, requires_grad=True)
    w0 = torch.empty(2 * H, 2 * H).uniform_(-0.04, 0.04).requires_grad_()
    ws = [torch.empty(H, 2 * H).uniform_(-0.04, 0.04).requires_grad_() for _ in range(N)]
    params = [emb, bias, w0] + ws
    opt = torch.optim.SGD(params, lr=20, weight_decay=5e-7)
    tokens = torch.randint(V, (T, B)); targets = torch.randint(V, (T, B))
    h = torch.zeros(B, H)

    def mask(p, *shape):
        return torch.empty(*shape).bernoulli_(1 - p) / (1 - p)

    times = []
    for k in range(a.warmup + a.steps):
        g = [(random.choice(list(ACT)), random.randint(0, i)) for i in range(N)]
        t0 = time.perf_counter()
        xm, hm, im, om = mask(0.75, B, H), mask(0.25, B, H), mask(0.2, B, H), mask(0.75, B, H)
        x = F.embedding(tokens, emb) * im
        outs = []
        for t in range(T):
            c0, h0 = torch.split(torch.cat([x[t] * xm, h * hm], -1) @ w0, H, -1)
            s0 = h + torch.sigmoid(c0) * (torch.tanh(h0) - h)
            states = [s0]
            for i, (op, j) in enumerate(g):
                sp = states[j]
                c, hh = torch.split((sp * hm) @ ws[i], H, -1)
                states.append(sp + torch.sigmoid(c) * (ACT[op](hh) - sp))
            h = torch.stack(states[1:], -1).mean(-1)
            outs.append(h)
        raw = torch.stack(outs)
        logits = (raw * om).view(-1, H) @ emb.t() + bias
        loss = F.cross_entropy(logits, targets.view(-1)) + 1e-3 * (raw[1:] - raw[:-1]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.25)
        opt.step()
        h = h.detach()
        dt = time.perf_counter() - t0
        if k >= a.warmup:
            times.append(dt)
    med = statistics.median(times)
    print(json.dumps({"torch": torch.__version__, "threads": a.threads,
                      "train_step_s": {"median": med, "min": min(times), "max": max(times)},
                      "tokens_per_s": B * T / med}))


if __name__ == '__main__':
    main()
