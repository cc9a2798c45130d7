"""rus.workspaces."""
