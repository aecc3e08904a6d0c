"""What a run needs, built once and passed explicitly: the store, the keys, the clock, the clients.

``Runtime`` is process-wide (database, master key, clock). ``ConnectionContext`` is one seller:
its validated configuration, its mapping files, one SP-API client per Amazon region and one
Fusion client, all with secrets decrypted only here, in memory, and registered with the log
redactor so that no log line can carry them.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ml_connector.errors import ConfigError
from ml_connector.flow.accounting.policy import (
    AccountingPolicy,
    ReturnedGoods,
    VatInclusive,
)
from ml_connector.flow.mapping.catalog import Catalog, load_catalog
from ml_connector.flow.mapping.charges import ChargeMapping, load_mapping
from ml_connector.flow.post.oracle_docs import PostingProfile
from ml_connector.remote.amazon.auth import LwaCredentials, LwaTokenProvider
from ml_connector.remote.amazon.client import BucketKey, SpApiClient, default_limiter
from ml_connector.remote.amazon.endpoints import amazon_base_url, lwa_token_url
from ml_connector.remote.amazon.limits import limit_for
from ml_connector.remote.amazon.marketplaces import Region
from ml_connector.remote.http.hosts import CheckedUrl, EndpointError, is_loopback_host
from ml_connector.remote.http.ratelimit import RateLimiter
from ml_connector.remote.http.redact import default_redactor
from ml_connector.remote.http.session import build_client
from ml_connector.remote.oracle import (
    BulkImports,
    ClientCredentialsAuth,
    FusionClient,
    FusionEndpoint,
    JwtUserAssertionAuth,
    Receivables,
    token_url_for_identity_domain,
    token_url_override,
)
from ml_connector.remote.oracle.auth import Authenticator, BasicAuth
from ml_connector.scrub import install_store_scrubbing
from ml_connector.store import (
    KEY_ENV_VAR,
    ConnectionConfig,
    connection_config,
    get_connection,
    load_master_key,
    make_engine,
    make_sessionmaker,
    migrate,
)
from ml_connector.store.errors import WrongMasterKeyError
from ml_connector.store.key_check import expected_key_id
from ml_connector.store.secrets import (
    LWA_CLIENT_SECRET,
    ORACLE_CLIENT_SECRET,
    ORACLE_PRIVATE_KEY,
    Keyring,
    get_secret,
    refresh_token_name,
)

DATABASE_ENV = "ML_CONNECTOR_DATABASE_URL"
KEY_FILE_ENV = "ML_CONNECTOR_KEY_FILE"
HOME_ENV = "ML_CONNECTOR_HOME"


def default_home() -> Path:
    """The per-user data folder (XDG): ``$XDG_DATA_HOME/ml-connector``, else
    ``~/.local/share/ml-connector``; the same whatever folder a command is run from."""
    data = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(data) if data and Path(data).is_absolute() else Path.home() / ".local/share"
    return base / "ml-connector"


def home() -> Path:
    """Where the default database and key file live: ``$ML_CONNECTOR_HOME`` or `default_home`."""
    configured = os.environ.get(HOME_ENV, "").strip()
    return Path(configured).expanduser() if configured else default_home()


def default_database_url() -> str:
    return os.environ.get(DATABASE_ENV) or f"sqlite:///{home() / 'ml-connector.db'}"


def default_key_file() -> Path:
    return Path(os.environ.get(KEY_FILE_ENV) or home() / "master.key")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    engine: Engine
    sessions: sessionmaker[Session]
    keyring: Keyring | None
    clock: Callable[[], datetime] = utc_now
    #: Where the master key is read from when ``ML_CONNECTOR_MASTER_KEY`` is unset; read again
    #: by `reload_rotated_key`.
    key_file: Path | None = None

    def require_keyring(self) -> Keyring:
        if self.keyring is None:
            raise ConfigError(
                "no master key: set ML_CONNECTOR_MASTER_KEY or run `ml-connector init` to "
                "create the key file"
            )
        return self.keyring

    def reload_rotated_key(self) -> str | None:
        """Pick up a master key that `key rotate` (another process) has put in place.

        The store's key-check row names the key its secrets are sealed under; rotation moves it
        in the same transaction that re-seals them, then swaps the key file. When the row names
        another key than the one held, the key is read again from where it came from (the
        environment variable, else ``key_file``). Returns the new key id, or None when nothing
        changed (or this runtime holds no key).

        Raises ``WrongMasterKeyError`` when the key read is still not the store's: the
        environment variable cannot change under a running process, or the key file has not
        been swapped yet (rotation is between its commit and its rename).
        """
        if self.keyring is None:
            return None
        with self.sessions() as session:
            expected = expected_key_id(session)
        held = self.keyring.primary.key_id
        if expected is None or expected == held:
            return None
        from_env = bool(os.environ.get(KEY_ENV_VAR, "").strip())
        key = load_master_key(key_file=self.key_file)
        if key.key_id != expected:
            source = KEY_ENV_VAR if from_env else f"the key file {self.key_file}"
            hint = (
                "a running process cannot see a changed environment variable: restart it with "
                "the new key"
                if from_env
                else "put the store's key in that file (or finish the rotation)"
            )
            raise WrongMasterKeyError(
                f"the store's master key is now {expected} (rotated), but {source} holds "
                f"{key.key_id}; {hint}"
            )
        self.keyring = Keyring(key)
        return key.key_id

    def close(self) -> None:
        self.engine.dispose()


def open_runtime(
    database_url: str | None = None,
    *,
    key_file: Path | None = None,
    require_key: bool = False,
    run_migrations: bool = True,
) -> Runtime:
    """Connect to the store, bring its schema to the current version, load the master key."""
    engine = make_engine(database_url or default_database_url())
    if run_migrations:
        migrate(engine)
    keyring: Keyring | None
    key_path = key_file or default_key_file()
    try:
        keyring = Keyring(load_master_key(key_file=key_path))
    except ConfigError:
        if require_key:
            raise
        keyring = None
    sessions = make_sessionmaker(engine)
    install_store_scrubbing(sessions)
    return Runtime(engine=engine, sessions=sessions, keyring=keyring, key_file=key_path)


@dataclass
class ConnectionContext:
    """One seller, ready to sync: configuration, mapping and live clients."""

    id: int
    name: str
    config: ConnectionConfig
    mapping: ChargeMapping
    catalog: Catalog
    amazon: dict[str, SpApiClient]
    fusion: FusionClient
    receivables: Receivables
    imports: BulkImports
    profile: PostingProfile
    policy: AccountingPolicy
    _stack: ExitStack = field(default_factory=ExitStack, repr=False)

    def close(self) -> None:
        self._stack.close()


def load_mappings(config: ConnectionConfig) -> tuple[ChargeMapping, Catalog]:
    """Both mapping files, validated, and checked against the connection's Oracle names.

    The charge mapping's ``[journal]`` section names the ledger, source and category the planned
    journals carry; the connection names what the GL import file is sent with. Two different
    answers would post one thing and record another, so a difference is refused here.
    """
    mapping = load_mapping(config.mappings.charges)
    journal, oracle = mapping.journal, config.oracle
    mismatches = [
        f"[journal] {field} = {mine!r} but the connection's Oracle {name} is {theirs!r}"
        for field, mine, name, theirs in (
            ("ledger", journal.ledger, "ledger", oracle.ledger),
            ("source", journal.source, "journal_source", oracle.journal_source),
            ("category", journal.category, "journal_category", oracle.journal_category),
        )
        if mine != theirs
    ]
    if mismatches:
        raise ConfigError(f"{config.mappings.charges}: " + "; ".join(mismatches))
    return mapping, load_catalog(config.mappings.catalog, mapping.chart)


def accounting_policy(config: ConnectionConfig) -> AccountingPolicy:
    """The connection's ``[accounting]`` settings as the derivations take them."""
    settings = config.accounting
    return AccountingPolicy(
        vat_inclusive=VatInclusive(settings.vat_inclusive),
        include_cogs=settings.include_cogs,
        returned_goods=ReturnedGoods(settings.returned_goods),
        cost_currency=settings.cost_currency,
        invoicing_rule=settings.invoicing_rule,
        accounting_rule=settings.accounting_rule,
        accounting_rule_duration=settings.accounting_rule_duration,
    )


def posting_profile(config: ConnectionConfig) -> PostingProfile:
    oracle = config.oracle
    return PostingProfile(
        business_unit=oracle.business_unit,
        invoice_source=oracle.invoice_source,
        invoice_type=oracle.invoice_transaction_type,
        credit_memo_type=oracle.credit_memo_transaction_type,
        ledger=oracle.ledger,
        ledger_id=oracle.ledger_id,
        ledger_currency=oracle.ledger_currency,
        conversion_rate_type=oracle.conversion_rate_type,
        journal_source=oracle.journal_source,
        journal_category=oracle.journal_category,
        payment_terms=oracle.payment_terms,
        credit_method_for_rules=oracle.credit_method_for_rules,
    )


def oracle_token_url(config: ConnectionConfig) -> str:
    """The identity domain's token endpoint: a host under identity.oraclecloud.com, or an
    override on loopback (simulator) or on a host listed in ``oracle.allowed_remote_hosts``."""
    oracle = config.oracle
    if oracle.identity_domain_url.startswith(("http://", "https://")):
        return token_url_override(
            oracle.identity_domain_url.rstrip("/") + "/oauth2/v1/token",
            allow_remote=oracle.allow_remote_base_url,
            allowed_hosts=oracle.allowed_remote_hosts,
        )
    return token_url_for_identity_domain(oracle.identity_domain_url)


def fusion_endpoint(config: ConnectionConfig) -> FusionEndpoint:
    oracle = config.oracle
    if oracle.base_url:
        return FusionEndpoint.from_base_url(
            oracle.base_url,
            allow_remote=oracle.allow_remote_base_url,
            allowed_hosts=oracle.allowed_remote_hosts,
        )
    return FusionEndpoint.for_pod(oracle.pod, oracle.region)


def amazon_endpoints(config: ConnectionConfig) -> dict[str, CheckedUrl]:
    """Every Amazon URL the connection would send credentials to, checked (EndpointError):
    ``lwa`` and one SP-API origin per region."""
    amazon = config.amazon
    checked = {"lwa": lwa_token_url(amazon.regions, amazon.lwa_token_url)}
    for region in amazon.base_urls:
        if region not in amazon.regions:
            raise EndpointError(f"amazon.base_urls.{region}: {region} is not in amazon.regions")
    for region in amazon.regions:
        checked[region] = amazon_base_url(region, amazon.base_urls.get(region))
    return checked


def describe_endpoints(config: ConnectionConfig) -> dict[str, str]:
    """Where each side's credentials go, for `connection show`: the URL, marked when it is
    loopback (a simulator), or why it is refused."""
    shown: dict[str, str] = {}
    try:
        for name, url in amazon_endpoints(config).items():
            key = "amazon.lwa_token_url" if name == "lwa" else f"amazon.base_urls.{name}"
            shown[key] = url.describe()
    except EndpointError as exc:
        shown["amazon"] = f"refused: {exc}"
    builders: dict[str, Callable[[], str]] = {
        "oracle.token_url": lambda: oracle_token_url(config),
        "oracle.base_url": lambda: fusion_endpoint(config).origin,
    }
    for key, build in builders.items():
        try:
            address = build()
        except EndpointError as exc:
            shown[key] = f"refused: {exc}"
            continue
        loopback = is_loopback_host(httpx.URL(address).host)
        shown[key] = f"{address} (loopback: simulator)" if loopback else address
    return shown


def _oracle_auth(
    rt: Runtime, session: Session, connection_id: int, config: ConnectionConfig, http: httpx.Client
) -> Authenticator:
    oracle = config.oracle
    keyring = rt.require_keyring()
    token_url = oracle_token_url(config)
    if oracle.auth == "basic":
        password = get_secret(session, keyring, connection_id, ORACLE_CLIENT_SECRET)
        return BasicAuth(oracle.client_id, password.reveal())
    secret = get_secret(session, keyring, connection_id, ORACLE_CLIENT_SECRET)
    if oracle.auth == "jwt_assertion":
        key = get_secret(session, keyring, connection_id, ORACLE_PRIVATE_KEY)
        default_redactor.add_secret(key.reveal())
        return JwtUserAssertionAuth(
            token_url=token_url,
            client_id=oracle.client_id,
            client_secret=secret.reveal(),
            scope=oracle.scope,
            username=oracle.jwt_username or oracle.client_id,
            private_key_pem=key.reveal().encode("utf-8"),
            key_id=oracle.jwt_key_id or "ml-connector",
            http=http,
        )
    return ClientCredentialsAuth(
        token_url=token_url,
        client_id=oracle.client_id,
        client_secret=secret.reveal(),
        scope=oracle.scope,
        http=http,
    )


def _scaled_limiter(scale: float) -> RateLimiter[BucketKey]:
    """Published usage plans sped up by `scale`, to match a simulator running time faster."""
    return RateLimiter(lambda key: limit_for(key[2]), scale=scale)


@dataclass
class _AmazonSession:
    http: httpx.Client
    tokens: LwaTokenProvider
    limiter: RateLimiter[BucketKey]


class _AmazonSessions:
    """Per (connection, region): one HTTP pool, one LWA token cache, one set of rate buckets.

    Kept for the life of the process so `run` does not fetch a new access token every cycle
    (LWA tokens live an hour; they are refreshed 5 minutes before expiry) and the token buckets
    remember what earlier cycles spent. A change of credentials starts a fresh session.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[tuple[int, str, str], _AmazonSession] = {}

    def get(
        self,
        connection_id: int,
        region: str,
        credentials: LwaCredentials,
        lwa_url: str,
        config: ConnectionConfig,
    ) -> _AmazonSession:
        fingerprint = hashlib.sha256(
            "\0".join(
                (
                    credentials.client_id,
                    credentials.client_secret,
                    credentials.refresh_token,
                    lwa_url,
                )
            ).encode()
        ).hexdigest()
        key = (connection_id, region, fingerprint)
        with self._lock:
            found = self._sessions.get(key)
            if found is None:
                for stale in [k for k in self._sessions if k[:2] == key[:2]]:
                    self._sessions.pop(stale).http.close()
                http = build_client()
                scale = config.amazon.rate_limit_scale
                found = _AmazonSession(
                    http=http,
                    tokens=LwaTokenProvider(credentials, http=http, token_url=lwa_url),
                    limiter=default_limiter() if scale == 1.0 else _scaled_limiter(scale),
                )
                self._sessions[key] = found
            return found


_AMAZON_SESSIONS = _AmazonSessions()


@contextmanager
def open_connection(rt: Runtime, name: str) -> Iterator[ConnectionContext]:
    """Build a connection's clients from its stored config and decrypted secrets."""
    with rt.sessions() as session:
        row = get_connection(session, name)
        config = connection_config(row)
        connection_id = row.id
        keyring = rt.require_keyring()
        lwa_secret = get_secret(session, keyring, connection_id, LWA_CLIENT_SECRET)
        tokens = {
            region: get_secret(session, keyring, connection_id, refresh_token_name(region))
            for region in config.amazon.regions
        }
    mapping, catalog = load_mappings(config)
    urls = amazon_endpoints(config)
    stack = ExitStack()
    try:
        amazon: dict[str, SpApiClient] = {}
        for region, token in tokens.items():
            default_redactor.add_secret(token.reveal())
            credentials = LwaCredentials(
                client_id=config.amazon.lwa_client_id,
                client_secret=lwa_secret.reveal(),
                refresh_token=token.reveal(),
            )
            lwa_url = urls["lwa"].url
            shared = _AMAZON_SESSIONS.get(connection_id, region, credentials, lwa_url, config)
            client = SpApiClient(
                seller_id=config.amazon.seller_id,
                region=Region(region),
                credentials=credentials,
                base_url=urls[region].url,
                lwa_url=lwa_url,
                http=shared.http,
                limiter=shared.limiter,
                token_provider=shared.tokens,
            )
            amazon[region] = client
        oracle = config.oracle
        endpoint = fusion_endpoint(config)
        token_http = stack.enter_context(httpx.Client(timeout=60.0))
        with rt.sessions() as session:
            auth = _oracle_auth(rt, session, connection_id, config, token_http)
        rate = oracle.requests_per_second
        fusion = FusionClient(
            endpoint, auth, limiter=RateLimiter[str](lambda _op: (rate, max(10.0, rate * 2)))
        )
        stack.callback(fusion.close)
        yield ConnectionContext(
            id=connection_id,
            name=name,
            config=config,
            mapping=mapping,
            catalog=catalog,
            amazon=amazon,
            fusion=fusion,
            receivables=Receivables(fusion),
            imports=BulkImports(
                fusion, poll_interval=oracle.import_poll_seconds, max_wait=oracle.import_max_wait
            ),
            profile=posting_profile(config),
            policy=accounting_policy(config),
            _stack=stack,
        )
    finally:
        stack.close()
