"""Deployment configuration from ``config/``: accounts, departments and policies (quiet
periods, house style, retraction policy, go-live checks, what the service may reach). Validated like calendars: line:col, did-you-mean,
unknown keys refused. Secrets are never here, only the names of where to find them."""

from __future__ import annotations

from pathlib import Path

from adapters.accounts import AccountConfig

from worker.config_model import Config, QuietPeriod
from worker.net import guard as netguard
from worker.calendar import timeparse
from worker.calendar.findings import Finding
from worker.calendar.schema import CATEGORIES
from worker.calendar.source import Document, YamlProblem, load_file
from adapters.pricing import X_PRICE_ITEMS
from worker.calendar.spec import ACCOUNT, LANG, SLUG, Enum, Int, List, Num, Obj, Str

_secret_ref = Obj(name="secret reference", doc="where a credential is: {env: NAME} or "
                  "{file: /run/secrets/name}; never the secret itself", secret=True,
                  fields={"env": Str(doc="environment variable name", pattern=r"^[A-Z_][A-Z0-9_]*$",
                                     example="PREGONERO_X_TOKEN", secret=True),
                          "file": Str(doc="path of a secret file")})
ACCOUNTS = Obj(name="accounts file", fields={"accounts": Obj(
    name="accounts section", keys=ACCOUNT, doc="accounts by platform:name",
    values=Obj(name="account", fields={
        "handle": Str(doc="the public handle, e.g. @AjuntamentCalp"),
        "department": Str(doc="the owning department", pattern=SLUG),
        "also_departments": List(doc="other departments allowed to publish here",
                                 item=Str(doc="a department id", pattern=SLUG)),
        "languages": List(doc="languages published on this account",
                          item=Str(doc="language tag", pattern=LANG)),
        "transport": Enum(doc="live (the platform's API) or outbox (local file)",
                          values=("live", "outbox")),
        "credentials": Obj(name="credentials", doc="credential names to env/file references",
                           keys=r"^[a-z_]+$", values=_secret_ref),
        "options": Obj(name="options", doc="platform options (instance, page_id, chat_id...)",
                       keys=r"^[a-z_]+$", values=Str(doc="an option value")),
    }, required=("handle", "department")))}, required=("accounts",))

DEPARTMENTS = Obj(name="departments file", fields={"departments": Obj(
    name="departments section", keys=SLUG, doc="departments by id",
    values=Obj(name="department", fields={"name": Str(doc="the department's name"),
                                          "contact": Str(doc="who to call")},
               required=("name",)))}, required=("departments",))

POLICIES = Obj(name="policies file", fields={
    "quiet_periods": List(doc="periods when only some categories may be published",
                          item=Obj(name="quiet period", fields={
                              "id": Str(doc="an id", pattern=SLUG),
                              "from": Str(doc="local start, YYYY-MM-DD HH:MM"),
                              "to": Str(doc="local end, YYYY-MM-DD HH:MM"),
                              "timezone": Str(doc="IANA zone"),
                              "departments": List(doc="departments covered (default: all)",
                                                  item=Str(doc="department", pattern=SLUG)),
                              "allow": List(doc="categories still allowed",
                                            item=Enum(doc="category", values=CATEGORIES)),
                              "reason": Str(doc="why, shown to editors"),
                          }, required=("id", "from", "to", "timezone", "reason"))),
    "style": Obj(name="style section", doc="house style rules", fields={
        "forbidden": List(doc="words or phrases not to use", item=Obj(name="rule", fields={
            "text": Str(doc="the word or phrase (case-insensitive)"),
            "hint": Str(doc="what to write instead")}, required=("text",))),
        "required_hashtags": Obj(name="required hashtags", keys=r"^[a-z0-9_:.@-]+$",
                                 doc="department or account -> hashtags every post must carry",
                                 values=List(doc="hashtags", item=Str(doc="#tag", pattern=r"^#\w+$"))),
        "typed_dates": Enum(doc="a date typed by hand that matches a fact: warning, error or "
                            "ignore", values=("warning", "error", "ignore")),
    }),
    "retraction": Obj(name="retraction policy", doc="how withdrawn posts are handled", fields={
        "default": Enum(doc="delete, reply (cancellation notice) or hide",
                        values=("delete", "reply", "hide")),
        "platforms": Obj(name="per platform", keys=r"^[a-z]+$", doc="platform -> policy",
                         values=Enum(doc="policy", values=("delete", "reply", "hide"))),
    }),
    "golive": Obj(name="go-live checks", doc="how official URLs are checked", fields={
        "recheck_s": Int(doc="seconds between checks", minimum=5, maximum=86400),
        "window_s": Int(doc="how long to wait before alerting", minimum=60, maximum=30 * 86400),
        "timeout_s": Int(doc="HTTP timeout", minimum=1, maximum=120),
    }),
    "costs": Obj(name="costs section", doc="what the platforms bill per request, where your "
                 "contract differs from their published prices (US dollars)", fields={
        "x": Obj(name="X prices", doc="X API pay-per-use prices per billed resource",
                 fields={item: Num(doc=f"US dollars per {item.replace('_', ' ')}",
                                   maximum=100.0) for item in X_PRICE_ITEMS}),
    }),
    "network": Obj(name="network section", doc="what the go-live check may reach", fields={
        "allow_hosts": List(doc="hosts the go-live check may reach even on internal "
                            "addresses: host names, *.domain, or IP addresses",
                            item=Str(doc="a host name, *.domain or an IP address",
                                     example="intranet.sede.example")),
        "max_redirects": Int(doc="redirects followed by one check", minimum=0, maximum=20),
        "max_body_bytes": Int(doc="bytes of a page read by one check", minimum=1024,
                              maximum=64 << 20),
    }),
})


class ConfigError(Exception):
    """Raised when config/ cannot be used; carries the findings."""

    def __init__(self, findings: list[Finding]):
        super().__init__("\n".join(f.format() for f in findings))
        self.findings = findings


def _load(path: Path, spec: Obj, findings: list[Finding]) -> Document | None:
    if not path.exists():
        return None
    try:
        doc = load_file(str(path))
    except YamlProblem as exc:
        findings.append(exc.finding)
        return None
    if doc.data is None:
        return None
    before = len(findings)
    spec.validate(doc.data, (), doc, findings)
    return doc if len(findings) == before else None


def load_config(config_dir: Path | str) -> Config:
    """Load and validate ``config_dir``; raises ConfigError listing every problem."""
    config_dir = Path(config_dir)
    findings: list[Finding] = []
    acc_doc = _load(config_dir / "accounts.yaml", ACCOUNTS, findings)
    dep_doc = _load(config_dir / "departments.yaml", DEPARTMENTS, findings)
    pol_doc = _load(config_dir / "policies.yaml", POLICIES, findings)
    departments = {k: v["name"] for k, v in ((dep_doc.data if dep_doc else {}) or {})
                   .get("departments", {}).items()}
    accounts: dict[str, AccountConfig] = {}
    for ref, data in ((acc_doc.data if acc_doc else {}) or {}).get("accounts", {}).items():
        try:
            accounts[ref] = AccountConfig.from_mapping(ref, data)
        except ValueError as exc:
            findings.append(acc_doc.finding(("accounts", ref), "error", str(exc), "bad-account"))
            continue
        if departments and data["department"] not in departments:
            findings.append(acc_doc.finding(("accounts", ref, "department"), "error",
                                            f"unknown department '{data['department']}'",
                                            "unknown-department",
                                            "add it to config/departments.yaml"))
    policies = (pol_doc.data if pol_doc else {}) or {}
    quiet = []
    for i, qp in enumerate(policies.get("quiet_periods") or []):
        try:
            timeparse.check_timezone(qp["timezone"])
            start = timeparse.localize(timeparse.parse_local_datetime(qp["from"]), qp["timezone"])
            end = timeparse.localize(timeparse.parse_local_datetime(qp["to"]), qp["timezone"])
        except timeparse.TimeValueError as exc:
            findings.append(pol_doc.finding(("quiet_periods", i), "error", exc.message,
                                            "impossible-date", exc.hint))
            continue
        quiet.append(QuietPeriod(qp["id"], start, end, tuple(qp.get("departments") or ()),
                                 tuple(qp.get("allow") or ()), qp["reason"]))
    network = policies.get("network") or {}
    for i, entry in enumerate(network.get("allow_hosts") or ()):
        problem = netguard.allow_host_problem(entry)
        if problem is not None:
            findings.append(pol_doc.finding(("network", "allow_hosts", i), "error", problem[0],
                                            "bad-allow-host", problem[1]))
    if findings:
        raise ConfigError(findings)
    style = policies.get("style") or {}
    retraction = policies.get("retraction") or {}
    golive = policies.get("golive") or {}
    costs = policies.get("costs") or {}
    return Config(
        accounts=accounts, departments=departments, quiet_periods=tuple(quiet),
        forbidden=tuple((r["text"], r.get("hint", "")) for r in style.get("forbidden") or ()),
        required_hashtags={k: tuple(v) for k, v in (style.get("required_hashtags") or {}).items()},
        typed_dates=style.get("typed_dates", "warning"),
        retraction_default=retraction.get("default", "delete"),
        retraction_platforms=dict(retraction.get("platforms") or {}),
        golive_recheck_s=golive.get("recheck_s", 60), golive_window_s=golive.get("window_s", 21600),
        golive_timeout_s=golive.get("timeout_s", 10),
        network=netguard.NetPolicy(
            allow_hosts=tuple(str(h).strip() for h in network.get("allow_hosts") or ()),
            max_redirects=network.get("max_redirects", netguard.MAX_REDIRECTS),
            max_body_bytes=network.get("max_body_bytes", netguard.MAX_BODY_BYTES)),
        x_prices=dict(costs.get("x") or {}),
        transport_default="outbox")
