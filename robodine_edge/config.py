"""Configuration: packaged defaults, then the TOML file, then `ROBODINE_*` variables.

`run --demo` puts its own defaults (`DEMO_DEFAULTS`) over the packaged ones, under the
file and the variables: a demo is for the machine it runs on, unless told otherwise.

The result is validated once into frozen objects; every problem is collected and
reported together (`ConfigError.problems`, one line each naming the TOML key and, when
the value came from the environment, the variable). Each part of the service is
handed only its own section.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import re
import ssl
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from robodine_edge.errors import ConfigError

Port = Annotated[int, Field(ge=0, le=65535)]
MDNS_INSTANCE_PREFIX = "robodine-edge "
MDNS_LABEL_BYTES = 63
MAX_STORE_ID = MDNS_LABEL_BYTES - len(MDNS_INSTANCE_PREFIX) - len("-99")
"""The mDNS instance `robodine-edge <store id>` is one DNS label, at most 63 bytes, with
room left for the `-2` ... `-99` zeroconf appends when another host holds the name: 46."""
STORE_ID_CHARACTERS = re.compile(r"[A-Za-z0-9._-]+")
HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def _host(value: str) -> str:
    """An address to bind: an IPv4 or IPv6 address, or a host name to resolve."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if len(value) > 253 or not HOSTNAME.fullmatch(value):
            raise PydanticCustomError("host", "not an IP address or host name") from None
    return value


def _store_id(value: str) -> str:
    """The SPEC's id characters, and a length that fits the mDNS instance name. Said in
    words: a user reading `check-config` should not have to read a regular expression."""
    if not value:
        raise PydanticCustomError("store_id_empty", "must not be empty")
    if not STORE_ID_CHARACTERS.fullmatch(value):
        raise PydanticCustomError("store_id_characters", "only letters, digits, '.', '_' and '-' are allowed")
    if len(value) > MAX_STORE_ID:
        raise PydanticCustomError(
            "store_id_length",
            "at most {limit} characters: the mDNS instance name 'robodine-edge <id>' is one DNS label of at most"
            " {label} bytes, with room for the '-2' (up to '-99') added when another edge holds the name",
            {"limit": MAX_STORE_ID, "label": MDNS_LABEL_BYTES},
        )
    return value


DATABASE_SCHEMES = ("postgresql://", "postgres://", "sqlite:///")


def _database_url(value: str) -> str:
    """Empty (a SQLite file in the data directory), `postgresql://...` or `sqlite:///<path>`."""
    if value and not value.startswith(DATABASE_SCHEMES):
        raise PydanticCustomError(
            "database_url", "must be postgresql://user:password@host:port/database or sqlite:///<path>, or empty"
        )
    if value.startswith("sqlite:///") and not value.removeprefix("sqlite:///"):
        raise PydanticCustomError("database_url", "sqlite:/// needs a file path")
    return value


CHECKOUT_CONFIG = Path("config/robodine.toml")
SYSTEM_CONFIG = Path("/etc/robodine/robodine.toml")

# These keys have short variables of their own (docs/CONFIG.md); every other key uses ROBODINE_<SECTION>_<KEY>.
ENV_NAMES: dict[str, str] = {
    "data.dir": "ROBODINE_DATA_DIR",
    "net.host": "ROBODINE_HOST",
    "http.port": "ROBODINE_HTTP_PORT",
    "robots.port": "ROBODINE_ROBOT_PORT",
    "telemetry.port": "ROBODINE_TELEMETRY_PORT",
    "video.port": "ROBODINE_VIDEO_PORT",
    "mdns.enabled": "ROBODINE_MDNS",
    "store.id": "ROBODINE_STORE_ID",
    "legacy.enabled": "ROBODINE_LEGACY",
    "serial": "ROBODINE_SERIAL",
    "federation.enabled": "ROBODINE_FEDERATION",
}
SECRET_KEYS = frozenset({"federation.password", "hq.api_token"})
"""Keys `check-config` never prints: it says only whether they are set."""
DEMO_DEFAULTS: dict[str, dict[str, Any]] = {"net": {"host": "127.0.0.1"}, "store": {"id": "demo"}}
"""What `run --demo` changes when neither the file nor a variable sets it: loopback only,
and a store id of its own, so the demo is not announced to the store's network as
`robodine-edge store-1`, the name a real store has by default."""
DEMO_SOURCE = "run --demo"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")


class DataConfig(_Section):
    dir: Annotated[str, Field(min_length=1)]
    min_free_mb: Annotated[int, Field(ge=0, le=1_000_000)]

    @property
    def path(self) -> Path:
        return Path(self.dir)


class NetConfig(_Section):
    host: Annotated[str, Field(min_length=1), AfterValidator(_host)]


class HttpConfig(_Section):
    port: Port
    cors_origins: Annotated[tuple[str, ...], Field(strict=False)]
    ask_timeout_s: Annotated[float, Field(gt=0, le=300)]
    validate_responses: bool


class RobotsConfig(_Section):
    port: Port
    heartbeat_s: Annotated[float, Field(gt=0, le=60)]


class TelemetryConfig(_Section):
    port: Port
    ws_rate_hz: Annotated[float, Field(gt=0, le=1000)]
    persist_hz: Annotated[float, Field(gt=0, le=100)]
    write_every_s: Annotated[float, Field(gt=0, le=300)]


class VideoConfig(_Section):
    port: Port


class MdnsConfig(_Section):
    enabled: bool


class StoreConfig(_Section):
    id: Annotated[str, AfterValidator(_store_id)]


class LegacyConfig(_Section):
    enabled: bool


class AuthConfig(_Section):
    token_ttl_s: Annotated[int, Field(ge=60, le=30 * 86400)]
    kiosk_token_ttl_s: Annotated[int, Field(ge=60, le=365 * 86400)]
    """A table's tablet stays signed in until staff sign it out: its tokens live longer
    and its page refreshes them (`POST /api/auth/refresh`) long before they end."""


class LogConfig(_Section):
    level: Literal["debug", "info", "warning", "error"]
    format: Literal["kv", "json"]


class ActorsConfig(_Section):
    max_restarts: Annotated[int, Field(ge=0, le=100)]
    restart_window_s: Annotated[float, Field(gt=0, le=3600)]


class BackupConfig(_Section):
    interval_s: Annotated[int, Field(ge=0, le=366 * 86400)]
    keep: Annotated[int, Field(ge=1, le=10_000)]


class RetentionConfig(_Section):
    poses_days: Annotated[float, Field(ge=0, le=36_500)]
    events_days: Annotated[float, Field(ge=0, le=36_500)]
    recordings_mb: Annotated[int, Field(ge=0, le=100_000_000)]


class SerialConfig(_Section):
    port: Annotated[str, Field(min_length=1)]
    baud: Annotated[int, Field(gt=0, le=4_000_000)]


KEYED = "keyed"
"""A problem found across sections, reported under the key named in its context."""


class FederationConfig(_Section):
    """Chain federation over MQTT (docs/FEDERATION.md). Empty strings mean "not set":
    TOML has no null. Checked only when enabled, so a store without a chain validates."""

    enabled: bool
    url: str
    chain: str
    username: str
    password: str
    ca_file: str
    keepalive_s: Annotated[int, Field(ge=1, le=3600)]
    replay_per_s: Annotated[float, Field(gt=0, le=100_000)]

    @field_validator("chain", "url", "ca_file")
    @classmethod
    def _usable(cls, value: str, info: ValidationInfo) -> str:
        """Each key checked on its own (every problem reported together), only when on."""
        if not info.data.get("enabled"):
            return value
        problem = _PROBLEMS[info.field_name or ""](value)
        if problem:
            raise PydanticCustomError("federation", problem)
        return value

    def problems(self) -> list[str]:
        """What keeps this section from reaching a broker, as `key: problem` lines, whether
        or not the store has federation on (`robodine-edge hq` always needs the broker)."""
        found = [(key, "required" if not getattr(self, key) and key != "ca_file" else check(getattr(self, key)))
                 for key, check in _PROBLEMS.items()]  # fmt: skip
        return [f"federation.{key}: {problem}" for key, problem in found if problem]

    @property
    def broker(self) -> tuple[str, int, bool]:
        """(host, port, tls) of `url`; the port defaults to 1883, or 8883 for mqtts."""
        parts = urlsplit(self.url)
        tls = parts.scheme == "mqtts"
        return parts.hostname or "", parts.port or (8883 if tls else 1883), tls


def _chain_problem(value: str) -> str | None:
    if not value:
        return "required when federation.enabled is on"
    if not STORE_ID_CHARACTERS.fullmatch(value) or len(value) > 64 or value in (".", ".."):
        return "1 to 64 letters, digits, '.', '_' or '-' (not '.' or '..')"
    return None


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return "invalid port"
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        return "not mqtt://host[:port] or mqtts://host[:port]"
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or port == 0:
        return "only a scheme, a host and a port (1-65535) are allowed"
    return None


def _ca_problem(path: str) -> str | None:
    """The CA bundle is read here, once, so a wrong path is a config error (exit 2), not
    a service that starts and never connects."""
    if not path:
        return None
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        return f"cannot load CA certificates: {getattr(exc, 'strerror', None) or exc}"
    return None


_PROBLEMS = {"chain": _chain_problem, "url": _url_problem, "ca_file": _ca_problem}


class HqConfig(_Section):
    """Headquarters (`robodine-edge hq`): its database, HTTP port and API token."""

    database_url: Annotated[str, AfterValidator(_database_url)]
    http_port: Port
    api_token: str


class Config(_Section):
    """The whole validated configuration; `sources` says where overridden values came from."""

    data: DataConfig
    net: NetConfig
    http: HttpConfig
    robots: RobotsConfig
    telemetry: TelemetryConfig
    video: VideoConfig
    mdns: MdnsConfig
    store: StoreConfig
    legacy: LegacyConfig
    auth: AuthConfig
    log: LogConfig
    actors: ActorsConfig
    backup: BackupConfig
    retention: RetentionConfig
    federation: FederationConfig
    hq: HqConfig
    serial: Annotated[tuple[SerialConfig, ...], Field(strict=False)] = ()
    file: str | None = None
    sources: Annotated[tuple[tuple[str, str], ...], Field(strict=False)] = ()

    @model_validator(mode="after")
    def _store_on_topics(self) -> Config:
        """`all` is the chain-wide topic level (robodine/v1/<chain>/all/cfg/...): a store
        called so would take every store's desired state for its own."""
        if self.federation.enabled and self.store.id == "all":
            raise PydanticCustomError(
                KEYED, "{message}", {"key": "store.id", "message": "'all' names every store of a chain on MQTT topics"}
            )
        return self


def env_name(key: str) -> str:
    """The environment variable that overrides TOML key `key` (e.g. `http.port`)."""
    return ENV_NAMES.get(key, "ROBODINE_" + key.replace(".", "_").upper())


def config_file(cli: Path | None, env: Mapping[str, str] | None = None) -> tuple[Path | None, str | None]:
    """The config file to read, and who named it (`--config`, else `ROBODINE_CONFIG`;
    None for the default places). A file named by the user must exist — a typo in its
    path is an error, not the packaged defaults silently listening on every interface."""
    env = os.environ if env is None else env
    if cli is not None:
        return cli, "--config"
    if env.get("ROBODINE_CONFIG"):
        return Path(env["ROBODINE_CONFIG"]), "ROBODINE_CONFIG"
    return default_config_path(), None


def default_config_path(cwd: Path | None = None) -> Path | None:
    """The config file used when none is named: the checkout's, else /etc's (if there)."""
    checkout = (cwd or Path.cwd()) / CHECKOUT_CONFIG
    if checkout.is_file():
        return checkout
    return SYSTEM_CONFIG if SYSTEM_CONFIG.is_file() else None


def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    required: bool = False,
    named_by: str | None = None,
    demo: bool = False,
) -> Config:
    """Build the effective configuration or raise `ConfigError` listing every problem.

    `required` makes a missing file an error (it was named explicitly by the user, as
    `named_by` says: `--config` or `ROBODINE_CONFIG`). `demo` adds `DEMO_DEFAULTS`
    under the file and the variables; `sources` names `run --demo` for the keys it set.
    """
    env = os.environ if env is None else env
    raw = _packaged_defaults()
    if demo:
        _deep_merge(raw, DEMO_DEFAULTS)
    problems: list[str] = []
    from_file: Mapping[str, Any] = {}
    if path is not None:
        from_file = _merge_file(raw, path, required or named_by is not None, problems, named_by)
    overridden = _apply_env(raw, env, problems)
    sources = dict(overridden)
    if demo:
        for section, keys in DEMO_DEFAULTS.items():
            written = from_file.get(section)
            for key in keys:
                name = f"{section}.{key}"
                if name not in sources and not (isinstance(written, Mapping) and key in written):
                    sources[name] = DEMO_SOURCE
    raw["file"] = str(path) if path is not None and path.is_file() else None
    raw["sources"] = tuple(sorted(sources.items()))
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_describe(exc, overridden, env))
    if problems:
        raise ConfigError(problems)
    data_dir = str(Path(config.data.dir).expanduser().absolute())
    return config.model_copy(update={"data": config.data.model_copy(update={"dir": data_dir})})


def _packaged_defaults() -> dict[str, Any]:
    text = resources.files("robodine_edge").joinpath("default.toml").read_text("utf-8")
    return tomllib.loads(text)


def _merge_file(
    raw: dict[str, Any], path: Path, required: bool, problems: list[str], named_by: str | None
) -> Mapping[str, Any]:
    """Merge the TOML file at `path` into `raw`; returns what the file itself set."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            problems.append(f"{path}{f' (from {named_by})' if named_by else ''}: config file not found")
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read config file: {exc}")
        return {}
    try:
        loaded = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: invalid TOML: {exc}")
        return {}
    _deep_merge(raw, loaded)
    return loaded


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def _apply_env(raw: dict[str, Any], env: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    """Overlay `ROBODINE_*` variables on `raw`; returns {toml key: variable} of those used."""
    used: dict[str, str] = {}
    for key, annotation in _leaf_fields():
        name = env_name(key)
        if name not in env:
            continue
        try:
            value = _parse_serial(env[name]) if key == "serial" else _parse_env_value(env[name], annotation)
        except ValueError as exc:
            problems.append(f"{key} (from {name}={env[name]!r}): {exc}")
            continue
        section, _, leaf = key.partition(".")
        if leaf:
            target = raw.setdefault(section, {})
            if not isinstance(target, dict):
                continue  # the file made the section a non-table; validation reports it
            target[leaf] = value
        else:
            raw[section] = value
        used[key] = name
    return used


def _leaf_fields() -> list[tuple[str, Any]]:
    """Every overridable key as (`section.key`, annotation); `serial` as a whole."""
    leaves: list[tuple[str, Any]] = []
    for section, field in Config.model_fields.items():
        model = field.annotation
        if section in ("file", "sources"):
            continue
        if isinstance(model, type) and issubclass(model, _Section):
            leaves.extend((f"{section}.{key}", sub.annotation) for key, sub in model.model_fields.items())
        else:
            leaves.append((section, field.annotation))
    return leaves


def _parse_env_value(text: str, annotation: Any) -> Any:
    """Turn an environment string into the TOML-typed value the key expects."""
    base = _strip_annotated(annotation)
    if base is bool:
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError("expected 1 or 0 (true/false)")
    if base is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError("expected an integer") from None
    if base is float:
        try:
            return float(text.strip())
        except ValueError:
            raise ValueError("expected a number") from None
    if get_origin(base) is tuple:
        return _parse_env_list(text)
    return text


def _parse_env_list(text: str) -> Any:
    """A list from the environment: JSON (`[...]`) or comma-separated words."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            return orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON list: {exc}") from None
    return [part.strip() for part in stripped.split(",") if part.strip()]


SERIAL_EXAMPLE = '[{"port": "/dev/ttyUSB0", "baud": 115200}]'


def _parse_serial(text: str) -> Any:
    """`ROBODINE_SERIAL`: the `[[serial]]` tables as a JSON list."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, list):
        raise ValueError(f"expected a JSON list of {{port, baud}} objects, e.g. {SERIAL_EXAMPLE}")
    return value


def _strip_annotated(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _describe(exc: ValidationError, overridden: Mapping[str, str], env: Mapping[str, str]) -> list[str]:
    """One line per validation problem, naming the key and the variable it came from."""
    lines: list[str] = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        if error["type"] == KEYED:
            loc = error["ctx"]["key"].split(".")
        key = ".".join(loc) or "(top level)"
        owner = ".".join(loc[:2]) if loc and loc[0] != "serial" else "serial"
        where = f"{key} (from {overridden[owner]}={env[overridden[owner]]!r})" if owner in overridden else key
        lines.append(f"{where}: {_explain(error)}")
    return lines


def _explain(error: Any) -> str:
    kind = error["type"]
    if kind == KEYED:
        return str(error["ctx"]["message"])
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "model_type":
        return "expected a table of keys"
    got = error.get("input")
    suffix = "" if isinstance(got, dict | list) else f" (got {got!r})"
    return f"{error['msg'][0].lower()}{error['msg'][1:]}{suffix}"


def render_config(config: Config, env: Mapping[str, str] | None = None) -> str:
    """The effective configuration as TOML, each overridden key marked with its variable
    (or `run --demo`, for the demo's own defaults).

    Secrets are never printed: the admin password only shows whether it is set.
    """
    env = os.environ if env is None else env
    sources = dict(config.sources)
    lines = [f"# effective configuration (file: {config.file or 'none, packaged defaults'})"]
    for section in Config.model_fields:
        value = getattr(config, section)
        if not isinstance(value, _Section):
            continue
        lines.append(f"\n[{section}]")
        for key in type(value).model_fields:
            note = f"  # from {sources[f'{section}.{key}']}" if f"{section}.{key}" in sources else ""
            if f"{section}.{key}" in SECRET_KEYS and getattr(value, key):
                lines.append(f"# {key}: set (hidden){note}")
                continue
            lines.append(f"{key} = {_toml_value(_shown(f'{section}.{key}', getattr(value, key)))}{note}")
    note = f"  # from {sources['serial']}" if "serial" in sources else ""
    for port in config.serial:
        lines.append(f"\n[[serial]]{note}\nport = {_toml_value(port.port)}\nbaud = {port.baud}")
    admin = "set (hidden)" if env.get("ROBODINE_ADMIN_PASSWORD") else "not set"
    lines.append(f"\n# ROBODINE_ADMIN_PASSWORD: {admin}")
    return "\n".join(lines) + "\n"


def _shown(key: str, value: Any) -> Any:
    """What `check-config` prints for `key` (secrets are not printed at all): a database URL
    loses its password."""
    if key == "hq.database_url":
        return hide_password(value)
    return value


def hide_password(url: str) -> str:
    """`url` with the password of its user part replaced, for logs and `check-config`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{parts.username or ''}:***@{netloc[2]}").geturl()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return orjson.dumps(str(value)).decode()
