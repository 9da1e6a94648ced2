"""The codemods' options and their defaults, declared once.

The engine's settings (:mod:`lazifier.settings`) build their ``[tool.lazify]`` keys, the CLI's
choices and the cache fingerprint from these names; the codemods read them from
:class:`codemods._api.Settings`. Nothing here imports LibCST: ``lazify --help`` reads it.
"""

from __future__ import annotations

from typing import Literal, get_args

#: heavy-imports: function-local imports, PEP 810 ``lazy import``, or ``__lazy_modules__``.
Style = Literal["local", "lazy-keyword", "lazy-modules"]
STYLES: tuple[str, ...] = get_args(Style)

#: app-factory: what stays at module level (``app = create_app()``, a stand-in, or nothing).
ModuleApp = Literal["eager", "lazy", "none"]
MODULE_APP_MODES: tuple[str, ...] = get_args(ModuleApp)

#: Whether the project can use SQLAlchemy 2.0 (a project fact, detected by the engine).
SQLAlchemy2 = Literal["yes", "no", "unknown"]

#: Packages whose import costs more than numpy's (``scripts/heavy_costs.py``: the median
#: cumulative ``-X importtime`` of fresh processes), which services import at module level and
#: use only in functions. The API clients (openai, anthropic, boto3, elasticsearch) measured
#: 3 to 10 times numpy's cost; joblib and onnxruntime above it. Not here: clients that are cheap
#: or usually used at import (requests, httpx, redis, pydantic, sqlalchemy, whose objects
#: lazy-singletons makes lazy instead).
DEFAULT_HEAVY_MODULES = (
    "torch", "torchvision", "torchaudio", "clip", "open_clip", "numpy", "scipy", "pandas", "PIL",
    "cv2", "sklearn", "tensorflow", "keras", "jax", "transformers", "sentence_transformers",
    "matplotlib", "spacy", "nltk",
    "joblib", "onnxruntime", "boto3", "openai", "anthropic", "elasticsearch",
)  # fmt: skip


#: Calls that build something expensive or with side effects (qualified names; ``*`` globs).
DEFAULT_FACTORIES = (
    "sqlalchemy.create_engine", "sqlalchemy.engine.create_engine", "sqlalchemy.orm.sessionmaker",
    "sqlalchemy.orm.scoped_session", "sqlalchemy.ext.asyncio.create_async_engine",
    "sqlalchemy.ext.asyncio.async_sessionmaker", "sqlite3.connect", "redis.Redis",
    "redis.Redis.from_url", "redis.from_url", "redis.StrictRedis", "redis.asyncio.Redis",
    "redis.asyncio.from_url", "boto3.client", "boto3.resource", "boto3.session.Session",
    "requests.Session", "httpx.Client", "httpx.AsyncClient", "open", "builtins.open",
    "*.from_pretrained", "torch.load", "joblib.load", "pickle.load", "psycopg2.connect",
    "pymongo.MongoClient", "motor.motor_asyncio.AsyncIOMotorClient", "openai.OpenAI",
    "anthropic.Anthropic", "elasticsearch.Elasticsearch", "google.cloud.storage.Client",
)  # fmt: skip

#: Calls that are cheap and side-effect free: never lazified, even for project classes.
DEFAULT_CHEAP = (
    "logging.getLogger", "os.getenv", "os.environ.get", "typing.TypeVar", "typing.NewType",
    "contextvars.ContextVar", "threading.Lock", "threading.RLock", "threading.Event",
    "asyncio.Lock", "fastapi.APIRouter", "flask.Blueprint", "collections.namedtuple",
    "collections.defaultdict", "collections.OrderedDict", "dict", "list", "set", "frozenset",
    "tuple", "object", "re.compile", "pathlib.Path", "datetime.timedelta", "decimal.Decimal",
    "functools.partial", "enum.Enum", "dataclasses.field", "pydantic.Field",
    # Constants built from a heavy module: types, devices, arrays (see `plan_project`).
    "numpy.dtype", "numpy.float[0-9]*", "numpy.int[0-9]*", "numpy.uint[0-9]*", "numpy.intp",
    "numpy.complex[0-9]*", "numpy.bool_", "numpy.finfo", "numpy.iinfo", "numpy.array",
    "numpy.asarray", "numpy.zeros", "numpy.ones", "numpy.full", "numpy.empty", "numpy.arange",
    "numpy.linspace", "numpy.eye", "torch.device", "torch.dtype", "torch.Size", "torch.tensor",
    "torch.zeros", "torch.ones", "torch.full", "torch.empty", "torch.arange", "torch.linspace",
    "torch.eye", "torch.finfo", "torch.iinfo",
)  # fmt: skip
