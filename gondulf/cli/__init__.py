"""The `gondulf` admin command line (Typer + Rich)."""
