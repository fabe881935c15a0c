"""PyTorch reference for `deno task bench dse`: the same DSE training step on the same config.

The model and recipe mirror stages/dse (features mode): image FC 128→d and text FC 10→d without
bias, BatchNorm (ε 1e-3, Keras momentum 0.99 = PyTorch 0.01), LeakyReLU(0.2); DSE-S: a softmax head
W [d, c] + b on both modalities (loss ½(CE_img + CE_txt)); DSE-DS: trainable centers [c, d], softmax
over −‖x − c_j‖² plus λ·‖x − c_y‖² (λ 0.1). Coupled L2 1e-3 on the FC kernels and W, Adam lr 1e-3
(ε 1e-7), batches of 16 images + 16 texts of the same labels. Synthetic rows as in bench/dse.ts.
Prints one JSON line per loss: samples/s over the epochs after the first (warm-up).

Usage: python3 bench/dse_reference.py ROWS EPOCHS [THREADS]   (a benchmark reference, never a
pipeline dependency)
"""
import json
import sys
import time

import torch

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 640
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
torch.set_num_threads(threads)
torch.manual_seed(0)
d, c, half = 2048, 10, 16
g = torch.Generator().manual_seed(0)
img = torch.rand(rows, 128, generator=g)
txt = torch.rand(rows, 10, generator=g)
y = torch.arange(rows) % c


class Head(torch.nn.Module):
    def __init__(self, n_in):
        super().__init__()
        self.fc = torch.nn.Linear(n_in, d, bias=False)
        self.bn = torch.nn.BatchNorm1d(d, eps=1e-3, momentum=0.01)

    def forward(self, x):
        return torch.nn.functional.leaky_relu(self.bn(self.fc(x)), 0.2)


def run(loss):
    hi, ht = Head(128), Head(10)
    params = list(hi.parameters()) + list(ht.parameters())
    decayed = [hi.fc.weight, ht.fc.weight]
    if loss == "s":
        head = torch.nn.Linear(d, c)
        params += list(head.parameters())
        decayed.append(head.weight)
    else:
        centers = torch.nn.Parameter(torch.randn(c, d) * 0.03)
        params.append(centers)
    opt = torch.optim.Adam(params, lr=1e-3, eps=1e-7)
    # Texts of the same labels, drawn without a Python loop: rows sorted by class, each class's
    # offset and count, a uniform draw inside the class.
    order = torch.argsort(y, stable=True)
    counts = torch.bincount(y, minlength=c)
    offsets = torch.cumsum(counts, 0) - counts

    def one_loss(e, t):
        if loss == "s":
            return torch.nn.functional.cross_entropy(head(e), t)
        d2 = torch.cdist(e, centers).pow(2)
        return torch.nn.functional.cross_entropy(-d2, t) + 0.1 * d2.gather(1, t[:, None]).mean()

    seconds = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(rows)
        for s in range(0, rows - half + 1, half):
            bi = perm[s:s + half]
            t = y[bi]
            bt = order[offsets[t] + (torch.rand(half) * counts[t]).long()]
            ei, et = hi(img[bi]), ht(txt[bt])
            total = 0.5 * (one_loss(ei, t) + one_loss(et, t))
            total = total + 1e-3 * sum((w * w).sum() for w in decayed)
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
        seconds.append(time.perf_counter() - t0)
    warm = seconds[1:]
    return 2 * rows * len(warm) / sum(warm)


for name in ("s", "ds"):
    print(json.dumps({"loss": name, "samples_per_s": run(name), "threads": threads,
                      "torch": torch.__version__}))
