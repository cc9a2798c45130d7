"""rus.services."""
