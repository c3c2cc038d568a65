#!/usr/bin/env python3
"""PyTorch peer for `npm run bench`: one training iteration (forward + backward + Adam step)
of a recurrent model on this CPU, at the same shapes as orthoquant's cases.

Modes:
  fused-tanh / fused-relu  torch.nn.RNN (its fused CPU implementation), readout + CE loss
  loop-linear              a per-step Python loop with the linear recurrence of the
                           HadamRNN/QORNN reference code: h_t = h_{t-1} W^T + U x_t + b
  lstm                     torch.nn.LSTM
Readout V ReLU(h_t) + c on every step (many-to-many, copy task) or the last step.

Prints one JSON line: {"mode", "n", "B", "T", "times_s": [...], "median_s", "min_s",
"max_s", "peak_rss_mb", "torch", "threads", "blas"}.
"""
import argparse
import json
import resource
import statistics
import time

import torch


def build(mode, n, d_in, n_out):
    if mode in ("fused-tanh", "fused-relu"):
        rnn = torch.nn.RNN(d_in, n, nonlinearity=mode.split("-")[1], batch_first=False)
    elif mode == "lstm":
        rnn = torch.nn.LSTM(d_in, n, batch_first=False)
    elif mode == "loop-linear":
        rnn = LinearLoop(d_in, n)
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
    params = list(rnn.parameters()) + list(readout.parameters())
    opt = torch.optim.Adam(params, lr=1e-4)
    x = torch.randn(a.T, a.B, a.input)
    if a.readout == "all":
        y = torch.randint(0, a.classes, (a.T * a.B,))
    else:
        y = torch.randint(0, a.classes, (a.B,))

    def step():
        opt.zero_grad(set_to_none=True)
        h, _ = rnn(x)
        if a.readout == "all":
            logits = readout(torch.relu(h).reshape(a.T * a.B, a.n))
        else:
            logits = readout(torch.relu(h[-1]))
        loss = torch.nn.functional.cross_entropy(logits, y)
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
    blas = "unknown"
    try:
        cfg = torch.__config__.show()
        blas = "openblas" if "openblas" in cfg.lower() else ("mkl" if "mkl" in cfg.lower() else "other")
    except Exception:  # noqa: BLE001 - informational only
        pass
    print(json.dumps({
        "mode": a.mode, "n": a.n, "B": a.B, "T": a.T, "readout": a.readout,
        "times_s": times, "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas,
    }))


if __name__ == "__main__":
    main()
