"""The composition root: settings in, a ready application out.

On PostgreSQL the event store's waits are bounded here, so that a database that
is down is reported in seconds (HTTP 503) rather than after a minute. Where the
time went: eventsourcing passes ``POSTGRES_CONNECT_TIMEOUT`` (5 s) to the
psycopg pool as the time to wait for a connection, not to libpq, and its
recorder tries each read and write up to 10 times, 0.2 s apart. With nothing to
connect to, every try waited the full 5 s: 10 x 5 s + 9 x 0.2 s, about 52 s,
for ``GET /health`` and for every command alike.

A database that hangs (the connection stays open, nothing comes back) is another
matter: a query waits on its socket, and no pool timeout applies to a connection
already handed out. The connections get TCP keepalives and a
``tcp_user_timeout`` (``CONNECTION_LIVENESS``), which end them when the path is
dead; where the peer's kernel still acknowledges, only the caller's own deadline
helps (``interface/http/deadline.py``; ``GET /health`` abandons its check).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from eventsourcing.postgres import PostgresApplicationRecorder

from application.disputes import DisputeDesk
from application.evidence_files import EvidenceFiles
from application.ports import Clock
from domain.policy import Policy, parse_policy
from infrastructure.access_audit_store import open_access_log
from infrastructure.blob_store import LazyBlobStore
from infrastructure.clock import SystemClock
from infrastructure.commit_counter import SQLiteCommitCounter
from infrastructure.database_url import (
    CONNECTION_LIVENESS,
    DatabaseURL,
    eventsourcing_env,
    parse_database_url,
    psycopg_conninfo,
)
from infrastructure.pg_commit_counter import PostgresCommitCounter
from infrastructure.schema_lock import event_store_setup_lock
from infrastructure.settings import Settings
from infrastructure.stored_since import PostgresStoredSince

#: How long one try of the recorder waits for a pooled connection (s). The
#: library makes up to 10 tries, 0.2 s apart: about 5 s in all before the store
#: is reported unavailable, however the database fails. Under load a wait is a
#: few milliseconds; a longer one goes back to the queue at the next try.
POOL_WAIT = 0.3
#: How long the pool keeps retrying one lost connection in the background (s)
#: before it gives up; the next request then starts a fresh attempt at once. This
#: bounds the time between the database coming back and the pool using it
#: (psycopg_pool's default, 5 minutes, lets its back-off grow to minutes).
RECONNECT_TIMEOUT = 5.0
#: ``GET /health``: how long one check of the event store may take (s).
HEALTH_TIMEOUT = 2.0


def bundled_policy_text() -> str:
    return resources.files("infrastructure").joinpath("policies/default.toml").read_text("utf-8")


def load_policy(path: Path | None) -> Policy:
    """The configured policy file, or the one shipped with the project."""
    return parse_policy(path.read_text("utf-8") if path is not None else bundled_policy_text())


def build_application(
    settings: Settings,
    clock: Clock | None = None,
    *,
    serial_commands: bool | None = None,
    read_cache: bool = True,
    keep_saved: int | None = None,
) -> DisputeDesk:
    """``serial_commands``: whether commands take turns; by default on SQLite only
    (the store admits one writer at a time). ``read_cache``: whether case reads
    keep each case's last state; ``keep_saved``: how many saved disputes commands
    start from (0: none; None: the application's default). Neither changes an
    answer, only the cost.

    The application's root: the stores and the application. A served process
    adds its HTTP app and workers on top (``interface.http.app.server_app``). The
    access audit opens here (its table made if missing) and closes with the application.
    """
    url = parse_database_url(settings.database_url)
    env = eventsourcing_env(url, name=DisputeDesk.name, binary_insert=settings.binary_insert)
    policy = load_policy(settings.policy_path)
    commits = SQLiteCommitCounter(url.sqlite_path) if url.sqlite_path is not None else None
    access_log = None
    try:
        with event_store_setup_lock(url):
            access_log = open_access_log(url)
            app = DisputeDesk(
                env=env,
                clock=clock or SystemClock(),
                default_policy=policy,
                commits=commits,
                serial_commands=(
                    url.sqlite_path is not None if serial_commands is None else serial_commands
                ),
                read_cache=read_cache,
                blobs=LazyBlobStore(url),
                # SQLite admits one writer at a time: its commands take turns instead.
                group_commit=settings.group_commit and url.is_postgres,
                **({} if keep_saved is None else {"keep_saved": keep_saved}),
                access_log=access_log,
            )
    except BaseException:
        if commits is not None:
            commits.close()
        if access_log is not None:
            access_log.close()
        raise
    bound_store_waits(app, url)
    recorder = app.recorder
    if isinstance(recorder, PostgresApplicationRecorder) and read_cache:
        app.follow_commits(PostgresCommitCounter(psycopg_conninfo(url), recorder.channel_name))
    if isinstance(recorder, PostgresApplicationRecorder) and settings.group_commit:
        app.share_reads(PostgresStoredSince(recorder))  # with group commit: the same setting
    return app


def evidence_files(app: DisputeDesk) -> EvidenceFiles:
    """Uploads and downloads of evidence files for ``app`` (built by
    :func:`build_application`), their bytes kept beside its events: in a directory
    next to the SQLite file, or in a table of the PostgreSQL database. The store is
    opened (and its table made) on first use."""
    if app.blobs is None:
        raise LookupError("evidence files need an application made by build_application")
    return EvidenceFiles(app, app.blobs)


def bound_store_waits(app: DisputeDesk, url: DatabaseURL) -> None:
    """Bound how long the PostgreSQL event store waits (see the module docstring).

    Sets the recorder pool's wait for a connection (``POOL_WAIT``), its libpq
    ``connect_timeout`` (the URL's ``connect_timeout``, default 5 s; without it a
    host that does not answer holds a pool worker for psycopg's 130 s), TCP
    keepalives and ``tcp_user_timeout`` (``CONNECTION_LIVENESS``) and how long it
    retries a lost connection (``RECONNECT_TIMEOUT``). The connections the pool
    opened while the application was built lack the new parameters: they are
    replaced (``drain``). Nothing on SQLite.
    """
    recorder = app.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        return
    pool = recorder.datastore.pool
    pool.timeout = POOL_WAIT
    pool.reconnect_timeout = RECONNECT_TIMEOUT
    if isinstance(pool.kwargs, dict):
        pool.kwargs["connect_timeout"] = int(url.query.get("connect_timeout", "5"))
        pool.kwargs.update(CONNECTION_LIVENESS)
        # No server-side prepared statements: after a connection's pipeline
        # failed mid-way (an outage), psycopg could take a statement for prepared
        # that the server never kept, and every later use of that pooled
        # connection failed with "prepared statement ... does not exist".
        pool.kwargs["prepare_threshold"] = None
        if not pool.closed:
            pool.drain()


def check_event_store(app: DisputeDesk, timeout: float = HEALTH_TIMEOUT) -> None:
    """Raise unless the event store answers within about ``timeout`` seconds.

    On PostgreSQL one try, without the library's retries: a pooled connection
    (waiting at most ``timeout``) runs ``SELECT 1`` under a statement timeout of
    ``timeout``. Then the recorder reads the head of the log (quick, now that
    the database has answered).

    A database that hangs holds this call on its socket for as long as it hangs
    (no client-side timeout reaches a query in flight): a caller that must answer
    in time runs it in a thread it can abandon, as ``GET /health`` does.
    """
    recorder = app.recorder
    if isinstance(recorder, PostgresApplicationRecorder):
        with recorder.datastore.pool.connection(timeout=timeout) as conn, conn.transaction():
            conn.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
            conn.execute("SELECT 1")
    recorder.max_notification_id()
