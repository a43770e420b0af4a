#!/usr/bin/env python3
"""Time training steps of the two-task classifiers in PyTorch on the CPU, one JSON line each.

The models follow the reference implementation's way of running them: a static 36×36 input
repeated for T = 15 steps with the input layer (Linear or conv) recomputed at every step,
spikes from a `torch.autograd.Function` (forward x > θ, backward passes the gradient where
|x − θ| < w), rates = spike sum / T, then Linear(→50) and two task heads Linear(50→10), loss =
the sum of the two cross-entropies, Adam with L2 weight decay. Constants:

    LIF_fc     Linear 1296→512, LIF θ 0.3 w 0.5 decay 0.2          Adam 1e-4, wd 1e-5
    4LIF_fc    as LIF_fc with 2048 units                            Adam 1e-4, wd 1e-5
    HH_fc      Linear 1296→512 (init ×0.01), HH dt 0.01 θ 0.2 w 0.3 Adam 1e-4, wd 1e-5
    LIF_hh_fc  three Linear 1296→512 into LIF compartments, Linear(3→1) (weights abs) from
               their previous potentials into a fourth; θ 2 w 0.4 decay 0.5; 2048 features
    LIF_conv   conv 1→10 3×3, LIF, avgpool 2, conv 10→10, LIF, avgpool 2 (810 features)
               θ 0.3 w 0.5 decay 0.2                                Adam 3e-3, wd 3e-4

LIF: mem = mem·decay·(1 − s_prev) + I; s = spike(mem). HH (learning variant): v, n, m, h start
at 0; per-unit rates a_x, b_x = 0.01·U(0,1), fixed; v ← v + dt·(I − INa − IK − IL) with
INa = 120 m³h (v − 115), IK = 36 n⁴ (v + 12), IL = 0.3 (v − 10.6); gates updated from the old
values; spike on the new v; no reset.

Timing: `--warmup` batches first (not timed), then `--batches` timed training steps
(forward, loss, backward, optimiser step) on a fixed random batch with raw 0–255 pixel values
and random labels; samples_per_sec = batches × batch size / seconds.
"""

import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

T = 15
INPUT = 36 * 36
HIDDEN = 512


class Spike(torch.autograd.Function):
    """Heaviside step with a rectangular surrogate gradient."""

    @staticmethod
    def forward(ctx, x, threshold, window):
        ctx.save_for_backward(x)
        ctx.threshold = threshold
        ctx.window = window
        return x.gt(threshold).float()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        inside = (x - ctx.threshold).abs() < ctx.window
        return grad_output * inside.float(), None, None


def spike(x, threshold, window):
    return Spike.apply(x, threshold, window)


class Heads(nn.Module):
    """Linear(features → 50) then two task heads Linear(50 → 10)."""

    def __init__(self, features):
        super().__init__()
        self.fc_output = nn.Linear(features, 50)
        self.task_0 = nn.Linear(50, 10)
        self.task_1 = nn.Linear(50, 10)

    def forward(self, rates):
        out = self.fc_output(rates)
        return self.task_0(out), self.task_1(out)


class LifFc(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.hidden = hidden
        self.fc1 = nn.Linear(INPUT, hidden)
        self.heads = Heads(hidden)

    def forward(self, image):
        x = image.view(image.shape[0], -1)
        mem = torch.zeros(x.shape[0], self.hidden)
        s = torch.zeros_like(mem)
        total = torch.zeros_like(mem)
        for _ in range(T):
            mem = mem * 0.2 * (1.0 - s) + self.fc1(x)
            s = spike(mem, 0.3, 0.5)
            total = total + s
        return self.heads(total / T)


class HhFc(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(INPUT, HIDDEN)
        with torch.no_grad():
            self.fc1.weight.mul_(0.01)
        self.rates = nn.Parameter(0.01 * torch.rand(6, HIDDEN), requires_grad=False)
        self.heads = Heads(HIDDEN)

    def forward(self, image):
        x = image.view(image.shape[0], -1)
        v = torch.zeros(x.shape[0], HIDDEN)
        n = torch.zeros_like(v)
        m = torch.zeros_like(v)
        h = torch.zeros_like(v)
        a_n, b_n, a_m, b_m, a_h, b_h = self.rates
        dt = 0.01
        total = torch.zeros_like(v)
        for _ in range(T):
            i_na = 120.0 * m**3 * h * (v - 115.0)
            i_k = 36.0 * n**4 * (v + 12.0)
            i_l = 0.3 * (v - 10.6)
            v_new = v + dt * (self.fc1(x) - i_na - i_k - i_l)
            n = n + dt * (a_n * (1.0 - n) - b_n * n)
            m = m + dt * (a_m * (1.0 - m) - b_m * m)
            h = h + dt * (a_h * (1.0 - h) - b_h * h)
            v = v_new
            total = total + spike(v, 0.2, 0.3)
        return self.heads(total / T)


class LifHhFc(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(INPUT, HIDDEN)
        self.fc2 = nn.Linear(INPUT, HIDDEN)
        self.fc3 = nn.Linear(INPUT, HIDDEN)
        self.lif_fc = nn.Linear(3, 1)
        with torch.no_grad():
            self.lif_fc.weight.abs_()
        self.heads = Heads(4 * HIDDEN)

    def forward(self, image):
        x = image.view(image.shape[0], -1)
        shape = (x.shape[0], HIDDEN)
        mems = [torch.zeros(shape) for _ in range(4)]
        spikes = [torch.zeros(shape) for _ in range(4)]
        total = torch.zeros(x.shape[0], 4 * HIDDEN)
        decay = 0.5
        for _ in range(T):
            previous = torch.stack(mems[:3], dim=-1)
            currents = [self.fc1(x), self.fc2(x), self.fc3(x), self.lif_fc(previous).squeeze(-1)]
            for k in range(4):
                mems[k] = mems[k] * decay * (1.0 - spikes[k]) + currents[k]
                spikes[k] = spike(mems[k], 2.0, 0.4)
            total = total + torch.cat(spikes, dim=1)
        return self.heads(total / T)


class LifConv(nn.Module):
    def __init__(self, channels=10):
        super().__init__()
        self.channels = channels
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.heads = Heads(channels * 9 * 9)

    def forward(self, image):
        batch = image.shape[0]
        mem1 = torch.zeros(batch, self.channels, 36, 36)
        s1 = torch.zeros_like(mem1)
        mem2 = torch.zeros(batch, self.channels, 18, 18)
        s2 = torch.zeros_like(mem2)
        total = torch.zeros(batch, self.channels * 9 * 9)
        for _ in range(T):
            mem1 = mem1 * 0.2 * (1.0 - s1) + self.conv1(image)
            s1 = spike(mem1, 0.3, 0.5)
            pooled1 = F.avg_pool2d(s1, 2)
            mem2 = mem2 * 0.2 * (1.0 - s2) + self.conv2(pooled1)
            s2 = spike(mem2, 0.3, 0.5)
            total = total + F.avg_pool2d(s2, 2).view(batch, -1)
        return self.heads(total / T)


MODELS = {
    "LIF_fc": (lambda: LifFc(HIDDEN), 1e-4, 1e-5),
    "4LIF_fc": (lambda: LifFc(4 * HIDDEN), 1e-4, 1e-5),
    "HH_fc": (HhFc, 1e-4, 1e-5),
    "LIF_hh_fc": (LifHhFc, 1e-4, 1e-5),
    "LIF_conv": (LifConv, 3e-3, 3e-4),
}


def measure(name, batch_size, batches, warmup):
    build, lr, weight_decay = MODELS[name]
    torch.manual_seed(0)
    model = build()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    images = torch.rand(batch_size, 1, 36, 36) * 255.0
    labels_a = torch.randint(0, 10, (batch_size,))
    labels_b = torch.randint(0, 10, (batch_size,))

    def train_step():
        optimizer.zero_grad()
        out_a, out_b = model(images)
        loss = F.cross_entropy(out_a, labels_a) + F.cross_entropy(out_b, labels_b)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        train_step()
    start = time.perf_counter()
    for _ in range(batches):
        train_step()
    seconds = time.perf_counter() - start
    return {
        "tool": "pytorch",
        "version": torch.__version__,
        "model": name,
        "batch_size": batch_size,
        "batches": batches,
        "threads": torch.get_num_threads(),
        "seconds": seconds,
        "samples_per_sec": batches * batch_size / seconds,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=20, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed training steps first")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    for name in args.models:
        print(json.dumps(measure(name, args.batch_size, args.batches, args.warmup)), flush=True)


if __name__ == "__main__":
    main()
