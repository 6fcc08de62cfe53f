"""`cluster-spec`: the TF_CONFIG of one worker of a multi-worker training run."""

from __future__ import annotations

import argparse
import json
import shlex

from studio.commands.output import emit_json


def cluster_spec(args: argparse.Namespace) -> int:
    from studio.commands.protocol import ExitCode, UserError
    from studio.core.training.cluster import ENV, ClusterSpecError, tf_config

    try:
        config = tf_config(args.workers, args.index)
    except ClusterSpecError as exc:
        raise UserError(str(exc)) from None
    if args.json:
        emit_json(config)
    else:
        print(f"export {ENV}={shlex.quote(json.dumps(config, separators=(',', ':')))}")
    return ExitCode.OK
