"""Reference Gram matrices from neural-tangents 0.6.5's stax kernel_fn (not a test).

neural-tangents imports only with jax 0.4.23 and numpy < 2 (plus tensorflow-cpu 2.15 and
tf2jax), so it runs in a side environment that is no part of pricesym's dependencies:

    python3 -m venv /tmp/ntenv
    /tmp/ntenv/bin/pip install "jax==0.4.23" "jaxlib==0.4.23" "numpy<2" "scipy<1.13" \
        "neural-tangents==0.6.5" "tensorflow-cpu==2.15.*" tf2jax
    /tmp/ntenv/bin/python tests/benchmarks/neural_tangents_reference.py

It writes tests/engine/data/neural_tangents_0.6.5.json: random inputs, several
activations, depths, W_std, b_std and both parametrisations (width 512 for the
standard one), with neural-tangents' NNGP and NTK. tests/engine/test_kernels_api.py
compares `ps.kernels` against them.
"""

import json
from pathlib import Path

import numpy as np
from jax import config

config.update("jax_enable_x64", True)

from neural_tangents import stax  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "engine" / "data" / "neural_tangents_0.6.5.json"
rng = np.random.default_rng(7)
cases = []
acts = {"relu": stax.Relu(), "erf": stax.Erf(), "leaky_relu": stax.LeakyRelu(0.1), "gelu": stax.Gelu(approximate=False),
        "sin": stax.Sin(), "abs": stax.Abs()}
for act, layer in acts.items():
    for depth in (1, 2, 3):
        for W_std, b_std in ((1.3, 0.0), (1.0, 0.3), (1.7, 0.5)):
            for param in ("ntk", "standard"):
                d = 5
                x1 = rng.normal(size=(4, d))
                x2 = rng.normal(size=(3, d))
                layers = []
                for _ in range(depth):
                    layers += [stax.Dense(512, W_std, b_std, parameterization=param), layer]
                layers += [stax.Dense(1, W_std, b_std, parameterization=param)]
                _, _, kfn = stax.serial(*layers)
                k = kfn(x1, x2, get=("nngp", "ntk"))
                cases.append(dict(act=act, depth=depth, W_std=W_std, b_std=b_std, param=param, x1=x1.tolist(), x2=x2.tolist(),
                                  nngp=np.asarray(k.nngp).tolist(), ntk=np.asarray(k.ntk).tolist()))
OUT.write_text(json.dumps(cases))
print(len(cases), "cases written to", OUT)
