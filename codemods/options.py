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

#: The default ``heavy-modules``, each with why it is there. The figures are the median
#: cumulative ``-X importtime`` of ``import MODULE`` in five fresh processes
#: (``scripts/heavy_costs.py``), measured 2026-12-02 on the 2-core CI machine, Python 3.11, with
#: numpy 2.4 at 110 ms as the yardstick. A package is in when its import costs about numpy's or
#: more and services import it at module level while using it only in functions (a model, a
#: client, a dataframe built on a request). Left out, measured the same way: requests (104 ms),
#: httpx (97), redis (112), pydantic (55) and sqlalchemy (184), because services use them at
#: import (models, schemas, type annotations) and lazy-singletons defers the objects they build
#: (sessions, clients, engines) instead.
HEAVY_MODULE_REASONS: dict[str, str] = {
    "torch": "1,158 ms (torch 2.13 CPU build)",
    "torchvision": "loads torch",
    "torchaudio": "loads torch",
    "clip": "loads torch and torchvision",
    "open_clip": "loads torch and torchvision",
    "numpy": "110 ms: the yardstick the others are measured against",
    "scipy": "138 ms, and most of its submodules load much more",
    "pandas": "334 ms",
    "PIL": "`PIL.Image` only 16 ms, but the seeds' services import it beside torch and clip for image handlers; its format plugins load on first use",
    "cv2": "OpenCV: a large native extension (not measured here)",
    "sklearn": "1,159 ms",
    "tensorflow": "an ML framework (not measured here)",
    "keras": "loads a backend: tensorflow, jax or torch",
    "jax": "an ML framework that loads XLA (not measured here)",
    "transformers": "loads torch (or tensorflow) with its model classes",
    "sentence_transformers": "loads transformers and torch",
    "matplotlib": "201 ms, then a backend and the font cache on first use",
    "spacy": "loads thinc and its registries (not measured here)",
    "nltk": "imports its corpus readers and taggers (not measured here)",
    "joblib": "224 ms; used to load a model file in a function",
    "onnxruntime": "160 ms and a native runtime",
    "boto3": "175 ms, and each client's service model is loaded on creation",
    "openai": "476 ms (4x numpy)",
    "anthropic": "1,282 ms (11x numpy)",
    "elasticsearch": "343 ms",
    "langchain": "`langchain.agents` 879 ms, `langchain.chat_models` 727 ms",
    "langchain_core": "`langchain_core.messages` 208 ms",
    "google.cloud.storage": "188 ms, with its auth and transport stack",
}
DEFAULT_HEAVY_MODULES = tuple(HEAVY_MODULE_REASONS)


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
