"""A flow-matching teacher trained in PyTorch, saved for phased-dmd (optional: needs torch).

    python3 examples/torch_teacher.py ring8-teacher.safetensors [steps]

The network mirrors phased-dmd's `mlp` model (lib/models/mlp.ts) parameter for parameter,
so `teacherFromSafetensors(file, {kind: 'mlp', dim: 2, hidden: [256, 256, 256],
timeEmbedDim: 32, numClasses: 8})` loads it (examples/byo-teacher.ts):

    h0 = SiLU([x, emb(t), onehot(c)] @ [W0; E] + b0),  h_i = SiLU(h_{i-1} @ W_i + b_i),  v = h @ W_out + b_out
    emb(t) = [sin(1000 t w_j), cos(1000 t w_j)],  w_j = 10000^(-j / (d/2))

with the convention x_t = (1 - t) x0 + t eps, target v = eps - x0, and class id 8 the null
class (dropped 10 % of the time, for classifier-free guidance). Weights are stored as
[in, out] (a torch Linear holds [out, in]); the file is written with numpy only
(python/phased_dmd_io.py), so the `safetensors` package is not needed either.
"""
import math
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from phased_dmd_io import write_safetensors  # noqa: E402

DIM, HIDDEN, TEMB, CLASSES = 2, [256, 256, 256], 32, 8


def embed(t, dim=TEMB):
    half = dim // 2
    freqs = 1000 * torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class VelocityMlp(nn.Module):
    def __init__(self):
        super().__init__()
        widths = [DIM + TEMB] + HIDDEN
        self.dense = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.class_embedding = nn.Parameter(0.1 * torch.randn(CLASSES + 1, HIDDEN[0]))
        self.out = nn.Linear(HIDDEN[-1], DIM)

    def forward(self, x, t, c):
        onehot = nn.functional.one_hot(c, CLASSES + 1).float()
        h = nn.functional.silu(self.dense[0](torch.cat([x, embed(t)], 1)) + onehot @ self.class_embedding)
        for layer in self.dense[1:]:
            h = nn.functional.silu(layer(h))
        return self.out(h)

    def phased_dmd_tensors(self):
        """phased-dmd's names and layouts (lib/models/mlp.ts).

        dense<i>.W [in, out], dense<i>.b, classEmbedding [classes + 1, hidden], out.W [hidden, dim], out.b.
        """
        tensors = {}
        for i, layer in enumerate(self.dense):
            tensors[f"dense{i}.W"] = layer.weight.detach().T.numpy()
            tensors[f"dense{i}.b"] = layer.bias.detach().numpy()
        tensors["classEmbedding"] = self.class_embedding.detach().numpy()
        tensors["out.W"] = self.out.weight.detach().T.numpy()
        tensors["out.b"] = self.out.bias.detach().numpy()
        return tensors


def ring8(n, generator):
    c = torch.randint(0, 8, (n,), generator=generator)
    angle = 2 * math.pi * c.float() / 8
    centers = torch.stack([2 * torch.cos(angle), 2 * torch.sin(angle)], 1)
    return centers + 0.1 * torch.randn(n, 2, generator=generator), c


def main(path, steps=3000):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = VelocityMlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(steps):
        x0, c = ring8(512, g)
        c = torch.where(torch.rand(512, generator=g) < 0.1, torch.full_like(c, CLASSES), c)
        t = torch.rand(512, generator=g)
        eps = torch.randn(512, 2, generator=g)
        xt = (1 - t[:, None]) * x0 + t[:, None] * eps
        loss = ((model(xt, t, c) - (eps - x0)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 500 == 0:
            print(f"step {step}: loss {loss.item():.4f}")
    write_safetensors(path, model.phased_dmd_tensors(), {"source": "examples/torch_teacher.py", "steps": str(steps)})
    print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3000)
