#!/usr/bin/env python3
"""Peer figure for nsas's supernet-step benchmark: the same DARTS single-path step in PyTorch CPU.

Supernet: 8 cells, C=16, 4 nodes, reductions at cells 2 and 5, stem conv3x3 3->48 + BN,
ReLUConvBN 1x1 preprocessing (FactorizedReduce after a reduction), GAP + Linear to 10 classes,
BN without affine as in the DARTS search network. Each step trains the path of the next
genotype from archs.txt (the same list the Swift benchmark reads), so both run the same work.

nsas carries this peer in Tools/bench/ with the architecture list archs.txt beside it; it also
prints the process's peak resident memory (peak_rss_mb) for nsas-bench's memory comparison.

Set-up (never a project dependency), either of:
  python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install --find-links /opt/wheels torch
      (this machine image ships a CPU wheel of torch 2.13 in /opt/wheels)
  apt-get install -y python3-torch   (Debian's torch 1.13, CPU; run with /usr/bin/python3)
Usage: python torch_darts_step.py --threads 2 [--steps 20 --warmup 3 --batch 64 --infer-batch 256]
Prints one JSON line: median/min/max seconds per training step and per inference batch.
"""
import argparse, json, random, resource, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

PRIMITIVES = ['max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3',
              'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5']


class ReLUConvBN(nn.Module):
    def __init__(self, C_in, C_out, k, stride, pad, affine=True):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False),
                                nn.Conv2d(C_in, C_out, k, stride, pad, bias=False),
                                nn.BatchNorm2d(C_out, affine=affine))

    def forward(self, x):
        return self.op(x)


class DilConv(nn.Module):
    def __init__(self, C_in, C_out, k, stride, pad, dil, affine=True):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False),
                                nn.Conv2d(C_in, C_in, k, stride, pad, dilation=dil, groups=C_in, bias=False),
                                nn.Conv2d(C_in, C_out, 1, bias=False),
                                nn.BatchNorm2d(C_out, affine=affine))

    def forward(self, x):
        return self.op(x)


class SepConv(nn.Module):
    def __init__(self, C_in, C_out, k, stride, pad, affine=True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, k, stride, pad, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_in, 1, bias=False),
            nn.BatchNorm2d(C_in, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, k, 1, pad, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine))

    def forward(self, x):
        return self.op(x)


class FactorizedReduce(nn.Module):
    def __init__(self, C_in, C_out, affine=True):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x):
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def make_op(name, C, stride):
    aff = False  # search phase
    if name == 'max_pool_3x3':
        return nn.Sequential(nn.MaxPool2d(3, stride, 1), nn.BatchNorm2d(C, affine=False))
    if name == 'avg_pool_3x3':
        return nn.Sequential(nn.AvgPool2d(3, stride, 1, count_include_pad=False), nn.BatchNorm2d(C, affine=False))
    if name == 'skip_connect':
        return nn.Identity() if stride == 1 else FactorizedReduce(C, C, aff)
    if name == 'sep_conv_3x3':
        return SepConv(C, C, 3, stride, 1, aff)
    if name == 'sep_conv_5x5':
        return SepConv(C, C, 5, stride, 2, aff)
    if name == 'dil_conv_3x3':
        return DilConv(C, C, 3, stride, 2, 2, aff)
    if name == 'dil_conv_5x5':
        return DilConv(C, C, 5, stride, 4, 2, aff)
    raise ValueError(name)


class Cell(nn.Module):
    def __init__(self, steps, C_pp, C_p, C, reduction, reduction_prev):
        super().__init__()
        self.reduction = reduction
        self.steps = steps
        self.pre0 = FactorizedReduce(C_pp, C, False) if reduction_prev else ReLUConvBN(C_pp, C, 1, 1, 0, False)
        self.pre1 = ReLUConvBN(C_p, C, 1, 1, 0, False)
        # edges[i][j] : ModuleDict over ops for edge (state j -> node i)
        self.edges = nn.ModuleList()
        for i in range(steps):
            row = nn.ModuleList()
            for j in range(2 + i):
                stride = 2 if reduction and j < 2 else 1
                row.append(nn.ModuleDict({p: make_op(p, C, stride) for p in PRIMITIVES}))
            self.edges.append(row)

    def forward(self, s0, s1, genotype):
        # genotype: list of steps entries, each [(input_idx, op_name), (input_idx, op_name)]
        states = [self.pre0(s0), self.pre1(s1)]
        for i, node in enumerate(genotype):
            states.append(sum(self.edges[i][j][op](states[j]) for j, op in node))
        return torch.cat(states[2:], dim=1)


class Network(nn.Module):
    def __init__(self, C=16, num_classes=10, layers=8, steps=4, multiplier=4, stem_mult=3):
        super().__init__()
        C_curr = stem_mult * C
        self.stem = nn.Sequential(nn.Conv2d(3, C_curr, 3, padding=1, bias=False), nn.BatchNorm2d(C_curr))
        C_pp, C_p, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        red_prev = False
        for i in range(layers):
            red = i in (layers // 3, 2 * layers // 3)
            if red:
                C_curr *= 2
            cell = Cell(steps, C_pp, C_p, C_curr, red, red_prev)
            red_prev = red
            self.cells.append(cell)
            C_pp, C_p = C_p, multiplier * C_curr
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_p, num_classes)

    def forward(self, x, arch):
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, arch['reduce'] if cell.reduction else arch['normal'])
        return self.classifier(self.gap(s1).flatten(1))


def load_archs(path):
    """Each line: a DARTS Genotype(...) text. Returns dicts of per-node [(input, op), (input, op)]."""
    import ast, re
    archs = []
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        parts = dict(re.findall(r"(normal|reduce)=(\[[^\]]*\])", line))
        def nodes(pairs):
            pairs = ast.literal_eval(pairs)
            return [[(j, op) for op, j in pairs[2 * i:2 * i + 2]] for i in range(len(pairs) // 2)]
        archs.append({'normal': nodes(parts['normal']), 'reduce': nodes(parts['reduce'])})
    return archs


def count_macs(model, x, arch):
    """MACs of Conv2d + Linear in one forward pass of this path."""
    macs = [0]

    def conv_hook(m, inp, out):
        kh, kw = m.kernel_size
        macs[0] += out.numel() * (m.in_channels // m.groups) * kh * kw

    def lin_hook(m, inp, out):
        macs[0] += out.numel() * m.in_features

    hs = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hs.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hs.append(m.register_forward_hook(lin_hook))
    with torch.no_grad():
        model(x, arch)
    for h in hs:
        h.remove()
    return macs[0]


def peak_rss_mb():
    """This process's own peak resident memory: VmHWM (getrusage's ru_maxrss would include the
    parent's peak, which Linux carries across fork and exec)."""
    try:
        for line in open('/proc/self/status'):
            if line.startswith('VmHWM:'):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--infer-batch', type=int, default=256)
    ap.add_argument('--infer-reps', type=int, default=10)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--archs', default=__file__.rsplit('/', 1)[0] + '/archs.txt')
    ap.add_argument('--channels-last', action='store_true')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model = Network()
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.SGD(model.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    crit = nn.CrossEntropyLoss()
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch,))
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    pool = load_archs(args.archs)
    archs = [pool[k % len(pool)] for k in range(args.warmup + args.steps)]
    times, gflops_rate, macs_list = [], [], []
    model.train()
    for k, arch in enumerate(archs):
        if k >= args.warmup:
            macs = count_macs(model, x, arch)  # outside the timed region
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = crit(model(x, arch), y)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if k >= args.warmup:
            times.append(dt)
            macs_list.append(macs)
            gflops_rate.append(3 * 2 * macs / dt / 1e9)  # train step ~ 3x forward FLOPs

    # inference-only forward, batch 256 (ranking archs by val accuracy)
    xi = torch.randn(args.infer_batch, 3, 32, 32)
    if args.channels_last:
        xi = xi.contiguous(memory_format=torch.channels_last)
    model.eval()
    iarchs = [pool[k % len(pool)] for k in range(3 + args.infer_reps)]
    itimes, irate = [], []
    with torch.inference_mode():
        for k, arch in enumerate(iarchs):
            t0 = time.perf_counter()
            model(xi, arch)
            dt = time.perf_counter() - t0
            if k >= 3:
                itimes.append(dt)
    for arch, dt in zip(iarchs[3:], itimes):
        irate.append(2 * count_macs(model, xi, arch) / dt / 1e9)

    def stats(v):
        return {'median': round(statistics.median(v), 4), 'min': round(min(v), 4), 'max': round(max(v), 4)}

    out = {
        'torch': torch.__version__, 'threads': torch.get_num_threads(), 'batch': args.batch,
        'channels_last': args.channels_last, 'supernet_params': n_params,
        'train_step_s': stats(times),
        'train_fwd_MMACs_per_step': stats([m / 1e6 for m in macs_list]),
        'train_GFLOPs_per_step(3x2xMACs)': stats([6 * m / 1e9 for m in macs_list]),
        'train_achieved_GFLOP_per_s': stats(gflops_rate),
        'infer_batch': args.infer_batch, 'infer_fwd_s': stats(itimes),
        'infer_achieved_GFLOP_per_s': stats(irate),
        'peak_rss_mb': peak_rss_mb(),
    }
    print(json.dumps(out))


if __name__ == '__main__':
    main()
