"""Parse ``DISPUTEDESK_DATABASE_URL`` and map it onto eventsourcing and psycopg settings.

Accepted forms::

    sqlite:///relative/path.db          (relative to the current directory)
    sqlite:////absolute/path.db
    postgresql://user:pass@host:5432/dbname?pool_size=20&schema=disputedesk
    postgres://...  and  postgresql+psycopg://...   (aliases of postgresql://)

Query parameters understood:

- both kinds: ``lock_timeout`` (seconds);
- PostgreSQL: ``pool_size``, ``max_overflow``, ``connect_timeout`` (seconds) and
  ``schema`` (must already exist; the eventsourcing tables are created in it).

Anything else is refused, so that a typo does not silently fall back to a default.
"""

from __future__ import annotations

import os.path
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from infrastructure.binary_insert import TOPIC as BINARY_INSERT_TOPIC
from infrastructure.private_files import private_directory
from infrastructure.settings_errors import SettingsError

__all__ = [
    "CONNECTION_LIVENESS",
    "DatabaseURL",
    "eventsourcing_env",
    "parse_database_url",
    "psycopg_conninfo",
]

_ENV = "DISPUTEDESK_DATABASE_URL"

_POSTGRES_SCHEMES = frozenset({"postgresql", "postgres", "postgresql+psycopg"})
_SQLITE_QUERY_KEYS = frozenset({"lock_timeout"})
_POSTGRES_QUERY_KEYS = frozenset(
    {"pool_size", "max_overflow", "connect_timeout", "lock_timeout", "schema"}
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

DEFAULT_POSTGRES_HOST = "localhost"
DEFAULT_POSTGRES_PORT = 5432
DEFAULT_POSTGRES_USER = "postgres"

#: libpq parameters that make the kernel give up on a connection whose peer has
#: gone silent (a partition, a host that froze or lost power), so that a query
#: waiting on it fails (and the pool drops it) instead of waiting for many minutes.
#: An idle connection is probed after 10 s, every 3 s, and dropped after 3
#: unanswered probes; data that stays unacknowledged for 10 s drops it too
#: (``tcp_user_timeout``, in ms). A busy server still acknowledges at once: only a
#: dead path trips these. A peer whose kernel still acknowledges but sends nothing
#: is not caught here; the HTTP layer's deadlines answer for it.
CONNECTION_LIVENESS: dict[str, str] = {
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "3",
    "keepalives_count": "3",
    "tcp_user_timeout": "10000",
}


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed database URL.

    For ``kind == "sqlite"`` only ``sqlite_path`` (always absolute) and ``query`` are
    set; for ``kind == "postgres"`` ``sqlite_path`` is ``None`` and the connection
    fields are set. The password is kept out of ``repr``; use :meth:`redacted` to
    log a URL.
    """

    kind: Literal["sqlite", "postgres"]
    sqlite_path: Path | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    dbname: str | None = None
    query: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str, *, cwd: Path | None = None) -> DatabaseURL:
        """Parse ``url``; relative SQLite paths are resolved against ``cwd``."""
        return parse_database_url(url, cwd=cwd)

    @property
    def is_sqlite(self) -> bool:
        return self.kind == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgres"

    @property
    def schema(self) -> str | None:
        """The PostgreSQL schema named by ``?schema=``, if any."""
        return self.query.get("schema")

    def to_url(self) -> str:
        """The canonical URL, password included."""
        return self._render(redact=False)

    def redacted(self) -> str:
        """The URL with the password replaced by ``***``: safe to log or print."""
        return self._render(redact=True)

    def __str__(self) -> str:
        return self.redacted()

    def _render(self, *, redact: bool) -> str:
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in sorted(self.query.items()))
        suffix = f"?{query}" if query else ""
        if self.kind == "sqlite":
            return f"sqlite:///{self.sqlite_path}{suffix}"
        auth = quote(self.user or "", safe="")
        if self.password:
            auth += ":" + ("***" if redact else quote(self.password, safe=""))
        host = self.host or ""
        if host.startswith("/"):
            # A Unix socket directory travels in the query, as libpq expects.
            host_part = ""
            query = "&".join(filter(None, [f"host={quote(host, safe='')}", query]))
            suffix = f"?{query}"
        else:
            host_part = f"[{host}]" if ":" in host else host
        return (
            f"postgresql://{auth}@{host_part}:{self.port}/{quote(self.dbname or '', safe='')}"
            f"{suffix}"
        )


def _fail(problem: str) -> SettingsError:
    return SettingsError(f"{_ENV} {problem}")


def _int_param(query: dict[str, str], key: str, *, minimum: int) -> int | None:
    raw = query.get(key)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise _fail(f"has {key}={raw!r}: it must be a whole number") from None
    if value < minimum:
        raise _fail(f"has {key}={value}: it must be at least {minimum}")
    return value


def _parse_query(raw: str, allowed: frozenset[str], kind: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw))
    except ValueError:
        raise _fail(f"has a malformed query string: {raw!r}") from None
    query = dict(pairs)
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise _fail(
            f"has unknown parameter(s) {', '.join(unknown)} for {kind}; "
            f"known: {', '.join(sorted(allowed))}"
        )
    return query


def parse_database_url(url: str, *, cwd: Path | None = None) -> DatabaseURL:
    """Parse a database URL, raising :class:`SettingsError` with an actionable message."""
    text = url.strip()
    scheme, sep, _ = text.partition("://")
    scheme = scheme.lower()
    if not sep or (scheme != "sqlite" and scheme not in _POSTGRES_SCHEMES):
        raise _fail(f"must start with sqlite:/// or postgresql://, got {_safe(text)!r}")
    if scheme == "sqlite":
        return _parse_sqlite(text, cwd=cwd)
    return _parse_postgres(text)


def _parse_sqlite(text: str, *, cwd: Path | None) -> DatabaseURL:
    rest = text[len("sqlite://") :]
    if not rest.startswith("/"):
        raise _fail(
            "names a host for SQLite; use sqlite:///relative/path.db or "
            f"sqlite:////absolute/path.db, got {text!r}"
        )
    path_text, _, raw_query = rest[1:].partition("?")
    path_text = unquote(path_text)
    if not path_text or path_text.endswith("/"):
        raise _fail(f"names no SQLite file, e.g. sqlite:///./var/disputedesk.db; got {text!r}")
    if path_text == ":memory:" or path_text.startswith("file:"):
        raise _fail(
            "names an in-memory SQLite database, which the event store and the "
            "read models cannot share; use a file such as sqlite:///./var/disputedesk.db"
        )
    query = _parse_query(raw_query, _SQLITE_QUERY_KEYS, "SQLite")
    _int_param(query, "lock_timeout", minimum=0)
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = (cwd if cwd is not None else Path.cwd()) / path
    return DatabaseURL(kind="sqlite", sqlite_path=Path(_normalise(path)), query=query)


def _normalise(path: Path) -> str:
    # Resolve "." and ".." without touching the file system (the file may not exist).
    return os.path.normpath(str(path))


def _parse_postgres(text: str) -> DatabaseURL:
    credentials = _credentials(text) or ""
    if any(c in credentials for c in "/?#"):
        raise _fail(
            "has '/', '?' or '#' in its user name or password: percent-encode them "
            f"as %2F, %3F and %23; got {_safe(text)!r}"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise _fail(f"is not a valid PostgreSQL URL ({error}): {_safe(text)!r}") from None
    if parts.fragment:
        raise _fail(f"has a '#' fragment, which means nothing here: {_safe(text)!r}")
    query = _parse_query(parts.query, _POSTGRES_QUERY_KEYS | {"host"}, "PostgreSQL")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        raise _fail(
            "must name one database, e.g. postgresql://user:pass@127.0.0.1:5432/disputedesk; "
            f"got {_safe(text)!r}"
        )
    host_param = query.pop("host", None)  # libpq style: ?host=/var/run/postgresql
    host = unquote(parts.hostname or "") or host_param or DEFAULT_POSTGRES_HOST
    for key in ("pool_size", "connect_timeout"):
        _int_param(query, key, minimum=1)
    for key in ("max_overflow", "lock_timeout"):
        _int_param(query, key, minimum=0)
    schema = query.get("schema")
    if schema is not None and not _IDENTIFIER.match(schema):
        raise _fail(
            f"has schema={schema!r}: use letters, digits and underscores, not starting with a digit"
        )
    return DatabaseURL(
        kind="postgres",
        host=host,
        port=port if port is not None else DEFAULT_POSTGRES_PORT,
        user=unquote(parts.username) if parts.username else DEFAULT_POSTGRES_USER,
        password=unquote(parts.password) if parts.password is not None else "",
        dbname=dbname,
        query=query,
    )


def _credentials(text: str) -> str | None:
    """The ``user:password`` part of a URL, or ``None``."""
    _, sep, rest = text.partition("://")
    if not sep or "@" not in rest:
        return None
    return rest.rpartition("@")[0]


def _safe(text: str) -> str:
    """``text`` with any password in it masked, for error messages."""
    credentials = _credentials(text)
    if credentials is None or ":" not in credentials:
        return text
    head, _, rest = text.partition("://")
    user = credentials.partition(":")[0]
    return f"{head}://{user}:***@{rest.rpartition('@')[2]}"


def eventsourcing_env(
    url: DatabaseURL, *, name: str, binary_insert: bool = True
) -> dict[str, str]:
    """The eventsourcing 9.5 environment for an ``Application`` called ``name``.

    ``binary_insert``: on PostgreSQL, events are inserted as binary column arrays
    (:mod:`infrastructure.binary_insert`); off, by the library's own insert.

    Pass the result as ``Application(env=...)``. Every setting is given twice: plain
    (``SQLITE_DBNAME``) and prefixed with the application's name in upper case
    (``DISPUTES_SQLITE_DBNAME``), because eventsourcing looks up the prefixed key
    first, so a stray prefixed variable in ``os.environ`` can never override the URL.

    For SQLite the database file's parent directory is created.
    """
    if not name:
        raise ValueError("eventsourcing_env needs the application's name")
    settings: dict[str, str]
    if url.kind == "sqlite":
        if url.sqlite_path is None:  # pragma: no cover - parse never builds this
            raise SettingsError(f"{_ENV} names no SQLite file")
        private_directory(url.sqlite_path.parent)
        settings = {
            "PERSISTENCE_MODULE": "infrastructure.sqlite_persistence",
            "SQLITE_DBNAME": str(url.sqlite_path),
            "SQLITE_LOCK_TIMEOUT": url.query.get("lock_timeout", "10"),
        }
    else:
        settings = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.dbname or "",
            "POSTGRES_HOST": url.host or DEFAULT_POSTGRES_HOST,
            "POSTGRES_PORT": str(url.port or DEFAULT_POSTGRES_PORT),
            "POSTGRES_USER": url.user or DEFAULT_POSTGRES_USER,
            # eventsourcing insists on the key even when the server trusts us.
            "POSTGRES_PASSWORD": url.password or "",
            "POSTGRES_POOL_SIZE": url.query.get("pool_size", "10"),
            "POSTGRES_MAX_OVERFLOW": url.query.get("max_overflow", "10"),
            "POSTGRES_PRE_PING": "y",
            # Off on purpose: eventsourcing's insert function skips the table lock,
            # so concurrent writers could commit notification ids out of order and
            # a projection reading up to id N could miss an earlier id committed later.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            "POSTGRES_CONNECT_TIMEOUT": url.query.get("connect_timeout", "5"),
            "POSTGRES_LOCK_TIMEOUT": url.query.get("lock_timeout", "5"),
        }
        if url.schema:
            settings["POSTGRES_SCHEMA"] = url.schema
        if binary_insert:
            settings["APPLICATION_RECORDER_TOPIC"] = BINARY_INSERT_TOPIC
    prefix = name.upper() + "_"
    env = dict(settings)
    env.update({prefix + key: value for key, value in settings.items()})
    return env


def psycopg_conninfo(url: DatabaseURL) -> str:
    """A libpq connection string for code that talks to PostgreSQL directly.

    When the URL names a ``schema`` it is put first on the ``search_path``. The
    connections notice a dead peer (:data:`CONNECTION_LIVENESS`).
    """
    if url.kind != "postgres":
        raise SettingsError(f"{_ENV} names SQLite, not PostgreSQL: {url.redacted()}")
    params: dict[str, str] = {
        "host": url.host or DEFAULT_POSTGRES_HOST,
        "port": str(url.port or DEFAULT_POSTGRES_PORT),
        "user": url.user or DEFAULT_POSTGRES_USER,
        "dbname": url.dbname or "",
        "connect_timeout": url.query.get("connect_timeout", "5"),
        **CONNECTION_LIVENESS,
    }
    if url.password:
        params["password"] = url.password
    if url.schema:
        params["options"] = f"-c search_path={url.schema},public"
    return " ".join(f"{key}={_conninfo_quote(value)}" for key, value in params.items())


def _conninfo_quote(value: str) -> str:
    if value and not re.search(r"[\s'\\]", value):
        return value
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"
