"""CLI sub-commands."""
