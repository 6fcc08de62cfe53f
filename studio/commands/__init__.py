"""Handlers behind `edge-studio` subcommands, one module per group; each returns an exit code."""

from __future__ import annotations

import argparse
import importlib

_HANDLERS = {
    "demo": "studio.commands.project_cmds:demo",
    "import": "studio.commands.project_cmds:import_",
    "info": "studio.commands.project_cmds:info",
    "train": "studio.commands.train_cmds:train",
    "runs": "studio.commands.train_cmds:runs",
    "evaluate": "studio.commands.train_cmds:evaluate",
    "predict": "studio.commands.train_cmds:predict",
    "explain": "studio.commands.explain_cmds:explain",
    "export": "studio.commands.web_cmds:export",
    "serve": "studio.commands.web_cmds:serve",
    "cluster-spec": "studio.commands.cluster_cmds:cluster_spec",
    "health": "studio.commands.health_cmds:health",
}


def dispatch(args: argparse.Namespace) -> int:
    module, func = _HANDLERS[args.command].split(":")
    return int(getattr(importlib.import_module(module), func)(args))
