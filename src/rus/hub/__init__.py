"""rus.hub."""
