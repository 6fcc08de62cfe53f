"""The one resolver of defaults: (project, the user's choices) -> the complete job spec.

Every default a job runs with (epochs, early stopping, image size, colour, augmentation, export quantization,
unsure threshold) is decided here, from the architecture's descriptor, the export target's declarations, the
project's settings and its images. The CLI resolves its flags with it; the window resolves the form with it,
shows what was decided and sends that spec, fully spelled out, to the CLI child (docs/adr/0006).

- :mod:`.train`: :class:`~.train.TrainChoices` -> :class:`~.train.TrainPlan` (a :class:`TrainConfig` + notes)
- :mod:`.export`: :class:`~.export.ExportChoices` -> :class:`~.export.ExportPlan` (format + :class:`ExportOptions`)
- :mod:`.recommend`: which architecture and augmentation suit the project's data (the window's first choice)
"""
