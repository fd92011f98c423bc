"""PBT over every device of a ``jax.distributed`` job, for real on this machine: two processes on
localhost, each with two forced host devices (CPU collectives over gloo), run one PBT population
of PPO agents split over the four devices; the result equals one process with four devices."""

import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

WORKER = textwrap.dedent(
    """
    import os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=" + sys.argv[3]
    import jax
    import numpy as np

    num_processes, process_id, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[4], sys.argv[5]
    if num_processes > 1:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(f"localhost:{port}", num_processes=num_processes, process_id=process_id)
    assert len(jax.devices()) == 4 and len(jax.local_devices()) == 4 // num_processes

    from lagomjax.algos import ppo
    from lagomjax.experiment import pbt

    config = ppo.Config(env_id="CartPole-v1", num_envs=2, num_steps=32, total_steps=2 * 32 * 8, hidden_sizes=(16,),
                        num_minibatches=2, update_epochs=2, eval_episodes=2)
    space = {"lr": {"low": 1e-4, "high": 1e-2, "log": True}, "ent_coef": {"low": 0.0, "high": 0.05}}
    result = pbt(ppo.make_parts, config, space, population=8, interval=2, seed=3, progress=False,
                 checkpoint=os.path.join(os.path.dirname(out), f"pbt{num_processes}.ckpt"))
    np.savez(out, eval=result.eval_return, fitness=result.history["fitness"], source=result.history["source"],
             lr=result.history["hparams"]["lr"], pg_loss=result.metrics["pg_loss"],
             theta=np.asarray(jax.tree.leaves(jax.device_get(
                 jax.experimental.multihost_utils.process_allgather(result.state.members.agent, tiled=True)))[0]))
    print("done", process_id, flush=True)
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_pbt_over_two_processes_equals_one_process(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text("import jax.experimental.multihost_utils\n" + WORKER)
    port = str(free_port())

    def start(n, i, devices, out):
        cmd = [sys.executable, str(script), str(n), str(i), str(devices), port, str(tmp_path / out)]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    procs = [start(2, 0, 2, "p0"), start(2, 1, 2, "p1")]
    single = start(1, 0, 4, "single")
    for p in [*procs, single]:
        out, err = p.communicate(timeout=900)
        assert p.returncode == 0, err[-3000:]
    ref = np.load(tmp_path / "single.npz")
    assert ref["fitness"].shape == (4, 8) and (ref["source"][:-1] != np.arange(8)).any()  # selection happened
    for name in ("p0", "p1"):
        got = np.load(tmp_path / f"{name}.npz")
        for key in ref.files:
            np.testing.assert_array_equal(got[key], ref[key], err_msg=f"{name} {key}")
    assert (tmp_path / "pbt2.ckpt").exists()  # process 0 wrote the population gathered from both
