"""Token roles: what each token may do, and how the tokens file writes them.

Three roles (:data:`ROLES`): ``ingest`` reports progress (``POST /progress``),
``read`` reads (the task lists, ``/ws``, ``/metrics``), ``admin`` does both and
deletes. A route names the *permission* it needs (:data:`PERMISSIONS`, the same
three words); :func:`allows` says whether a role has it, and :func:`refusal`
is the 403 message when it does not, naming the role needed.

Where tokens come from (the server reads them; ``progressista tokens new``
writes the line):

- ``PROGRESSISTA_API_TOKENS``: comma separated entries, each ``TOKEN`` (admin)
  or ``ROLE:TOKEN``; ``PROGRESSISTA_API_TOKEN`` is one admin token.
- ``PROGRESSISTA_TOKENS_FILE``: one ``ROLE TOKEN`` a line, ``#`` comments; the
  token may be written ``sha256:HEX`` (:func:`hashed`) so the file holds no secret.

Every accepted token is kept as its SHA-256 digest (:class:`Grant`), so a plain
and a hashed entry are checked alike. An entry that does not parse raises
:class:`TokenEntryError`, whose message names the entry by position and never
repeats the secret.

>>> parse_entry("read:s3cret").role, parse_entry("s3cret").role, parse_entry("db:pass").role
('read', 'admin', 'admin')
>>> allows("admin", "read"), allows("read", "admin"), allows("ingest", "read")
(True, False, False)
>>> refusal("read", "admin", "deleting")
'this token can only read; deleting needs an admin token'
>>> [grant.role for grant in parse_tokens_file("# workers\\ningest w0rker\\nread " + hashed("v1ewer") + "\\n")]
['ingest', 'read']
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = [
    "PERMISSIONS",
    "REFUSAL_START",
    "ROLES",
    "SHA256",
    "Grant",
    "Permission",
    "Role",
    "TokenEntryError",
    "allows",
    "digest",
    "file_line",
    "hashed",
    "merge",
    "parse_entries",
    "parse_entry",
    "parse_tokens_file",
    "permissions",
    "refusal",
]

Role = Literal["ingest", "read", "admin"]
#: The roles, least to most.
ROLES: tuple[Role, ...] = get_args(Role)

#: What a route needs: to report progress, to read tasks, or to change them otherwise (delete).
Permission = Literal["ingest", "read", "admin"]
PERMISSIONS: tuple[Permission, ...] = get_args(Permission)

_GRANTED: dict[Role, frozenset[Permission]] = {
    "ingest": frozenset({"ingest"}),
    "read": frozenset({"read"}),
    "admin": frozenset(PERMISSIONS),
}

# "this token can only <what it does>; <action> needs <who has it>"
_DOES: dict[Role, str] = {"ingest": "report progress", "read": "read", "admin": "administer"}
_NEEDS: dict[Permission, str] = {
    "ingest": "an ingest or admin token",
    "read": "a read or admin token",
    "admin": "an admin token",
}

#: How every :func:`refusal` starts, so a client can tell "wrong role" from other refusals.
REFUSAL_START = "this token can only "

#: How a tokens file writes a hashed token.
SHA256 = "sha256:"
_HEX = re.compile(r"[0-9a-f]{64}")


def allows(role: Role, permission: Permission) -> bool:
    """Whether a token of ``role`` may do what needs ``permission``."""
    return permission in _GRANTED[role]


def permissions(role: Role) -> list[Permission]:
    """What ``role`` may do, in :data:`PERMISSIONS` order (what ``GET /access`` answers as ``can``)."""
    return [permission for permission in PERMISSIONS if allows(role, permission)]


def refusal(role: Role, permission: Permission, action: str) -> str:
    """The 403 message for a ``role`` token trying ``action`` (``"deleting"``), which needs ``permission``."""
    return f"{REFUSAL_START}{_DOES[role]}; {action} needs {_NEEDS[permission]}"


def digest(token: str) -> bytes:
    """A token's SHA-256 over its UTF-8 bytes: what the server keeps and compares."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def hashed(token: str) -> str:
    """``sha256:HEX``, a token as a tokens file may hold it without holding the secret."""
    return SHA256 + digest(token).hex()


def file_line(role: Role, token: str) -> str:
    """The tokens-file line granting ``role`` to ``token``, hashed."""
    return f"{role} {hashed(token)}"


@dataclass(frozen=True)
class Grant:
    """One accepted token: its role and its SHA-256 digest (never the token itself)."""

    role: Role
    digest: bytes

    def __repr__(self) -> str:  # short, and nothing a log could leak
        return f"Grant({self.role!r}, {self.digest[:4].hex()}…)"


class TokenEntryError(ValueError):
    """A token entry that does not parse; the message names where, never the secret."""


def _role(word: str) -> Role | None:
    return next((role for role in ROLES if role == word), None)


def _grant(role: Role, token: str, where: str, *, may_hash: bool) -> Grant:
    if not token:
        raise TokenEntryError(f"{where}: no token after the role {role!r}")
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in token):
        raise TokenEntryError(f"{where}: a token may not contain spaces or control characters")
    if may_hash and token.startswith(SHA256):
        hex_digest = token[len(SHA256) :].lower()
        if not _HEX.fullmatch(hex_digest):
            raise TokenEntryError(f"{where}: sha256: must be followed by 64 hex digits")
        return Grant(role, bytes.fromhex(hex_digest))
    return Grant(role, digest(token))


def parse_entry(entry: str, where: str = "entry") -> Grant:
    """One ``PROGRESSISTA_API_TOKENS`` entry: ``ROLE:TOKEN``, or a bare ``TOKEN`` (admin).

    A prefix that is not a role is part of the token (``db:pass`` stays an admin
    token), so tokens set before roles existed keep working. ``ROLE:sha256:HEX``
    is a hashed token, as in the tokens file.
    """
    word, colon, rest = entry.partition(":")
    role = _role(word) if colon else None
    if role is None:
        return _grant("admin", entry, where, may_hash=False)
    return _grant(role, rest, where, may_hash=True)


def parse_entries(entries: list[str], source: str) -> list[Grant]:
    """Every entry of a list setting, named ``source`` in errors (``"PROGRESSISTA_API_TOKENS entry 2"``)."""
    return [parse_entry(entry, f"{source} entry {number}") for number, entry in enumerate(entries, 1)]


def parse_tokens_file(text: str, source: str = "tokens file") -> list[Grant]:
    """A tokens file: ``ROLE TOKEN`` a line (``TOKEN`` may be ``sha256:HEX``).

    Blank lines are skipped, and from a word starting with ``#`` to the end of
    the line is a comment (a token cannot start with ``#``).
    """
    grants = []
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split()
        comment = next((i for i, word in enumerate(words) if word.startswith("#")), len(words))
        words = words[:comment]
        if not words:
            continue
        where = f"{source} line {number}"
        role = _role(words[0])
        if role is None:  # never shown: the first word may be the token itself
            raise TokenEntryError(f"{where}: must start with a role (ingest, read or admin), then the token")
        if len(words) != 2:
            raise TokenEntryError(f"{where}: expected 'ROLE TOKEN', got {len(words)} words")
        grants.append(_grant(role, words[1], where, may_hash=True))
    return grants


def merge(grants: list[Grant]) -> list[Grant]:
    """``grants`` without repeats; a token given two different roles is refused (which one was meant?)."""
    kept: dict[bytes, Grant] = {}
    for grant in grants:
        seen = kept.setdefault(grant.digest, grant)
        if seen.role != grant.role:
            raise TokenEntryError(f"one token is given two roles, {seen.role} and {grant.role}: give it one")
    return list(kept.values())
