"""Training under tf.distribute.MirroredStrategy over two logical CPU devices.

Runs in a subprocess: logical devices must be configured before TensorFlow initialises, which has already
happened in this test process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from studio.core.project.demo import create_demo_project
    from studio.core.specs import PreprocessSpec, TrainConfig
    from studio.core.training.run import choose_strategy, train

    project, _ = create_demo_project(sys.argv[1], limit=120)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    events = []
    run = train(project, TrainConfig(arch="cnn", preprocess=PreprocessSpec(image_size=16), epochs=2,
                                     batch_size=16), lambda e: events.append(e.to_dict()["event"]), strategy=strategy)
    timings = json.loads((project.run_dir(run.id) / "timings.json").read_text())
    print(json.dumps({"status": run.status, "error": run.error, "timings": timings,
                      "epoch_ends": events.count("epoch_end"), "default": type(choose_strategy()).__name__}))
""")


def test_mirrored_strategy_over_two_logical_cpus(tmp_path: Path) -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TF_CONFIG", None)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "p")], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "finished", result["error"]
    assert result["timings"]["strategy"] == "MirroredStrategy"
    assert result["timings"]["replicas"] == 2
    assert result["epoch_ends"] == 2
    # Without GPUs or TF_CONFIG the trainer picks the default (single-device) strategy.
    assert result["default"] == "_DefaultDistributionStrategy"
