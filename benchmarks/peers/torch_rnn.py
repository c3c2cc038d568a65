#!/usr/bin/env python3
"""PyTorch peer for `npm run bench`: one training iteration (forward + backward + Adam step)
of a recurrent model on this CPU, at the same shapes as orthoquant's cases.

Modes:
  hadamrnn-paper           THE SAME MODEL AS OURS, written the way the HadamRNN papers' public
                           code writes it (deel-ai-papers/hadamRNN, read for its structure): a
                           dense binary recurrent matrix W = diag(sign(u))·H/√n rebuilt from the
                           signs once per iteration (sign with a straight-through gradient),
                           4-bit U and V (uniform symmetric quantizer, straight-through), a
                           Python loop over T with the linear recurrence h_t = h_{t-1} Wᵀ + b + x_t U,
                           ReLU before the readout, cross-entropy over all steps (or the last),
                           Adam. The headline peer.
  fused-tanh / fused-relu  torch.nn.RNN (its fused CPU implementation), readout + CE loss: a
                           different algorithm (dense tanh/ReLU recurrence).
  loop-linear              a per-step Python loop with a float linear recurrence
                           h_t = h_{t-1} W^T + U x_t + b (no quantizers)
  lstm                     torch.nn.LSTM
Readout V ReLU(h_t) + c on every step (many-to-many, copy task) or the last step.
Inputs: one-hot rows (--input classes) for many-to-many, Gaussian for last-step readouts.

Threads: --threads sets torch.set_num_threads; the caller sets OMP_NUM_THREADS and
MKL_NUM_THREADS to the same number (bench/src/peer.ts), and all three are reported.

Prints one JSON line: {"mode", "n", "B", "T", "times_s": [...], "median_s", "min_s",
"max_s", "peak_rss_mb", "kept_mb", "torch", "threads", "omp_threads", "blas"}. kept_mb: the
bytes of the distinct tensor storages autograd saves for backward in one iteration (saved
tensor hooks), measured on one extra iteration outside the timed ones.
"""
import argparse
import json
import math
import os
import resource
import statistics
import time

import torch


class SignSTE(torch.autograd.Function):
    """sign(u) forward, identity backward (the papers' binary quantizer)."""

    @staticmethod
    def forward(ctx, u):
        return torch.sign(u)

    @staticmethod
    def backward(ctx, g):
        return g


class UniformSTE(torch.autograd.Function):
    """k-bit symmetric uniform quantizer of a weight tensor, α = max|w|, straight-through."""

    @staticmethod
    def forward(ctx, w, bits):
        half = float(2 ** (bits - 1))
        alpha = float(w.detach().abs().max()) or 1.0
        return torch.clamp(torch.round(w * (half / alpha)), -half, half - 1) * (alpha / half)

    @staticmethod
    def backward(ctx, g):
        return g, None


def sylvester(n):
    h = torch.ones(1, 1)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h


class HadamRnnPaper(torch.nn.Module):
    """HadamRNN as the reference code builds it: dense W from the signs, quantized U and V."""

    def __init__(self, d_in, n, n_out, bits=4):
        super().__init__()
        self.bits = bits
        self.u = torch.nn.Parameter(torch.empty(1, n).uniform_(-1, 1))
        self.register_buffer("H", sylvester(n) / math.sqrt(n))
        self.b = torch.nn.Parameter(torch.zeros(n))
        self.U = torch.nn.Parameter(torch.empty(n, d_in))
        torch.nn.init.xavier_uniform_(self.U)
        self.V = torch.nn.Parameter(torch.empty(n_out, n))
        torch.nn.init.xavier_uniform_(self.V)
        self.c = torch.nn.Parameter(torch.zeros(n_out))

    def forward(self, x, many):
        # x: [B, T, d_in] (batch first, as the reference code); W rebuilt once per forward.
        W = torch.diag(SignSTE.apply(self.u).view(-1)) @ self.H
        U = UniformSTE.apply(self.U, self.bits)
        V = UniformSTE.apply(self.V, self.bits)
        h = x.new_zeros(x.shape[0], W.shape[0])
        outs = []
        for xt in torch.unbind(x, dim=1):
            h = torch.nn.functional.linear(h, W, self.b) + torch.nn.functional.linear(xt, U)
            if many:
                outs.append(torch.nn.functional.linear(torch.relu(h), V, self.c))
        if many:
            return torch.stack(outs, dim=1)  # [B, T, classes]
        return torch.nn.functional.linear(torch.relu(h), V, self.c)


def build(mode, n, d_in, n_out):
    if mode in ("fused-tanh", "fused-relu"):
        rnn = torch.nn.RNN(d_in, n, nonlinearity=mode.split("-")[1], batch_first=False)
    elif mode == "lstm":
        rnn = torch.nn.LSTM(d_in, n, batch_first=False)
    elif mode == "loop-linear":
        rnn = LinearLoop(d_in, n)
    elif mode == "hadamrnn-paper":
        return HadamRnnPaper(d_in, n, n_out), None
    else:
        raise SystemExit(f"torch_rnn.py: unknown --mode {mode!r}")
    readout = torch.nn.Linear(n, n_out)
    return rnn, readout


class LinearLoop(torch.nn.Module):
    def __init__(self, d_in, n):
        super().__init__()
        self.U = torch.nn.Linear(d_in, n)
        self.W = torch.nn.Parameter(torch.linalg.qr(torch.randn(n, n))[0])

    def forward(self, x):
        z = self.U(x)  # [T, B, n], one batched matmul
        h = torch.zeros(x.shape[1], self.W.shape[0])
        hs = []
        for t in range(x.shape[0]):
            h = h @ self.W.t() + z[t]
            hs.append(h)
        return torch.stack(hs), None


def kept_for_backward(loss_of):
    """MB of the distinct storages autograd saves for backward while building one loss."""
    seen = {}

    def pack(t):
        try:
            st = t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()
            key = (st.data_ptr(), st.nbytes() if hasattr(st, "nbytes") else st.size() * t.element_size())
            seen[key[0]] = key[1]
        except Exception:  # noqa: BLE001 - sparse or other storage-less tensors
            pass
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = loss_of()
    del loss
    return sum(seen.values()) / 1e6


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", required=True)
    p.add_argument("--n", type=int, default=128)
    p.add_argument("--B", type=int, default=128)
    p.add_argument("--T", type=int, default=1000)
    p.add_argument("--input", type=int, default=10)
    p.add_argument("--classes", type=int, default=9)
    p.add_argument("--readout", choices=["all", "last"], default="all")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rnn, readout = build(a.mode, a.n, a.input, a.classes)
    params = list(rnn.parameters()) + (list(readout.parameters()) if readout is not None else [])
    opt = torch.optim.Adam(params, lr=1e-4)
    many = a.readout == "all"
    if many:
        x = torch.nn.functional.one_hot(torch.randint(0, a.input, (a.T, a.B)), a.input).float()
        y = torch.randint(0, a.classes, (a.T * a.B,))
    else:
        x = torch.randn(a.T, a.B, a.input)
        y = torch.randint(0, a.classes, (a.B,))
    xb = x.transpose(0, 1).contiguous()  # batch first, for hadamrnn-paper
    yb = y.view(a.T, a.B).t().reshape(-1) if many else y

    def loss_of():
        if readout is None:
            logits = rnn(xb, many)
            return torch.nn.functional.cross_entropy(logits.reshape(-1, a.classes), yb)
        h, _ = rnn(x)
        if many:
            logits = readout(torch.relu(h).reshape(a.T * a.B, a.n))
        else:
            logits = readout(torch.relu(h[-1]))
        return torch.nn.functional.cross_entropy(logits, y)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_of()
        loss.backward()
        opt.step()
        return float(loss)

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    kept_mb = kept_for_backward(loss_of)
    blas = "unknown"
    try:
        cfg = torch.__config__.show()
        blas = "openblas" if "openblas" in cfg.lower() else ("mkl" if "mkl" in cfg.lower() else "other")
    except Exception:  # noqa: BLE001 - informational only
        pass
    print(json.dumps({
        "mode": a.mode, "n": a.n, "B": a.B, "T": a.T, "readout": a.readout,
        "times_s": times, "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "kept_mb": kept_mb,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas,
        "omp_threads": os.environ.get("OMP_NUM_THREADS"),
    }))


if __name__ == "__main__":
    main()
