"""rus.compute."""
