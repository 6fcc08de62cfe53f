"""Pieces of one page each (the Train page's settings, the Evaluate page's matrix, ...)."""
