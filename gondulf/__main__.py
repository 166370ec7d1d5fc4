"""`python -m gondulf` runs the admin command line."""

from gondulf.cli.main import main

main()
