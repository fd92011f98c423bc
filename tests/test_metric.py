"""lagomjax.metric against lagom's reference values and obviously-correct NumPy float64 loops."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import metric

# ------------------------------------------------------------------------------------------------
# plain NumPy float64 references: one Python loop over time, written straight from the definitions
# ------------------------------------------------------------------------------------------------


def np_bootstrap(last_V, reach_terminal, batch):
    return np.broadcast_to(np.where(reach_terminal, 0.0, np.asarray(last_V, np.float64)), batch)


def np_returns(gamma, r, Bv=None):
    r = np.asarray(r, np.float64)
    G = np.zeros_like(r)
    nxt = np.zeros(r.shape[1:]) if Bv is None else Bv
    for t in reversed(range(len(r))):
        nxt = r[t] + gamma * nxt
        G[t] = nxt
    return G


def np_td0(gamma, r, V, Bv):
    r, V = np.asarray(r, np.float64), np.asarray(V, np.float64)
    V_ext = np.concatenate([V, Bv[None]], 0)
    target = np.stack([r[t] + gamma * V_ext[t + 1] for t in range(len(r))])
    return target, target - V


def np_gae(gamma, lam, r, V, Bv):
    _, delta = np_td0(gamma, r, V, Bv)
    A = np.zeros_like(delta)
    for t in range(len(r)):  # the literal double sum, not a recursion
        A[t] = sum((gamma * lam) ** k * delta[t + k] for k in range(len(r) - t))
    return A


def np_vtrace(blp, tlp, gamma, R, V, Bv, clip_rho=1.0, clip_pg_rho=1.0):
    R, V = np.asarray(R, np.float64), np.asarray(V, np.float64)
    rho = np.exp(np.asarray(tlp, np.float64) - np.asarray(blp, np.float64))
    T = len(R)
    V_ext = np.concatenate([V, Bv[None]], 0)
    diff = np.zeros(R.shape[1:])
    vs = np.zeros_like(R)
    for t in reversed(range(T)):
        delta = np.minimum(clip_rho, rho[t]) * (R[t] + gamma * V_ext[t + 1] - V[t])
        diff = delta + gamma * np.minimum(1.0, rho[t]) * diff
        vs[t] = V[t] + diff
    vs_ext = np.concatenate([vs, Bv[None]], 0)
    As = np.stack([np.minimum(clip_pg_rho, rho[t]) * (R[t] + gamma * vs_ext[t + 1] - V[t]) for t in range(T)])
    return vs, As


def np_gae_rollout(gamma, lam, r, V, nV, term, trunc):
    """Per-step loop for auto-reset rollouts."""
    A = np.zeros(r.shape)
    nxt = np.zeros(r.shape[1:])
    for t in reversed(range(len(r))):
        delta = r[t] + gamma * (1 - term[t]) * nV[t] - V[t]
        nxt = delta + gamma * lam * (1 - (term[t] | trunc[t])) * nxt
        A[t] = nxt
    return A


# ------------------------------------------------------------------------------------------------
# lagom's reference values
# ------------------------------------------------------------------------------------------------

LN = np.log


@pytest.mark.parametrize("jit", [False, True])
def test_lagom_reference_values(jit):
    f = (lambda fn, *static: jax.jit(fn, static_argnums=static)) if jit else (lambda fn, *static: fn)
    np.testing.assert_allclose(
        f(metric.returns)(0.1, jnp.array([1, 2, 3, 4, 5.0])), [1.2345, 2.345, 3.45, 4.5, 5], 1e-6
    )
    r4 = jnp.array([0.1, 0.2, 0.3, 0.4])
    br = f(metric.bootstrapped_returns, 3)
    np.testing.assert_allclose(br(0.99, r4, 2.0, False), [2.901342, 2.829638, 2.6562, 2.38], 1e-6)
    np.testing.assert_allclose(br(0.1, r4, 2.0, True), [0.1234, 0.234, 0.34, 0.4], 1e-6)
    V4 = jnp.array([1, 2, 3, 4.0])
    np.testing.assert_allclose(f(metric.td0_target, 4)(0.99, r4, V4, 2.0, False), [2.08, 3.17, 4.26, 2.38], 1e-6)
    np.testing.assert_allclose(f(metric.td0_error, 4)(0.1, r4, V4, 2.0, True), [-0.7, -1.5, -2.3, -3.6], 1e-6)
    g = f(metric.gae, 5)
    np.testing.assert_allclose(
        g(1.0, 0.5, jnp.array([1, 2, 3.0]), jnp.array([0.1, 1.1, 2.1]), 10.0, True), [3.725, 3.45, 0.9], 1e-6
    )
    np.testing.assert_allclose(
        g(1.0, 0.5, jnp.arange(1, 6.0), jnp.arange(0.5, 5), 20.0, False), [6.40625, 8.8125, 11.625, 15.25, 20.5], 1e-6
    )
    np.testing.assert_allclose(
        g(0.1, 0.2, jnp.arange(1, 9.0), jnp.arange(1, 9.0), 30.0, True),
        [0.206164098, 0.308204915, 0.410245728, 0.5122864, 0.61432, 0.716, 0.8, 0],
        rtol=1e-5,
        atol=1e-6,
    )
    vs, As = f(metric.vtrace, 6)(
        jnp.zeros(3), jnp.log(jnp.array([0.5, 1, 2])), 0.9, jnp.array([1, 0, 2.0]), jnp.array([0.5, 1, 1.5]), 3.0, False
    )
    np.testing.assert_allclose(vs, [2.6535, 4.23, 4.7], 1e-5)
    np.testing.assert_allclose(As, [2.1535, 3.23, 3.2], 1e-5)


def test_accepts_lists_numpy_and_jax():
    for r in ([1, 2, 3, 4, 5], np.arange(1, 6), jnp.arange(1, 6)):
        np.testing.assert_allclose(metric.returns(0.1, r), [1.2345, 2.345, 3.45, 4.5, 5], 1e-6)


# ------------------------------------------------------------------------------------------------
# random inputs at several ranks, eager and jit, against the NumPy loops
# ------------------------------------------------------------------------------------------------

SHAPES = [(7,), (6, 3), (5, 2, 4)]


def random_case(shape, seed):
    rng = np.random.default_rng(seed)
    r = rng.standard_normal(shape).astype(np.float32)
    V = rng.standard_normal(shape).astype(np.float32)
    last_V = rng.standard_normal(shape[1:]).astype(np.float32)
    reach = rng.random(shape[1:]) < 0.5
    blp = np.log(rng.uniform(0.2, 1, shape)).astype(np.float32)
    tlp = np.log(rng.uniform(0.2, 1, shape)).astype(np.float32)
    return r, V, last_V, reach, blp, tlp


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("jit", [False, True])
def test_single_segment_against_numpy_loops(shape, jit):
    r, V, last_V, reach, blp, tlp = random_case(shape, seed=len(shape))
    Bv = np_bootstrap(last_V, reach, shape[1:])
    wrap = jax.jit if jit else (lambda fn: fn)
    tol = dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(wrap(lambda r: metric.returns(0.9, r))(r), np_returns(0.9, r), **tol)
    np.testing.assert_allclose(
        wrap(lambda r, v, d: metric.bootstrapped_returns(0.9, r, v, d))(r, last_V, reach), np_returns(0.9, r, Bv), **tol
    )
    target, error = np_td0(0.95, r, V, Bv)
    np.testing.assert_allclose(wrap(lambda *a: metric.td0_target(0.95, *a))(r, V, last_V, reach), target, **tol)
    np.testing.assert_allclose(wrap(lambda *a: metric.td0_error(0.95, *a))(r, V, last_V, reach), error, **tol)
    np.testing.assert_allclose(
        wrap(lambda *a: metric.gae(0.95, 0.8, *a))(r, V, last_V, reach), np_gae(0.95, 0.8, r, V, Bv), **tol
    )
    for clips in [(1.0, 1.0), (0.7, 1.3)]:
        vs, As = wrap(lambda *a, c=clips: metric.vtrace(*a[:2], 0.9, *a[2:], *c))(blp, tlp, r, V, last_V, reach)
        ref_vs, ref_As = np_vtrace(blp, tlp, 0.9, r, V, Bv, *clips)
        np.testing.assert_allclose(vs, ref_vs, **tol)
        np.testing.assert_allclose(As, ref_As, **tol)


def test_scalar_last_V_and_reach_terminal_broadcast_over_batch():
    r, V, *_ = random_case((5, 3), seed=0)
    out = metric.gae(0.9, 0.9, r, V, 2.0, False)
    np.testing.assert_allclose(out, np_gae(0.9, 0.9, r, V, np.full(3, 2.0)), rtol=1e-5, atol=1e-5)
    out = metric.gae(0.9, 0.9, r, V, 2.0, np.array([True, False, True]))
    np.testing.assert_allclose(out, np_gae(0.9, 0.9, r, V, np.array([0.0, 2.0, 0.0])), rtol=1e-5, atol=1e-5)


def test_length_one_last_V_for_a_single_segment():
    """lagom's agents pass V(s_T) with shape [1] for a [T] segment: same numbers as a scalar."""
    np.testing.assert_allclose(metric.gae(1.0, 0.5, [1, 2, 3], [0.1, 1.1, 2.1], [10], True), [3.725, 3.45, 0.9], 1e-6)
    np.testing.assert_allclose(
        metric.gae(1.0, 0.5, [1, 2, 3, 4, 5], [0.5, 1.5, 2.5, 3.5, 4.5], [20], False),
        [6.40625, 8.8125, 11.625, 15.25, 20.5],
        1e-6,
    )
    np.testing.assert_allclose(
        metric.bootstrapped_returns(0.99, [0.1, 0.2, 0.3, 0.4], [2], False), [2.901342, 2.829638, 2.6562, 2.38], 1e-5
    )
    np.testing.assert_allclose(metric.td0_target(0.99, [0.1, 0.2, 0.3, 0.4], [1, 2, 3, 4], [2], False),
                               [2.08, 3.17, 4.26, 2.38], 1e-5)  # fmt: skip
    vs, As = metric.vtrace([0, 0, 0], np.log([0.5, 1, 2]), 0.9, [1, 0, 2], [0.5, 1, 1.5], [3], False)
    np.testing.assert_allclose(vs, [2.6535, 4.23, 4.7], 1e-4)
    with pytest.raises(ValueError, match="last_V"):
        metric.gae(1.0, 0.5, [1, 2, 3], [0.1, 1.1, 2.1], [10, 11], True)


def test_vtrace_on_policy_equals_td_lambda_one_returns():
    """With rho = 1 and no clipping V-trace's vs are the bootstrapped returns (Espeholt et al., remark 1)."""
    r, V, last_V, reach, blp, _ = random_case((6, 4), seed=3)
    vs, As = metric.vtrace(blp, blp, 0.9, r, V, last_V, reach)
    np.testing.assert_allclose(vs, metric.bootstrapped_returns(0.9, r, last_V, reach), rtol=1e-5, atol=1e-5)


def test_float64_under_x64():
    with jax.enable_x64(True):
        r = np.random.default_rng(0).standard_normal((50, 3))
        out = metric.gae(0.99, 0.95, r, r * 0.5, 1.0, False)
        assert out.dtype == jnp.float64
        np.testing.assert_allclose(out, np_gae(0.99, 0.95, r, r * 0.5, np.ones(3)), rtol=1e-12)


def test_grad_and_vmap():
    r, V, last_V, reach, *_ = random_case((6, 2), seed=5)
    # d/dr_k sum_t G_t = sum_{t<=k} gamma^(k-t)
    g = jax.grad(lambda r: metric.returns(0.5, r).sum())(r)
    expected = np.array([sum(0.5 ** (k - t) for t in range(k + 1)) for k in range(6)])
    np.testing.assert_allclose(g, np.broadcast_to(expected[:, None], (6, 2)), rtol=1e-6)
    # vmap over a leading axis equals the per-element results
    rs, Vs = np.stack([r, 2 * r]), np.stack([V, -V])
    batched = jax.vmap(lambda r, V: metric.gae(0.9, 0.8, r, V, last_V, reach))(rs, Vs)
    for i in range(2):
        np.testing.assert_allclose(batched[i], metric.gae(0.9, 0.8, rs[i], Vs[i], last_V, reach), rtol=1e-6)
    # gamma and lam may be traced (vmapped hyper-parameter sweeps)
    sweep = jax.vmap(lambda g: metric.gae(g, 0.8, r, V, last_V, reach))(jnp.array([0.9, 0.99]))
    np.testing.assert_allclose(sweep[1], metric.gae(0.99, 0.8, r, V, last_V, reach), rtol=1e-6)


def test_no_retrace_on_second_call():
    traces = []

    def fn(r, V, last_V, reach):
        traces.append(1)
        return metric.gae(0.99, 0.95, r, V, last_V, reach), metric.vtrace(r, V, 0.99, r, V, last_V, reach)

    jitted = jax.jit(fn)
    for seed in range(3):
        r, V, last_V, reach, *_ = random_case((8, 4), seed)
        jax.block_until_ready(jitted(r, V, last_V, reach))
    assert len(traces) == 1

    traces_rollout = []

    def fn_rollout(r, V, nV, term, trunc):
        traces_rollout.append(1)
        return metric.gae_rollout(0.99, 0.95, r, V, nV, term, trunc)

    jitted = jax.jit(fn_rollout)
    for seed in range(3):
        r, V, *_ = random_case((8, 4), seed)
        jax.block_until_ready(jitted(r, V, V, r > 1, r < -1))
    assert len(traces_rollout) == 1


# ------------------------------------------------------------------------------------------------
# rollout (multi-episode) variants
# ------------------------------------------------------------------------------------------------


def random_rollout(shape, seed, p_end=0.2):
    rng = np.random.default_rng(seed)
    r = rng.standard_normal(shape).astype(np.float32)
    V = rng.standard_normal(shape).astype(np.float32)
    nV = rng.standard_normal(shape).astype(np.float32)
    term = rng.random(shape) < p_end
    trunc = (rng.random(shape) < p_end) & ~term
    blp = np.log(rng.uniform(0.2, 1, shape)).astype(np.float32)
    tlp = np.log(rng.uniform(0.2, 1, shape)).astype(np.float32)
    return r, V, nV, term, trunc, blp, tlp


def episodes(term, trunc):
    """(start, stop) of each episode piece in one [T] column; the last piece may be unfinished."""
    ends = np.flatnonzero(term | trunc).tolist()
    starts = [0] + [e + 1 for e in ends]
    stops = [e + 1 for e in ends] + [len(term)]
    return [(a, b) for a, b in zip(starts, stops) if b > a]


@pytest.mark.parametrize("seed", range(2))
def test_rollout_equals_single_segment_episode_by_episode(seed):
    T, B = 30, 3
    r, V, nV, term, trunc, blp, tlp = random_rollout((T, B), seed)
    done = term | trunc
    # Inside an episode the next value of step t is V(s_{t+1}); only episode ends (and the end of the
    # batch) take the separate value of the true final observation. Make nV consistent with that.
    nV = np.where(done | (np.arange(T) == T - 1)[:, None], nV, np.roll(V, -1, axis=0))
    g, lam = 0.97, 0.9
    out = {
        "returns": metric.returns_rollout(g, r, term, trunc),
        "boot": metric.bootstrapped_returns_rollout(g, r, nV, term, trunc),
        "gae": metric.gae_rollout(g, lam, r, V, nV, term, trunc),
        "vtrace": metric.vtrace_rollout(blp, tlp, g, r, V, nV, term, trunc),
    }
    tol = dict(rtol=1e-5, atol=1e-5)
    n_episodes = 0
    for b in range(B):
        for a, z in episodes(term[:, b], trunc[:, b]):
            n_episodes += 1
            s = slice(a, z)
            # the piece's last_V is the value of its true final observation, reach_terminal its flag
            last_V, reach = nV[z - 1, b], bool(term[z - 1, b])
            ref = (
                np_returns(g, r[s, b]),
                np_returns(g, r[s, b], np_bootstrap(last_V, reach, ())),
                np_gae(g, lam, r[s, b], V[s, b], np_bootstrap(last_V, reach, ())),
                np_vtrace(blp[s, b], tlp[s, b], g, r[s, b], V[s, b], np_bootstrap(last_V, reach, ())),
            )
            np.testing.assert_allclose(out["returns"][s, b], ref[0], **tol)
            np.testing.assert_allclose(out["boot"][s, b], ref[1], **tol)
            np.testing.assert_allclose(out["gae"][s, b], ref[2], **tol)
            np.testing.assert_allclose(out["vtrace"][0][s, b], ref[3][0], **tol)
            np.testing.assert_allclose(out["vtrace"][1][s, b], ref[3][1], **tol)
    assert n_episodes > 2 * B  # the case really has several episodes per column
    # and the single-segment functions agree with those references on one episode
    a, z = episodes(term[:, 0], trunc[:, 0])[0]
    last_V, reach = nV[z - 1, 0], bool(term[z - 1, 0])
    np.testing.assert_allclose(metric.gae(g, lam, r[a:z, 0], V[a:z, 0], last_V, reach), out["gae"][a:z, 0], **tol)
    np.testing.assert_allclose(
        metric.vtrace(blp[a:z, 0], tlp[a:z, 0], g, r[a:z, 0], V[a:z, 0], last_V, reach)[0],
        out["vtrace"][0][a:z, 0],
        **tol,
    )


def test_td0_rollout_is_per_step():
    r, V, nV, term, trunc, *_ = random_rollout((20, 3), seed=7)
    target = metric.td0_target_rollout(0.9, r, nV, term)
    np.testing.assert_allclose(target, r + 0.9 * (1 - term) * nV, rtol=1e-6)
    np.testing.assert_allclose(metric.td0_error_rollout(0.9, r, V, nV, term), target - V, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("jit", [False, True])
def test_gae_rollout_against_numpy_loop(shape, jit):
    r, V, nV, term, trunc, *_ = random_rollout(shape, seed=11)
    fn = lambda *a: metric.gae_rollout(0.99, 0.95, *a)  # noqa: E731
    fn = jax.jit(fn) if jit else fn
    np.testing.assert_allclose(
        fn(r, V, nV, term, trunc), np_gae_rollout(0.99, 0.95, r, V, nV, term, trunc), rtol=1e-5, atol=1e-5
    )


def test_truncation_bootstraps_and_termination_does_not():
    r = jnp.ones(2)
    V = jnp.zeros(2)
    nV = jnp.array([5.0, 0.0])
    # step 0 ends an episode; only the kind of ending differs
    terminated = metric.gae_rollout(1.0, 1.0, r, V, nV, jnp.array([True, False]), jnp.array([False, False]))
    truncated = metric.gae_rollout(1.0, 1.0, r, V, nV, jnp.array([False, False]), jnp.array([True, False]))
    assert float(terminated[0]) == 1.0  # r_0 only
    assert float(truncated[0]) == 6.0  # r_0 + V(true final obs)
    # and neither leaks the next episode's reward into step 0
    both = metric.returns_rollout(1.0, r, jnp.array([True, False]), jnp.array([True, False]))
    np.testing.assert_allclose(both, [1.0, 1.0])


def test_next_values_uses_true_final_observation():
    Vs = jnp.array([[1.0], [2.0], [3.0]])
    final = jnp.array([[10.0], [20.0], [30.0]])
    done = jnp.array([[False], [True], [False]])
    out = metric.next_values(Vs, jnp.array([4.0]), done, final)
    np.testing.assert_allclose(out[:, 0], [2.0, 20.0, 4.0])


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------


def test_mismatched_shapes_raise_naming_arguments():
    r = np.zeros((5, 3))
    with pytest.raises(ValueError, match=r"Vs .*rewards.*\(4, 3\).*\(5, 3\)"):
        metric.gae(0.9, 0.9, r, np.zeros((4, 3)), 0.0, False)
    with pytest.raises(ValueError, match=r"last_V.*\(3,\).*\(4,\)"):
        metric.gae(0.9, 0.9, r, r, np.zeros(4), False)
    with pytest.raises(ValueError, match=r"reach_terminal"):
        metric.bootstrapped_returns(0.9, r, 0.0, np.zeros(2, bool))
    with pytest.raises(ValueError, match=r"behavior_logprobs"):
        metric.vtrace(np.zeros(5), r, 0.9, r, r, 0.0, False)
    with pytest.raises(ValueError, match=r"truncated.*\(5,\)"):
        metric.gae_rollout(0.9, 0.9, r, r, r, np.zeros((5, 3), bool), np.zeros(5, bool))
    with pytest.raises(ValueError, match=r"rewards must have at least 1"):
        metric.returns(0.9, 1.0)
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\]"):
        metric.returns(1.5, r)
    with pytest.raises(ValueError, match=r"lam must lie"):
        metric.gae(0.9, -0.1, r, r, 0.0, False)
    with pytest.raises(TypeError, match=r"rewards must be array-like"):
        metric.returns(0.9, object())


def test_shape_errors_also_raise_under_jit():
    with pytest.raises(ValueError, match="Vs"):
        jax.jit(lambda r, V: metric.gae(0.9, 0.9, r, V, 0.0, False))(jnp.zeros(4), jnp.zeros(3))
