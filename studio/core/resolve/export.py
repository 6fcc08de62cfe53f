"""Export jobs: the user's choices over the run's architecture and the format's declarations -> one spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from studio.core.export.targets import DEFAULT_TARGET, ExportTarget, get_target
from studio.core.specs import ExportOptions
from studio.core.training import architectures

if TYPE_CHECKING:
    from studio.core.evaluation import unsure
    from studio.core.project.store import Project, RunRecord


@dataclass(frozen=True)
class ExportChoices:
    """What the user said; None = not said, the resolver decides."""

    format: str = DEFAULT_TARGET
    quantization: str | None = None
    unsure_threshold: float | None = None  # None: from the validation split, at export (evaluation/unsure.py)
    title: str | None = None  # the page's title; None: the class names (export/web_app.page_title)
    keep_known: float | None = None  # share of known images answered; None: the project's choice (default 95 %)
    zip: bool = False
    force: bool = False


@dataclass(frozen=True)
class ExportPlan:
    format: str
    options: ExportOptions

    @property
    def quantization(self) -> str:
        return self.options.quantization


def default_quantization(arch_name: str, target: ExportTarget) -> str:
    """The architecture's preferred quantization where the format offers it, else the format's own default.
    A run of an architecture no longer registered gets the format's default."""
    try:
        arch = architectures.get(arch_name)
    except ValueError:
        return target.default_quantization
    return arch.quantization_for(target.quantizations, target.default_quantization)


def resolve_export(project: Project, run_id: str | None, choices: ExportChoices) -> ExportPlan:
    """The export of ``run_id`` (None = the latest finished run) as it will be written."""
    from studio.core.evaluation import unsure  # NumPy: on first use (the Export page resolves at launch)

    target = get_target(choices.format)
    run = project.resolve_run(run_id)
    threshold = choices.unsure_threshold
    if threshold is not None:
        threshold = unsure.check_threshold(threshold)
    keep = choices.keep_known
    if keep is not None:
        keep = unsure.check_keep(keep)
    options = ExportOptions(quantization=choices.quantization or default_quantization(run.arch, target),
                            zip=choices.zip, force=choices.force, unsure_threshold=threshold, keep_known=keep,
                            title=choices.title)
    return ExportPlan(target.name, options)



def unsure_rule(project: Project, run: RunRecord, plan: ExportPlan) -> unsure.UnsureRule:
    """The page's decision rule the export writes ("not sure" and "not one of the classes"), decided by
    :func:`studio.core.evaluation.unsure.calibrate` alone (validation and training scores, never test)."""
    from studio.core.evaluation import unsure

    return unsure.calibrate(project, run, plan.options.keep_known, plan.options.unsure_threshold)
