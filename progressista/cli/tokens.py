"""``progressista tokens new``: a fresh random token, and the lines that grant it a role.

The token comes from :mod:`secrets`; the tokens-file line holds only its SHA-256
(:func:`~progressista.protocol.roles.file_line`), so the file can be read by
others without giving the token away. Nothing is sent anywhere: the server reads
the line at its next start.
"""

from __future__ import annotations

import json
import secrets
from typing import Annotated

import typer

from progressista.protocol.roles import ROLES, Role, file_line

__all__ = ["tokens_app"]

tokens_app = typer.Typer(
    help="Make tokens with roles: ingest (workers), read (dashboards), admin (everything).",
    no_args_is_help=True,
)

#: Random bytes in a new token (43 URL-safe characters).
TOKEN_BYTES = 32


def _new_token() -> str:
    """Random URL-safe text; never starting with ``-``, which a command line would take for an option."""
    while (token := secrets.token_urlsafe(TOKEN_BYTES)).startswith("-"):
        pass
    return token


@tokens_app.command("new")
def new(
    role: Annotated[str, typer.Option(help=f"What the token may do: {', '.join(ROLES)}", show_default=True)] = "read",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object, for scripts")] = False,
) -> None:
    """Print a new random token with the tokens-file line (hashed) and the PROGRESSISTA_API_TOKENS entry."""
    if role not in ROLES:
        typer.echo(f"Error: --role: {role!r} is not a role; use {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    chosen: Role = next(name for name in ROLES if name == role)
    token = _new_token()
    line, entry = file_line(chosen, token), f"{chosen}:{token}"
    if as_json:
        typer.echo(json.dumps({"role": chosen, "token": token, "tokens_file_line": line, "api_tokens_entry": entry}))
        return
    typer.echo(f"New {chosen} token (shown once; give it to whoever needs it and keep it secret):")
    typer.echo(f"  {token}")
    typer.echo("Add this line to the tokens file (PROGRESSISTA_TOKENS_FILE); it holds only the token's hash:")
    typer.echo(f"  {line}")
    typer.echo("Or add this entry to PROGRESSISTA_API_TOKENS (comma separated):")
    typer.echo(f"  {entry}")
