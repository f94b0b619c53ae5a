#!/usr/bin/env python3
"""
PyTorch (CPU) reference for `npm run bench`: the same models and the same steps as
bench/workloads.ts, written the way a PyTorch user would (nn.Embedding for classes,
torch.optim.Adam, no_grad rollouts), timed the same way (median of per-iteration
wall times after warm-up). Prints one JSON object on the last line.

Used only when python3 can import torch (Debian: apt-get install python3-torch
libopenblas0-openmp). Threads: --threads (default 2), set before any work.
"""
import argparse
import copy
import ctypes
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def sinusoidal(t, dim):
    """[sin(1000·t·ω_i), cos(1000·t·ω_i)], ω_i = 10000^(−i/(d/2)) (lib/models/timeEmbedding.ts)."""
    half = dim // 2
    freqs = 1000 * torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], 1)


class Mlp(nn.Module):
    """lib/models/mlp.ts: h0 = SiLU(W0·[x, emb(t)] + b0 + E[c]), hi = SiLU(Wi·h + bi), v = Wout·h + bout."""

    def __init__(self, dim, hidden, temb, num_classes):
        super().__init__()
        self.temb = temb
        sizes = [dim + temb] + list(hidden)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.cls = nn.Embedding(num_classes + 1, hidden[0])
        self.out = nn.Linear(hidden[-1], dim)

    def forward(self, x, t, c):
        h = torch.cat([x, sinusoidal(t, self.temb)], 1)
        for i, layer in enumerate(self.layers):
            z = layer(h)
            if i == 0:
                z = z + self.cls(c)
            h = F.silu(z)
        return self.out(h)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, E):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(E, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, h, e):
        z = self.conv1(F.silu(h)) + self.emb(e)[:, :, None, None]
        r = self.conv2(F.silu(z))
        return (h if self.skip is None else self.skip(h)) + r


class Unet(nn.Module):
    """lib/models/unet.ts, NCHW: in → res → down → res → down → mid → up → res → up → res → out."""

    def __init__(self, channels, width, temb, num_classes):
        super().__init__()
        w, E = width, 4 * width
        self.temb = temb
        self.time1 = nn.Linear(temb, E)
        self.cls = nn.Embedding(num_classes + 1, E)
        self.time2 = nn.Linear(E, E)
        self.inp = nn.Conv2d(channels, w, 3, padding=1)
        self.down0 = ResBlock(w, w, E)
        self.downsample0 = nn.Conv2d(w, 2 * w, 3, stride=2, padding=1)
        self.down1 = ResBlock(2 * w, 2 * w, E)
        self.downsample1 = nn.Conv2d(2 * w, 2 * w, 3, stride=2, padding=1)
        self.mid = ResBlock(2 * w, 2 * w, E)
        self.upsample1 = nn.Conv2d(2 * w, 2 * w, 3, padding=1)
        self.up1 = ResBlock(4 * w, 2 * w, E)
        self.upsample0 = nn.Conv2d(2 * w, w, 3, padding=1)
        self.up0 = ResBlock(2 * w, w, E)
        self.out = nn.Conv2d(w, channels, 3, padding=1)

    def forward(self, x, t, c):
        e = F.silu(self.time2(F.silu(self.time1(sinusoidal(t, self.temb)) + self.cls(c))))
        h0 = self.down0(self.inp(x), e)
        h1 = self.down1(self.downsample0(h0), e)
        m = self.mid(self.downsample1(h1), e)
        u1 = self.upsample1(F.interpolate(m, scale_factor=2, mode="nearest"))
        g1 = self.up1(torch.cat([u1, h1], 1), e)
        u0 = self.upsample0(F.interpolate(g1, scale_factor=2, mode="nearest"))
        g0 = self.up0(torch.cat([u0, h0], 1), e)
        return self.out(F.silu(g0))


# Same settings as MODEL_SETUPS in bench/workloads.ts.
SETUPS = {
    "mlp": dict(make=lambda: Mlp(2, [256, 256, 256], 32, 8), shape=(2,), classes=8, batch=1024, sample_batch=1024, guidance=3.0),
    "unet": dict(make=lambda: Unet(1, 32, 64, 10), shape=(1, 28, 28), classes=10, batch=64, sample_batch=64, guidance=3.0),
}

RING8 = torch.tensor([[2 * math.cos(2 * math.pi * k / 8), 2 * math.sin(2 * math.pi * k / 8)] for k in range(8)], dtype=torch.float32)
SHIFT = 5.0


def shift_time(u, S):
    return S * u / (1 + (S - 1) * u)


def unshift_time(t, S):
    return t / (S - (S - 1) * t)


def time_grid(n, S, start=1.0, end=0.0):
    u0, u1 = unshift_time(start, S), unshift_time(end, S)
    return [shift_time(u0 + (u1 - u0) * i / n, S) for i in range(n + 1)]


def copy_of(model):
    return copy.deepcopy(model)


class Bench:
    def __init__(self, kind):
        s = SETUPS[kind]
        self.kind, self.s = kind, s
        torch.manual_seed(1)
        self.teacher = s["make"]()
        self.teacher.requires_grad_(False)
        self.null = s["classes"]

    def data(self, B):
        c = torch.randint(0, self.s["classes"], (B,))
        if self.kind == "mlp":
            x0 = RING8[c] + 0.1 * torch.randn(B, 2)
        else:
            x0 = torch.randn(B, *self.s["shape"]).clamp(-1, 1)
        return x0, c

    def cfg(self, model, x, t, c, g):
        """v(∅) + g·(v(c) − v(∅)) in one batched forward (lib/score/velocity.ts)."""
        if g == 1:
            return model(x, t, c)
        both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([c, torch.full_like(c, self.null)]))
        vc, vu = both.chunk(2)
        return vu + g * (vc - vu)

    @staticmethod
    def per_sample(t, x):
        return t.view(-1, *([1] * (x.dim() - 1)))

    # ── teacher ──
    def teacher_workload(self):
        model = self.s["make"]()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
        B = self.s["batch"]

        def step():
            x0, c = self.data(B)
            c = torch.where(torch.rand(B) < 0.1, torch.full_like(c, self.null), c)
            t = torch.rand(B)
            eps = torch.randn_like(x0)
            tt = self.per_sample(t, x0)
            xt = (1 - tt) * x0 + tt * eps
            loss = F.mse_loss(model(xt, t, c), eps - x0)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss.item()

        return "teacher step", step

    # ── distillation ──
    def distill_workload(self, name, grid, earlier, backprop_steps):
        """One iteration: 5 fake-score updates + 1 generator update on the phase ending at grid[-1]."""
        B, g = self.s["batch"], self.s["guidance"]
        gen, fake = copy_of(self.teacher).requires_grad_(True), copy_of(self.teacher).requires_grad_(True)
        opt_g = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.0, 0.999))
        opt_f = torch.optim.Adam(fake.parameters(), lr=2e-4, betas=(0.0, 0.999))
        s = grid[-1]
        steps = len(grid) - 1
        u_lo = unshift_time(min(s + 0.02, 1.0), SHIFT)

        def euler(model, x, c, gr, a, b):
            for i in range(a, b):
                x = x + (gr[i + 1] - gr[i]) * model(x, torch.full((x.shape[0],), gr[i]), c)
            return x

        def rollout_prefix(z, c, j):
            x = z
            for e_grid, expert in earlier:
                x = euler(expert, x, c, e_grid, 0, len(e_grid) - 1)
            return euler(gen, x, c, grid, 0, j)

        def renoise(x, eps):
            t = shift_time(u_lo + (1 - u_lo) * torch.rand(B), SHIFT)
            tt = self.per_sample(t, x)
            alpha = (1 - tt) / (1 - s)
            sigma = torch.sqrt(torch.clamp(tt * tt - ((1 - tt) * s / (1 - s)) ** 2, min=0))
            return t, tt, sigma, alpha * x + sigma * eps

        def fake_update():
            c = torch.randint(0, self.s["classes"], (B,))
            j = int(torch.randint(0, steps, ()))
            with torch.no_grad():
                xj = rollout_prefix(torch.randn(B, *self.s["shape"]), c, j)
                xs = xj + (s - grid[j]) * gen(xj, torch.full((B,), grid[j]), c)
                eps = torch.randn_like(xs)
                t, tt, sigma, xt = renoise(xs, eps)
                a = ((1 - s) ** 2 * tt + (1 - tt) * s * s) / ((1 - s) ** 2 * sigma)
                target = a * eps - xs / (1 - s)
                w = torch.clamp(10 * sigma.flatten() ** 2, max=1) if s > 0 else None
            per = ((fake(xt, t, c) - target) ** 2).flatten(1).mean(1)
            loss = (per if w is None else w * per).mean()
            opt_f.zero_grad(set_to_none=True)
            loss.backward()
            opt_f.step()
            loss.item()

        def generator_update():
            c = torch.randint(0, self.s["classes"], (B,))
            j = int(torch.randint(0, steps, ())) if backprop_steps == "sgts" else 0
            with torch.no_grad():
                xj = rollout_prefix(torch.randn(B, *self.s["shape"]), c, j)
            xs = xj + (s - grid[j]) * gen(xj, torch.full((B,), grid[j]), c)
            eps = torch.randn_like(xs)
            with torch.no_grad():
                t, tt, _, xt = renoise(xs.detach(), eps)
                grad = (1 - tt) ** 2 / (tt * (1 - s)) * (self.cfg(self.teacher, xt, t, c, g) - fake(xt, t, c))
            loss = 0.5 * ((xs - (xs.detach() - grad)) ** 2).sum()
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            opt_g.step()
            loss.item()

        def iteration():
            for _ in range(5):
                fake_update()
            generator_update()

        return name, iteration

    # ── sampling ──
    def sampling_workloads(self, phased_grids):
        n, g = self.s["sample_batch"], self.s["guidance"]
        experts = [(gr, copy_of(self.teacher)) for gr in phased_grids]

        @torch.no_grad()
        def teacher_sample():
            c = torch.randint(0, self.s["classes"], (n,))
            x = torch.randn(n, *self.s["shape"])
            grid = time_grid(40, 1.0)
            for i in range(40):
                x = x + (grid[i + 1] - grid[i]) * self.cfg(self.teacher, x, torch.full((n,), grid[i]), c, g)
            x.numpy()

        @torch.no_grad()
        def student_sample():
            c = torch.randint(0, self.s["classes"], (n,))
            x = torch.randn(n, *self.s["shape"])
            for gr, expert in experts:
                for i in range(len(gr) - 1):
                    x = x + (gr[i + 1] - gr[i]) * expert(x, torch.full((n,), gr[i]), c)
            x.numpy()

        return [("sample: teacher 40 steps, CFG", teacher_sample), ("sample: student 4 NFE", student_sample)]


def quantile(xs, q):
    s = sorted(xs)
    i = q * (len(s) - 1)
    lo, hi = math.floor(i), math.ceil(i)
    return s[lo] + (s[hi] - s[lo]) * (i - lo)


def blas_info():
    """The BLAS this PyTorch runs on. Debian's PyTorch calls whichever OpenBLAS variant
    update-alternatives selects (libopenblas.so.0), and the pthread variant, Debian's
    default, runs these small products several times slower than the OpenMP one: the
    bench says so rather than compare against it. Reads the OpenBLAS mapped into this
    process and asks it (openblas_get_parallel: 0 sequential, 1 pthreads, 2 OpenMP)."""
    torch.mm(torch.ones(8, 8), torch.ones(8, 8))  # the BLAS is loaded by the first product on some builds
    with open("/proc/self/maps") as f:
        libs = sorted({l.split()[-1] for l in f if "openblas" in l.split()[-1]})
    if not libs:
        return {"library": None, "threading": None, "mkl": torch.backends.mkl.is_available()}
    lib = ctypes.CDLL(libs[0])  # the library already loaded: no second copy
    threading = {0: "sequential", 1: "pthread", 2: "openmp"}.get(lib.openblas_get_parallel(), "unknown")
    lib.openblas_get_config.restype = ctypes.c_char_p
    return {"library": libs[0], "threading": threading, "config": lib.openblas_get_config().decode()}


def serve(works):
    """Paired mode: `run <n> <workload>` runs n timed iterations and answers one line
    `SERVE_JSON {"times": [...], "rssMB": ...}`; `quit` (or end of input) ends."""
    print("SERVE_JSON " + json.dumps({"ready": True, "workloads": list(works)}), flush=True)
    for line in iter(sys.stdin.readline, ""):
        parts = line.strip().split(" ", 2)
        if parts[0] == "quit":
            break
        if parts[0] != "run" or len(parts) != 3 or parts[2] not in works:
            print("SERVE_JSON " + json.dumps({"error": f"bad request: {line.strip()!r}"}), flush=True)
            continue
        f, times = works[parts[2]], []
        for _ in range(int(parts[1])):
            t0 = time.perf_counter()
            f()
            times.append((time.perf_counter() - t0) * 1000)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("SERVE_JSON " + json.dumps({"times": times, "rssMB": rss}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=list(SETUPS))
    p.add_argument("--blas", action="store_true", help="print which BLAS PyTorch runs on (JSON) and exit")
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default="", help="comma-separated workload names (prefix match)")
    p.add_argument("--serve", action="store_true", help="answer `run <n> <workload>` lines on stdin (bench/paired.ts)")
    a = p.parse_args()
    if a.blas:
        print(json.dumps(blas_info()))
        return
    if a.model is None:
        p.error("--model is required")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    b = Bench(a.model)
    p1 = time_grid(2, SHIFT, 1.0, shift_time(0.5, SHIFT))
    p2 = time_grid(2, SHIFT, shift_time(0.5, SHIFT), 0.0)
    works = [
        b.teacher_workload(),
        b.distill_workload("dmd iteration", [1.0, 0.0], [], "sgts"),
        b.distill_workload("sgts iteration", time_grid(4, SHIFT), [], "sgts"),
        b.distill_workload("phased DMD iteration, phase 1", p1, [], "sgts"),
        b.distill_workload("phased DMD iteration, phase 2", p2, [(p1, copy_of(b.teacher))], "sgts"),
        *b.sampling_workloads([p1, p2]),
    ]
    if a.serve:
        return serve(dict(works))
    only = [o for o in a.only.split(",") if o]
    out = {"backend": "torch-cpu", "model": a.model, "torch": torch.__version__, "threads": torch.get_num_threads(), "results": {}}
    for name, f in works:
        if only and not any(name.startswith(o) for o in only):
            continue
        for _ in range(a.warmup):
            f()
        times, cpu = [], []
        for _ in range(a.iters):
            t0, c0 = time.perf_counter(), time.process_time()
            f()
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out["results"][name] = {"ms": quantile(times, 0.5), "p10": quantile(times, 0.1), "cpuMs": quantile(cpu, 0.5), "n": len(times), "rssMB": rss}
    print(json.dumps(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
