"""rus.portal."""
