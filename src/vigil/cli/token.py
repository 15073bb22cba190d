"""``vigil token create NAME [--json]``, ``vigil token list [--all] [--json]``,
``vigil token revoke NAME|ID``: the HTTP API's bearer tokens (stored hashed, shown once)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from vigil.api.tokens import TokenStore
    from vigil.app import Vigil

P = TypeVar("P", bound=argparse.ArgumentParser)


def add_parser(subparsers: argparse._SubParsersAction[P]) -> P:
    """Register ``token`` on ``subparsers``."""
    token = subparsers.add_parser("token", help="tokens for the HTTP API (needed for writes)")
    sub = token.add_subparsers(
        dest="token_command", metavar="COMMAND", parser_class=type(token), required=True
    )
    create = sub.add_parser("create", help="create a token; it is printed once, stored hashed")
    create.add_argument("name", metavar="NAME", help="what the token is for, e.g. ci or alerts")
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(func=cmd_create)
    listing = sub.add_parser("list", help="the tokens (never their values)")
    listing.add_argument("--all", action="store_true", help="revoked ones too")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_list)
    revoke = sub.add_parser("revoke", help="revoke a token by name or id")
    revoke.add_argument("name", metavar="NAME|ID")
    revoke.add_argument("--json", action="store_true", help="print JSON")
    revoke.set_defaults(func=cmd_revoke)
    return token


def _store() -> tuple[Vigil, TokenStore]:
    from vigil.api.tokens import TokenStore
    from vigil.cli.context import open_vigil

    vigil = open_vigil()
    return vigil, TokenStore(vigil.db, vigil.clock)


def cmd_create(args: argparse.Namespace) -> int:
    vigil, store = _store()
    with vigil:
        record, token = store.create(args.name)
    if args.json:
        print(json.dumps({**record.to_dict(), "token": token}))
        return 0
    print(token)
    print(
        f"token {record.name!r} created ({record.id}); it is shown only now: keep it secret",
        file=sys.stderr,
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    vigil, store = _store()
    with vigil:
        records = store.list(include_revoked=args.all)
    if args.json:
        print(json.dumps([r.to_dict() for r in records]))
        return 0
    if not records:
        print("no tokens (create one: vigil token create NAME)", file=sys.stderr)
    for r in records:
        state = f"revoked {r.revoked[:19]}" if r.revoked else "live"
        print(f"{r.name:<20} {r.prefix}…  {r.id}  created {r.created[:19]}  {state}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    vigil, store = _store()
    with vigil:
        record = store.revoke(args.name)
    if args.json:
        print(json.dumps(record.to_dict()))
    else:
        print(f"revoked {record.name!r} ({record.id})")
    return 0
