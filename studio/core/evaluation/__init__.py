"""Evaluation of a run: the report, predictions, the 'not sure' rule."""
