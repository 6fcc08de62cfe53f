"""Data health: likely mislabels, near-duplicates and leaks, outliers."""
