"""GAE and V-trace: lagomjax vs rlax (vmapped over the batch) vs a lagom-style per-trajectory NumPy loop.

All contenders run side by side in one process on the same float32 inputs; each timing is the best
of several interleaved repeats (the machines are noisy). Ratios > 1 mean lagomjax is faster.

    python benchmarks/metric_bench.py            # [1000, 1024] and [128, 8]
    python benchmarks/metric_bench.py --repeats 50

rlax comes from the ``bench`` extra (``pip install -e .[bench]``); without it its rows are skipped.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy.signal import lfilter

from lagomjax import metric

try:
    import rlax
except ImportError:  # pragma: no cover - optional peer
    rlax = None

GAMMA, LAM = 0.99, 0.95


# ------------------------------------------------------------------------------------------------
# lagom-style reference: a Python loop over trajectories, scipy lfilter for the discounted sums
# (lagom's geometric_cumsum) and a Python loop over time for V-trace (as lagom wrote it)
# ------------------------------------------------------------------------------------------------


def discount_cumsum(alpha, x):
    return lfilter([1], [1, -alpha], x[::-1])[::-1]


def lagom_gae(rewards, Vs, last_V, reach_terminal):
    out = np.empty_like(rewards)
    for b in range(rewards.shape[1]):
        bv = 0.0 if reach_terminal[b] else last_V[b]
        V_ext = np.append(Vs[:, b], bv)
        delta = rewards[:, b] + GAMMA * V_ext[1:] - V_ext[:-1]
        out[:, b] = discount_cumsum(GAMMA * LAM, delta)
    return out


def lagom_vtrace(blp, tlp, rewards, Vs, last_V, reach_terminal):
    vs_out, as_out = np.empty_like(rewards), np.empty_like(rewards)
    for b in range(rewards.shape[1]):
        rhos = np.exp(tlp[:, b] - blp[:, b])
        bv = 0.0 if reach_terminal[b] else last_V[b]
        V_ext = np.append(Vs[:, b], bv)
        deltas = np.minimum(1.0, rhos) * (rewards[:, b] + GAMMA * V_ext[1:] - V_ext[:-1])
        cs = np.minimum(1.0, rhos)
        total, diffs = 0.0, []
        for delta_t, c_t in zip(deltas[::-1], cs[::-1], strict=True):
            total = delta_t + GAMMA * c_t * total
            diffs.append(total)
        vs = Vs[:, b] + np.asarray(diffs[::-1])
        vs_ext = np.append(vs, bv)
        vs_out[:, b] = vs
        as_out[:, b] = np.minimum(1.0, rhos) * (rewards[:, b] + GAMMA * vs_ext[1:] - Vs[:, b])
    return vs_out, as_out


# ------------------------------------------------------------------------------------------------


def make_inputs(T, B, seed=0):
    rng = np.random.default_rng(seed)
    f32 = np.float32
    return dict(
        rewards=rng.standard_normal((T, B)).astype(f32),
        Vs=rng.standard_normal((T, B)).astype(f32),
        last_V=rng.standard_normal(B).astype(f32),
        reach_terminal=rng.random(B) < 0.3,
        blp=np.log(rng.uniform(0.1, 1, (T, B))).astype(f32),
        tlp=np.log(rng.uniform(0.1, 1, (T, B))).astype(f32),
        terminated=rng.random((T, B)) < 0.01,
        truncated=rng.random((T, B)) < 0.002,
    )


def best_time(fns, repeats):
    """Best wall time of each callable, repeats interleaved so that machine noise hits all alike."""
    best = {name: float("inf") for name in fns}
    for fn in fns.values():  # warm-up (compiles)
        jax.block_until_ready(fn())
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(fn())
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def bandwidth(T, B, repeats):
    """Achieved bytes/s of a jitted streaming elementwise pass: same-sized arrays, and a DRAM-sized one."""
    x = jnp.ones((T, B), jnp.float32)
    y = jnp.ones((T, B), jnp.float32)
    f = jax.jit(lambda x, y: x + 0.5 * y)
    big = jnp.ones((64 << 20,), jnp.float32)  # 256 MiB, larger than any cache
    g = jax.jit(lambda x: x * 2.0)
    t = best_time({"same": lambda: f(x, y), "dram": lambda: g(big)}, repeats)
    return 3 * x.nbytes / t["same"], 2 * big.nbytes / t["dram"]


def bench(T, B, repeats):
    d = make_inputs(T, B)
    j = {k: jnp.asarray(v) for k, v in d.items()}
    ours_gae = jax.jit(lambda r, V, lv, rt: metric.gae(GAMMA, LAM, r, V, lv, rt))
    ours_vtrace = jax.jit(lambda b, t, r, V, lv, rt: metric.vtrace(b, t, GAMMA, r, V, lv, rt))
    ours_gae_rollout = jax.jit(lambda r, V, nV, te, tr: metric.gae_rollout(GAMMA, LAM, r, V, nV, te, tr))
    args_gae = (j["rewards"], j["Vs"], j["last_V"], j["reach_terminal"])
    args_vt = (j["blp"], j["tlp"], *args_gae)

    fns = {
        "lagomjax gae": lambda: ours_gae(*args_gae),
        "lagomjax gae_rollout": lambda: ours_gae_rollout(
            j["rewards"], j["Vs"], j["Vs"], j["terminated"], j["truncated"]
        ),
        "lagomjax vtrace": lambda: ours_vtrace(*args_vt),
    }
    if rlax is not None:
        # rlax's native inputs, prepared outside the timed call: per-step discounts [T, B] and the
        # values with the bootstrap appended [T + 1, B]. Vmapped over the batch axis (axis 1).
        bv = jnp.where(j["reach_terminal"], 0.0, j["last_V"])
        values = jnp.concatenate([j["Vs"], bv[None]], 0)
        discounts = jnp.full((T, B), GAMMA, jnp.float32)
        rhos = jnp.exp(j["tlp"] - j["blp"])
        rlax_gae = jax.jit(
            jax.vmap(
                lambda r, d, v: rlax.truncated_generalized_advantage_estimation(r, d, LAM, v), in_axes=1, out_axes=1
            )
        )
        rlax_vtrace = jax.jit(
            jax.vmap(
                lambda v, r, d, rho: rlax.vtrace_td_error_and_advantage(v[:-1], v[1:], r, d, rho),
                in_axes=1,
                out_axes=1,
            )
        )
        fns["rlax gae"] = lambda: rlax_gae(j["rewards"], discounts, values)
        fns["rlax vtrace"] = lambda: rlax_vtrace(values, j["rewards"], discounts, rhos)
        # same numbers
        np.testing.assert_allclose(fns["rlax gae"](), fns["lagomjax gae"](), rtol=1e-4, atol=1e-4)
        rl = fns["rlax vtrace"]()
        np.testing.assert_allclose(rl.pg_advantage, fns["lagomjax vtrace"]()[1], rtol=1e-4, atol=1e-4)

    t = best_time(fns, repeats)
    numpy_repeats = max(1, min(repeats, 3 if T * B > 100_000 else repeats))
    t.update(
        best_time(
            {
                "lagom numpy gae": lambda: lagom_gae(d["rewards"], d["Vs"], d["last_V"], d["reach_terminal"]),
                "lagom numpy vtrace": lambda: lagom_vtrace(
                    d["blp"], d["tlp"], d["rewards"], d["Vs"], d["last_V"], d["reach_terminal"]
                ),
            },
            numpy_repeats,
        )
    )
    np.testing.assert_allclose(
        lagom_gae(d["rewards"], d["Vs"], d["last_V"], d["reach_terminal"]), fns["lagomjax gae"](), rtol=1e-4, atol=1e-4
    )
    return t


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--shapes", default="1000x1024,128x8", help="comma-separated TxB")
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].device_kind}; rlax {'yes' if rlax else 'not installed'}")
    print(f"best of {args.repeats} interleaved repeats (x10 at small shapes; NumPy loops: best of 3 at large shapes)\n")
    for shape in args.shapes.split(","):
        T, B = map(int, shape.split("x"))
        small = T * B < 100_000
        # small shapes are dominated by dispatch latency: more repeats to find the floor
        t = bench(T, B, args.repeats * 10 if small else args.repeats)
        print(f"### [T={T}, B={B}] float32\n")
        print("| function | contender | time | lagomjax speed-up |")
        print("|---|---|---:|---:|")
        for fn in ("gae", "vtrace"):
            ours = t[f"lagomjax {fn}"]
            print(f"| {fn} | lagomjax | {ours * 1e3:.3f} ms | 1.0x |")
            for peer in (f"rlax {fn}", f"lagom numpy {fn}"):
                if peer in t:
                    print(f"| {fn} | {peer.rsplit(' ', 1)[0]} | {t[peer] * 1e3:.3f} ms | {t[peer] / ours:.1f}x |")
        print(
            f"| gae_rollout (terminated/truncated per step) | lagomjax | {t['lagomjax gae_rollout'] * 1e3:.3f} ms | |"
        )
        if small:
            print()
            continue
        # effective traffic of gae: read rewards and Vs, write advantages (minimum possible)
        moved = 3 * T * B * 4
        same, dram = bandwidth(T, B, args.repeats)
        print(
            f"\ngae moves >= {moved / 2**20:.1f} MiB: {moved / t['lagomjax gae'] / 1e9:.1f} GB/s effective; a "
            f"streaming elementwise pass over same-sized arrays reaches {same / 1e9:.1f} GB/s, "
            f"over 256 MiB (DRAM) {dram / 1e9:.1f} GB/s\n"
        )


if __name__ == "__main__":
    main()
