"""Long work for the window: thread-pool workers and the CLI child processes (train, export, health)."""
