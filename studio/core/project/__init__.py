"""The project store: the folder, its SQLite database, runs, settings and the demo."""
