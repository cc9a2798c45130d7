"""rus.chains."""
