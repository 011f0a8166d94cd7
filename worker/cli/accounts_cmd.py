"""``pregonero accounts check``: ask every platform whether the credentials still work."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import click

from adapters.api_versions import account_version_status
from adapters.factory import make_adapter
from adapters.accounts import AccountConfig
from adapters.base import AccountStatus, AdapterError
from adapters.credentials import SecretError

from worker.cli.common import config_option, home_dir, load_config_or_exit, settings

#: warn this many days before a token expires (LinkedIn tokens last 60 days)
EXPIRY_WARNING_DAYS = 14


@dataclasses.dataclass(frozen=True)
class AccountRow:
    account: str
    platform: str
    handle: str
    department: str
    transport: str
    ok: bool
    detail: str
    expires_in_days: int | None
    #: the API version the account is pinned to and how long it has left (LinkedIn, Meta)
    api_version: dict | None = None

    @property
    def version_level(self) -> str:
        return (self.api_version or {}).get("level", "ok")

    @property
    def warning(self) -> bool:
        expiring = self.expires_in_days is not None and self.expires_in_days < EXPIRY_WARNING_DAYS
        return expiring or self.version_level in ("warning", "alert", "unknown")

    @property
    def status(self) -> str:
        """What the table's status column says."""
        if not self.ok:
            return "FAILED"
        if self.version_level == "alert":
            return f"API version: {self.api_version['days_left']} d left"
        if self.expires_in_days is not None and self.expires_in_days < EXPIRY_WARNING_DAYS:
            return f"expires in {self.expires_in_days} d"
        if self.version_level in ("warning", "unknown"):
            return f"API version: {self.version_level}"
        return "ok"


def check_account(account: AccountConfig, transport: str, home: Path,
                  today: dt.date | None = None,
                  x_prices: dict | None = None) -> AccountRow:
    """Verify one account; every failure becomes a row, never a traceback. Messages name the
    variable or file a credential comes from, never its value. The API version the account is
    pinned to is checked against its platform's sunsets (``adapters.api_versions``) whatever
    the transport: a retired version fails the row, one within 90 days warns."""
    chosen = account.transport or transport
    try:
        status = make_adapter(account, chosen, home=home).verify()
    except (AdapterError, SecretError, KeyError, ValueError) as exc:
        status = AccountStatus(account.ref, False, str(exc).strip("'\""))
    version = account_version_status(account.platform, dict(account.options),
                                     today or dt.datetime.now(dt.timezone.utc).date())
    ok, detail = status.ok, status.detail
    if version is not None and version.needs_attention:
        detail = f"{detail}; {version.detail}" if detail else version.detail
        ok = ok and version.level != "retired"
    if account.platform == "x":
        from adapters.pricing import x_prices as prices_in_force

        prices = prices_in_force(x_prices)
        detail += (f"; X bills ${prices['post_create']:.3f} a post, "
                   f"${prices['post_create_url']:.2f} with a link (pregonero plan: a "
                   "calendar's cost)")
    return AccountRow(account.ref, account.platform, account.handle, account.department, chosen,
                      ok, detail, status.expires_in_days, version.as_dict() if version else None)


@click.group()
def accounts():
    """Accounts from config/accounts.yaml."""


@accounts.command("check")
@config_option
@click.option("--transport", type=click.Choice(["live", "outbox"]), default=None,
              help="check the live platforms (default: each account's transport, else "
                   "$PREGONERO_TRANSPORT, else outbox)")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per account")
def check(config_dir, transport, as_json):
    """Verify every account's credentials with its platform and print a table.
    Exit 1 when any account fails."""
    config = load_config_or_exit(config_dir)
    if config is None:
        raise click.UsageError("no configuration directory: pass --config DIR")
    transport = transport or settings().transport or config.transport_default
    rows = [check_account(acc, transport, home_dir(), x_prices=dict(config.x_prices))
            for acc in config.accounts.values()]
    if as_json:
        click.echo(json.dumps([dict(dataclasses.asdict(r), warning=r.warning) for r in rows],
                              ensure_ascii=False, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="pregonero accounts check")
        for column in ("account", "handle", "department", "transport", "status", "detail"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(r.account, r.handle, r.department, r.transport, r.status, r.detail)
        Console(width=160).print(table)
    raise SystemExit(0 if all(r.ok for r in rows) else 1)
