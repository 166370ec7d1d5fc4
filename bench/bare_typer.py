"""The anchor for the CLI's start-up time: a bare two-command Typer app."""

import typer

app = typer.Typer()


@app.command()
def one() -> None:
    """The first command."""


@app.command()
def two() -> None:
    """The second command."""


if __name__ == "__main__":
    app()
