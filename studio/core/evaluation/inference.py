"""A Keras model on arrays in this process, batch by batch, without a tf.data pipeline.

``model.predict`` runs its input through a tf.data iterator with an autotune thread that sleeps for up to 60 s
between rounds. An iterator left in a reference cycle is freed later by the garbage collector, and its destructor
waits for that thread: stalls of 20-60 s with no CPU used, at whatever line triggered the collection (native
stacks from ``bench/suite_watchdog.py``). ``predict_on_batch`` runs the same compiled predict step with no
iterator.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def predict_in_batches(model: Any, x: np.ndarray, batch_size: int = 64) -> Any:
    """``model.predict(x, batch_size=...)``'s result (an array, a list of arrays or a dict of arrays, as the
    model's outputs are) for a non-empty array ``x``."""
    outs = [model.predict_on_batch(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    first = outs[0]
    if isinstance(first, dict):
        return {k: np.concatenate([np.asarray(o[k]) for o in outs]) for k in first}
    if isinstance(first, (list, tuple)):
        return [np.concatenate([np.asarray(o[j]) for o in outs]) for j in range(len(first))]
    return np.concatenate([np.asarray(o) for o in outs])
