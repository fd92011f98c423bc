"""Plots and images (matplotlib only, no OpenGL): learning curves from lagom's log layout with mean
and band over seeds per config ID, tick formatting, image grids, a simple viewer, and functional-env
episodes rendered to GIF."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lagomjax._checks import check_int
from lagomjax.experiment.layout import read_csv
from lagomjax.transform import interp_curves, smooth_filter
from lagomjax.utils import pickle_load, yaml_load


def _numbered_dirs(path: Path) -> list[Path]:
    return sorted((p for p in path.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))


def read_xy(log_folder, file_name, get_x, get_y, smooth_out=False, smooth_kws=None, point_step=1) -> list[dict]:
    """Learning curves of every config ID under ``log_folder`` (lagom's ``<ID>/<seed>/<file_name>``).

    ``file_name`` is a Logger pickle (``train_logs.pkl``: unpickling runs code, so read only logs you
    trust) or the CSV written beside it (``train_logs.csv``: columns by name, safe to read).

    Args:
      get_x, get_y: ``logs -> 1-D sequence`` for the loaded log of one seed (e.g.
        ``lambda logs: logs['env_steps']``); ``NaN`` ys (no finished episode) are forward-filled.
      smooth_out, smooth_kws: Savitzky-Golay smoothing (``transform.smooth_filter`` arguments).
      point_step: keep every ``point_step``-th interpolated point.

    Returns:
      one dict per config ID: ``ID``, ``config`` (from ``config.yml``), ``x [P]`` and ``ys [seeds, P]``
      (the seeds' curves interpolated onto a common ``x``), ``seeds``.
    """
    out = []
    for id_dir in _numbered_dirs(Path(log_folder)):
        xs, ys, seeds = [], [], []
        for seed_dir in _numbered_dirs(id_dir):
            if not (seed_dir / file_name).exists():
                continue
            path = seed_dir / file_name
            logs = read_csv(path) if path.suffix == ".csv" else pickle_load(path)
            x = np.asarray(get_x(logs), np.float64)
            y = _ffill(np.asarray(get_y(logs), np.float64))
            if x.shape != y.shape or x.ndim != 1:
                raise ValueError(f"{seed_dir / file_name}: get_x and get_y must give 1-D sequences of one length")
            keep = np.isfinite(y)
            xs.append(x[keep])
            ys.append(y[keep])
            seeds.append(int(seed_dir.name))
        if not xs:
            continue
        new_x, new_ys = interp_curves(xs, ys, num_point=max(len(x) for x in xs))
        new_x, new_ys = np.asarray(new_x), np.asarray(new_ys)
        if smooth_out:
            new_ys = np.stack(
                [smooth_filter(y, **(smooth_kws or {"window_length": 5, "polyorder": 2})) for y in new_ys]
            )
        config = yaml_load(id_dir / "config.yml") if (id_dir / "config.yml").exists() else {}
        out.append(
            {
                "ID": int(id_dir.name),
                "config": config,
                "x": new_x[::point_step],
                "ys": new_ys[:, ::point_step],
                "seeds": seeds,
            }
        )
    return out


def _ffill(y):
    """Carry the last finite value forward (NaN where no episode finished)."""
    y = y.copy()
    for i in range(1, len(y)):
        if not np.isfinite(y[i]):
            y[i] = y[i - 1]
    return y


def bootstrap_ci(ys, ci: float = 0.95, n_boot: int = 2000, seed: int = 0):
    """Percentile-bootstrap confidence interval of the mean over seeds (rows of ``ys [seeds, T]``),
    per column: ``(low [T], high [T])``. Seeds are resampled with replacement ``n_boot`` times;
    NaN entries are left out of each mean (a column with no value gives NaN)."""
    ys = np.asarray(ys, np.float64)
    if ys.ndim != 2 or ys.shape[0] < 1:
        raise ValueError(f"ys must be [seeds, T] with at least one seed, got shape {ys.shape}")
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must lie in (0, 1), got {ci}")
    idx = np.random.default_rng(seed).integers(0, ys.shape[0], (n_boot, ys.shape[0]))
    means = _nanmean(ys[idx], axis=1)  # [n_boot, T]
    alpha = (1.0 - ci) / 2.0
    lo, hi = np.full(ys.shape[1], np.nan), np.full(ys.shape[1], np.nan)
    some = np.isfinite(means).any(axis=0)  # columns with no value at all stay NaN (and warn nothing)
    if some.any():
        lo[some], hi[some] = np.nanquantile(means[:, some], [alpha, 1.0 - alpha], axis=0)
    return lo, hi


def _iqm(x):
    """Interquartile mean of a flat array: the mean of its middle 50% (scipy's 25%-trimmed mean)."""
    x = np.sort(np.ravel(x))
    cut = int(0.25 * x.size)
    return x[cut : x.size - cut].mean()


AGGREGATES = {
    "IQM": lambda s, gamma: _iqm(s),
    "mean": lambda s, gamma: s.mean(),
    "median": lambda s, gamma: np.median(s.mean(axis=0)),
    "optimality gap": lambda s, gamma: gamma - np.minimum(s, gamma).mean(),
}


def aggregate_metrics(scores, reps: int = 2000, ci: float = 0.95, gamma: float = 1.0, seed: int = 0) -> dict:
    """Aggregate performance across runs and tasks as rliable defines it (Agarwal et al., NeurIPS
    2021): ``scores [runs, tasks]`` (normalised scores) -> ``{name: (point, low, high)}`` for the
    interquartile mean over all runs and tasks, the mean, the median of per-task means and the
    optimality gap ``gamma - mean(min(score, gamma))``, each with a percentile confidence interval
    from a *stratified* bootstrap (runs resampled with replacement within each task)."""
    s = np.asarray(scores, np.float64)
    if s.ndim != 2 or min(s.shape) < 1 or not np.isfinite(s).all():
        raise ValueError(f"scores must be a finite [runs, tasks] array, got shape {s.shape}")
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must lie in (0, 1), got {ci}")
    rng = np.random.default_rng(seed)
    runs, tasks = s.shape
    idx = rng.integers(0, runs, (reps, runs, tasks))
    boots = np.take_along_axis(np.broadcast_to(s, (reps, runs, tasks)), idx, axis=1)
    alpha = (1.0 - ci) / 2.0
    out = {}
    for name, f in AGGREGATES.items():
        values = np.array([f(b, gamma) for b in boots])
        lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
        out[name] = (float(f(s, gamma)), float(lo), float(hi))
    return out


def _nanmean(ys, axis=0):
    """``nanmean`` that gives NaN for all-NaN columns without a warning."""
    count = np.isfinite(ys).sum(axis=axis)
    return np.where(count > 0, np.nansum(ys, axis=axis) / np.maximum(count, 1), np.nan)


def plot_mean_band(ax, x, ys, label=None, band="minmax", **kwargs):
    """Mean over seeds (rows of ``ys``) and a band: ``'minmax'``, ``'std'`` (one std) or ``'ci95'``
    (95% percentile-bootstrap confidence interval of the mean, :func:`bootstrap_ci`)."""
    ys = np.asarray(ys, np.float64)
    mean = _nanmean(ys, axis=0)
    if band == "ci95":
        lo, hi = bootstrap_ci(ys)
    elif band == "std":
        lo, hi = mean - np.nanstd(ys, axis=0), mean + np.nanstd(ys, axis=0)
    elif band == "minmax":
        lo, hi = np.nanmin(ys, axis=0), np.nanmax(ys, axis=0)
    else:
        raise ValueError(f"band must be 'minmax', 'std' or 'ci95', got {band!r}")
    (line,) = ax.plot(x, mean, label=label, **kwargs)
    ax.fill_between(x, lo, hi, alpha=0.2, color=line.get_color())
    return line


def plot_curves(curves, ax=None, label=lambda c: f"ID {c['ID']}", band="minmax"):
    """Draw :func:`read_xy`'s curves, one mean-and-band per config ID. Returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for c in curves:
        plot_mean_band(ax, c["x"], c["ys"], label=label(c), band=band)
    ax.legend(loc="best")
    return ax


def save_figure(fig, path, dpi: int = 150, also=()) -> Path:
    """Save ``fig`` atomically (temp file + rename) at ``dpi`` and, for each suffix in ``also``
    (e.g. ``('.svg', '.pdf')``), beside it in that vector format; close it. Returns ``path``."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for out in [path, *(path.with_suffix(s) for s in also)]:
        tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
        fig.savefig(tmp, dpi=dpi)
        tmp.replace(out)
    plt.close(fig)
    return path


def set_ticker(ax, axis="x", num=None, KM_format=False, integer=False):
    """At most ``num`` ticks on ``axis``; ``KM_format`` writes 1500 as 1.5K and 2e6 as 2M."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = ax.xaxis if axis == "x" else ax.yaxis if axis == "y" else None
    if target is None:
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    if num is not None or integer:
        target.set_major_locator(MaxNLocator(nbins=num or "auto", integer=integer))
    if KM_format:
        target.set_major_formatter(FuncFormatter(lambda v, _: _km(v)))
    return ax


def _km(v):
    for scale, suffix in ((1e6, "M"), (1e3, "K")):
        if abs(v) >= scale:
            return f"{v / scale:g}{suffix}"
    return f"{v:g}"


class GridImage:
    """Collect images (``[H, W]``, ``[H, W, C]`` or batches of them) and tile them ``ncol`` per row."""

    def __init__(self, ncol=8, padding=2, pad_value=0):
        check_int("ncol", ncol, low=1)
        check_int("padding", padding, low=0)
        self.ncol, self.padding, self.pad_value = ncol, padding, pad_value
        self.images: list[np.ndarray] = []

    def add(self, x):
        x = np.asarray(x)
        if x.ndim in (2, 3) and not (x.ndim == 3 and x.shape[-1] not in (1, 3, 4)):
            x = x[None]
        self.images.extend(x[..., None] if x.ndim == 3 else x)

    def grid(self) -> np.ndarray:
        if not self.images:
            raise ValueError("GridImage is empty: add images first")
        h, w, c = self.images[0].shape
        if any(im.shape != (h, w, c) for im in self.images):
            raise ValueError(f"all images must have shape {(h, w, c)}")
        ncol = min(self.ncol, len(self.images))
        nrow = -(-len(self.images) // ncol)
        p = self.padding
        out = np.full((nrow * (h + p) + p, ncol * (w + p) + p, c), self.pad_value, dtype=self.images[0].dtype)
        for i, im in enumerate(self.images):
            r, col = divmod(i, ncol)
            out[p + r * (h + p) : p + r * (h + p) + h, p + col * (w + p) : p + col * (w + p) + w] = im
        return out

    def __call__(self, ax=None, **kwargs):
        """Show the grid on ``ax`` (a new figure by default)."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots()[1]
        g = self.grid()
        ax.imshow(g[..., 0] if g.shape[-1] == 1 else g, **kwargs)
        ax.axis("off")
        return ax


class ImageViewer:
    """Show a stream of RGB frames in one matplotlib figure (works headless: frames are kept)."""

    def __init__(self, title="lagomjax", keep=True):
        import matplotlib.pyplot as plt

        self.fig, self.ax = plt.subplots()
        self.fig.canvas.manager.set_window_title(title) if self.fig.canvas.manager else None
        self.ax.axis("off")
        self.artist, self.keep, self.frames, self.isopen = None, keep, [], True

    def imshow(self, img):
        import matplotlib.pyplot as plt

        img = np.asarray(img)
        if self.artist is None:
            self.artist = self.ax.imshow(img)
        else:
            self.artist.set_data(img)
        if self.keep:
            self.frames.append(img)
        plt.pause(0.001) if plt.get_backend().lower() != "agg" else self.fig.canvas.draw()

    def close(self):
        import matplotlib.pyplot as plt

        plt.close(self.fig)
        self.isopen = False


def plot_learning_curve(metrics, path, title: str, key: str = "episode_return", also=(".svg",)) -> Path:
    """The training curve (``metrics[key]``, ``[seeds, updates]``, NaN where no episode ended: the
    last value is carried forward) and, if present, the periodic deterministic evaluation
    (``metrics['eval_episode_return']``, NaN between evaluations) against ``metrics['env_steps']``:
    mean over seeds with its 95% bootstrap confidence interval, as a 150-dpi PNG and an SVG beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.atleast_2d(np.asarray(metrics["env_steps"]))[0]  # one run's metrics (no seed axis) too
    y = np.atleast_2d(np.asarray(metrics[key], dtype=np.float64))
    n = y.shape[0]
    if y.shape[1] != x.shape[0]:
        raise ValueError(f"metrics[{key!r}] must be [seeds, updates] matching env_steps {x.shape}, got {y.shape}")
    fig, ax = plt.subplots(figsize=(6, 4))
    plot_mean_band(ax, x, np.stack([_ffill(row) for row in y]), band="ci95", label="training episodes")
    if "eval_episode_return" in metrics:
        ev = np.atleast_2d(np.asarray(metrics["eval_episode_return"], np.float64))
        at = np.flatnonzero(np.isfinite(ev).any(axis=0))
        if at.size:
            lo, hi = bootstrap_ci(ev[:, at])
            mean = _nanmean(ev[:, at])
            ax.errorbar(x[at], mean, yerr=[mean - lo, hi - mean], fmt="o-", capsize=3, ms=4,
                        label="deterministic evaluation")  # fmt: skip
    ax.set_xlabel("environment steps")
    ax.set_ylabel(f"return (mean, 95% bootstrap CI over {n} seed{'s' if n > 1 else ''})")
    ax.set_title(title)
    set_ticker(ax, "x", num=6, KM_format=True)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path, also=also)


def plot_pbt(history: dict, path, title: str, steps_per_interval: int = 1, log=(), also=(".svg",)) -> Path:
    """A population based training run's schedules: each searched hyper-parameter and the fitness of
    every member slot over intervals (``history`` from :func:`lagomjax.experiment.pbt`: ``'hparams'``
    ``{name: [K, P]}`` and ``'fitness'`` ``[K, P]``), a panel each, against environment steps
    (``steps_per_interval`` per interval); parameters named in ``log`` on a log axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [*history["hparams"].items(), ("fitness", history["fitness"])]
    fig, axes = plt.subplots(len(panels), 1, figsize=(6, 2.2 * len(panels)), sharex=True, squeeze=False)
    for ax, (name, values) in zip(axes[:, 0], panels, strict=True):
        values = np.asarray(values, np.float64)
        x = np.arange(values.shape[0]) * steps_per_interval
        ax.step(x, values, where="post", lw=1, alpha=0.8)
        ax.set_ylabel(name)
        if name in log:
            ax.set_yscale("log")
    axes[0, 0].set_title(title)
    axes[-1, 0].set_xlabel("environment steps (start of each interval, per member)")
    set_ticker(axes[-1, 0], "x", num=6, KM_format=True)
    fig.tight_layout()
    return save_figure(fig, path, also=also)


def render_frame(env_id: str, physics_state) -> np.ndarray:
    """An RGB frame ``[H, W, 3]`` of a functional environment's innermost state, drawn by the
    ``render`` hook it was registered with (:func:`lagomjax.envs.register`)."""
    return np.asarray(_render_hook(env_id)(physics_state))


def _render_hook(env_id: str):
    from lagomjax import envs

    render = envs.spec(env_id).render
    if render is None:
        raise ValueError(f"{env_id!r} was registered without a render hook: no frames to draw")
    return render


def record_episode(
    env_id: str, act, key, path, max_steps: int | None = None, fps: int = 30, init_policy_state=None, env_kwargs=None
) -> Path:
    """Run one episode of ``env_id`` with the deterministic policy ``act(obs, policy_state) ->
    (action, policy_state)`` (Box actions in ``[-1, 1]``, as the algorithms act) and write it as a
    video: ``.gif`` (Pillow) or ``.mp4``/``.webm``/... (imageio with its ffmpeg plugin:
    ``pip install "lagomjax[video]"``), atomically. Returns the path.

    A registered functional ``env_id`` runs as one jitted scan and is drawn by its ``render`` hook;
    any other id is gymnasium's, stepped in Python and drawn by its ``rgb_array`` render (MuJoCo
    included; on a machine without a display set ``MUJOCO_GL=egl`` or ``osmesa``), seeded from ``key``.
    ``env_kwargs``: the environment's make() arguments (a run's ``config.env_kwargs``, parsed).
    """
    import jax

    from lagomjax import envs

    check_video_path(path, env_id)  # before the episode runs
    if envs.is_registered(env_id):
        frames = _functional_frames(env_id, act, key, max_steps, init_policy_state, env_kwargs or {})
    else:
        from lagomjax.envs.gym_wrappers import play_episode

        first = () if init_policy_state is None else init_policy_state(())
        seed = int(jax.random.randint(key, (), 0, 2**31 - 1))

        def policy(obs, pstate):
            return act(obs, first if pstate is None else pstate)

        frames = play_episode(env_id, policy, seed, True, max_steps, **(env_kwargs or {}))[2]
    return write_video(frames, path, fps)


def episode_gif(
    env_id: str, act, key, path, max_steps: int | None = None, fps: int = 30, init_policy_state=None, env_kwargs=None
):
    """:func:`record_episode` (kept under its first name; the format follows ``path``'s suffix)."""
    return record_episode(env_id, act, key, path, max_steps, fps, init_policy_state, env_kwargs)


def check_video_path(path, env_id: str | None = None) -> None:
    """Now, not after an episode was run: ``ImportError`` if ``path``'s format needs the ``video``
    extra (anything but ``.gif``: imageio's ffmpeg plugin) and it is not installed; ``ValueError`` if
    ``env_id`` is a functional environment registered without a ``render`` hook (nothing draws it)."""
    import importlib.util

    from lagomjax import envs

    if Path(path).suffix.lower() != ".gif" and importlib.util.find_spec("imageio") is None:
        raise ImportError(f'writing {Path(path).suffix} videos needs imageio: pip install "lagomjax[video]"')
    if env_id is not None and envs.is_registered(env_id):
        _render_hook(env_id)


def write_video(frames, path, fps: int = 30) -> Path:
    """Write RGB frames ``[H, W, 3]`` (uint8) to ``path`` atomically: a ``.gif`` with Pillow, any other
    suffix with imageio's ffmpeg plugin (the ``video`` extra). Returns the path."""
    path = Path(path)
    check_video_path(path)
    if not frames:
        raise ValueError("write_video needs at least one frame")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    if path.suffix.lower() == ".gif":
        from PIL import Image

        images = [Image.fromarray(np.asarray(f, np.uint8)) for f in frames]
        images[0].save(tmp, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    else:
        import imageio.v2 as imageio  # present: check_video_path above

        imageio.mimwrite(tmp, [np.asarray(f, np.uint8) for f in frames], fps=fps, macro_block_size=8)
    tmp.replace(path)
    return path


def _functional_frames(env_id: str, act, key, max_steps, init_policy_state, env_kwargs) -> list:
    """Frames of one episode of a registered functional environment (one jitted scan, then drawn)."""
    import jax

    from lagomjax import envs

    env = envs.make(env_id, auto_reset=False, episode_statistics=False, **env_kwargs)
    if hasattr(env.action_space, "low"):
        env = envs.RescaleAction(env)
    steps = max_steps or envs.time_limit(env_id)

    def step(carry, key):
        state, obs, pstate, done = carry
        action, pstate = act(obs, pstate)
        new_state, new_obs, _, terminated, truncated, _ = env.step(key, state, action)
        return (new_state, new_obs, pstate, done | terminated | truncated), (new_state, done)

    def run(key):
        state, obs = env.reset(key)
        pstate = () if init_policy_state is None else init_policy_state(())
        return state, jax.lax.scan(step, (state, obs, pstate, False), jax.random.split(key, steps))[1]

    state, (states, done_before) = jax.jit(run)(key)
    inner = [_innermost(state)] + [
        _innermost(jax.tree.map(lambda x, i=i: x[i], states)) for i in range(steps) if not bool(done_before[i])
    ]
    return [render_frame(env_id, s) for s in inner]


def _innermost(state):
    """The physics state inside a wrapped functional env's state (wrapper states hold ``inner``)."""
    while hasattr(state, "inner"):
        state = state.inner
    return state
