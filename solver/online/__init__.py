"""online layer."""
