"""rus.toolbox."""
