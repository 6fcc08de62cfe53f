"""Reusable pieces of the studio's pages (grid, class panel, dialogs, camera)."""
