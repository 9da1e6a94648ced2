"""lazify doctor's probe: import one entry point and record what that did.

Run by path with the *project's* interpreter (``python -B -X importtime probe.py ...``), never
imported: it must not import anything from lazify, nor anything outside the standard library,
and before the entry is imported it imports nothing that isn't already loaded at start-up, so
the entry pays for every module it needs. It runs on Python 3.10 and later. It is one file,
over the size of lazify's other modules, for the same reason: a file run by path, importing
nothing of lazify's, can't be split into modules of its own.

Arguments: ``OUT ROOT ENTRY ATTR TRACE [PLATFORM LIMIT NETWORK WRITABLE]``. OUT is where the JSON result is written (stdout and
stderr belong to the user's code; stderr also carries ``-X importtime``, between two marker
lines). ROOT is the project root (the copy being measured), put first on ``sys.path`` as a
serverless platform does. ENTRY is a module name, ``file:PATH`` for a file that has no module
name, or empty for a bare start-up run. ATTR is an attribute to read from it (or empty).
TRACE is ``1`` to time the module-level statements of project files with a line tracer.

With PLATFORM (``--sandbox serverless``) the import runs under a serverless platform's
constraints, imposed by the same audit hook that records: writes, file creation, renames,
removals and ``mkdir`` anywhere but the WRITABLE directories (``os.pathsep``-separated: the
run's temporary directory and ``/tmp``), and anywhere in ROOT (the deployed code, read-only
however it is reached), fail with ``EROFS`` ("Read-only file system") as on the platform; a
SQLite database that would be created there fails as SQLite fails there ("unable to open
database file"), one that exists opens read-only (``PRAGMA query_only``); a connection to a
network address fails with ``EHOSTUNREACH`` unless NETWORK is ``1``; and after LIMIT seconds
(the platform's init limit) the import is interrupted where it is, with a traceback. Every
refusal is recorded with ``refused`` in its detail.

What is recorded, each with the project frames on the stack at the time (outermost first, as
``[file, line, module_level]``): every module imported (audit event ``import``), files opened
for writing, directories made, SQLite connections, name lookups and socket connections,
subprocesses, threads started, random bytes drawn from ``os.urandom`` (what ``secrets`` uses),
and the exception that ends the import, with its whole traceback.
"""

import sys
import time

OUT, ROOT, ENTRY, ATTR, TRACE = sys.argv[1:6]
PLATFORM, LIMIT, NETWORK, WRITABLE = [*sys.argv[6:10], "", "", "", ""][:4]
_perf = time.perf_counter
_started = _perf()

# The script's own directory is sys.path[0]: replace it by the project root, so nothing next to
# the probe is importable and the project is, as on the platform.
sys.path[0] = ROOT

_os = sys.modules["os"]
_sep = _os.sep
_root_prefix = ROOT.rstrip(_sep) + _sep
#: Directories in the project that are not the project's code.
_NOT_PROJECT = {".venv", "venv", "site-packages", "node_modules", ".tox", ".nox", "__pypackages__", ".git"}
_project_cache = {}


def _project_file(filename):
    """The path of ``filename`` relative to ROOT if it is a project source file, else None."""
    try:
        return _project_cache[filename]
    except KeyError:
        pass
    rel = None
    if filename.startswith(_root_prefix):
        candidate = filename[len(_root_prefix) :]
        parts = candidate.split(_sep)
        if not _NOT_PROJECT.intersection(parts[:-1]):
            rel = "/".join(parts)
    _project_cache[filename] = rel
    return rel


def _stack(frame):
    """The project frames from ``frame`` outwards, returned outermost first. Also the file of
    the outermost frame inside the innermost project frame (not the import system's): the
    module whose code did it, when that is not the project's."""
    out = []
    inside = None
    candidate = None
    while frame is not None:
        code = frame.f_code
        rel = _project_file(code.co_filename)
        if rel is not None:
            if not out:
                inside = candidate
            out.append([rel, frame.f_lineno, code.co_name == "<module>"])
        elif not out and not code.co_filename.startswith("<"):
            candidate = code.co_filename
        frame = frame.f_back
    out.reverse()
    _last_inside[0] = inside
    return out


_last_inside = [None]


imports = []  # [module, stack, imported directly by the project's line]
effects = []  # [kind, detail, stack, library_frame]
_busy = [False]
_O_WRITE = _os.O_WRONLY | _os.O_RDWR | _os.O_CREAT | _os.O_APPEND | _os.O_TRUNC
_WATCHED = frozenset(
    (
        "import",
        "open",
        "os.mkdir",
        "sqlite3.connect",
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "subprocess.Popen",
        "os.system",
        "os.posix_spawn",
        "os.exec",
        "_thread.start_new_thread",
        "_thread.start_joinable_thread",
    )
)


def _innermost(frame):
    """The innermost frame that isn't the probe's own: file and line, for the effect's detail."""
    if frame is None:
        return None
    return [frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name]


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _record(kind, detail, frame):
    stack = _stack(frame)
    if kind == "import":
        imports.append([detail, stack, bool(stack) and _last_inside[0] is None])
        return
    if not stack:
        return  # nothing of the project's on the stack: the interpreter's or the probe's own work
    code = frame.f_code if frame is not None else None
    # Writes the import system makes (bytecode caches) are not the project's doing.
    if code is not None and code.co_filename.startswith("<frozen importlib"):
        return
    if kind == "open" and _in_logging_handler(frame):
        kind = "logging-file"
    if _pending[0] is not None and isinstance(detail, dict) and "refused" not in detail:
        detail = dict(detail, refused=_refusal_text(_pending[0]))
        _pending[0] = None
    effects.append([kind, detail, stack, _innermost(frame), _last_inside[0]])


def _in_logging_handler(frame):
    while frame is not None:
        code = frame.f_code
        if code.co_name in ("_open", "__init__") and code.co_filename.endswith(
            _sep + "logging" + _sep + "__init__.py"
        ):
            self = frame.f_locals.get("self")
            if self is not None and hasattr(self, "baseFilename"):
                return True
        frame = frame.f_back
    return False


def _hook(event, args):
    if event not in _WATCHED or _busy[0]:
        return
    _busy[0] = True
    refusal = None
    try:
        frame = sys._getframe(1)
        if PLATFORM:
            refusal = _sandbox(event, args, frame)
        if event == "import":
            _record("import", args[0], frame)
        elif event == "open":
            path, mode, flags = args
            if isinstance(path, int):
                return
            if mode is None:
                writes = bool((flags or 0) & _O_WRITE)
            else:
                writes = any(c in mode for c in "wax+")
            if writes:
                _record("open", {"path": _text(path), "mode": mode if mode is not None else "flags"}, frame)
        elif event == "os.mkdir":
            path = _text(args[0])
            _record("mkdir", {"path": path, "exists": _os.path.isdir(path)}, frame)
        elif event == "sqlite3.connect":
            _record("sqlite", {"database": _text(args[0])}, frame)
        elif event == "socket.connect":
            _record("connect", {"address": _text(args[1])}, frame)
        elif event in ("socket.getaddrinfo", "socket.gethostbyname"):
            host = args[0]
            _record("dns", {"host": _text(host), "port": _text(args[1]) if len(args) > 1 else ""}, frame)
        elif event in ("subprocess.Popen", "os.system", "os.posix_spawn", "os.exec"):
            command = args[1] if event in ("subprocess.Popen", "os.posix_spawn", "os.exec") else args[0]
            if isinstance(command, (list, tuple)):
                command = " ".join(_text(c) for c in command)
            _record("subprocess", {"command": _text(command)[:200]}, frame)
        elif event in ("_thread.start_new_thread", "_thread.start_joinable_thread"):
            _record("thread", {"target": _callable_name(args[0])}, _outside_threading(frame))
    except Exception:
        pass
    finally:
        _busy[0] = False
        _pending[0] = None
    if refusal is not None:
        raise refusal


# ---------------------------------------------------------------------------------------------
# The sandbox (PLATFORM set): the platform's refusals, raised from the audit hook.

_SANDBOX_EVENTS = frozenset(
    (
        "os.rename",
        "os.remove",
        "os.rmdir",
        "os.symlink",
        "os.link",
        "os.truncate",
        "os.chmod",
        "os.chown",
        "os.utime",
        "os.mkfifo",
        "os.mknod",
        "shutil.chown",
        "socket.sendto",
        "sqlite3.connect/handle",
    )
)
if PLATFORM:
    _WATCHED = _WATCHED | _SANDBOX_EVENTS
_real = _os.path.realpath
_code_root = _real(ROOT)
_writable = [_real(w) for w in WRITABLE.split(_os.pathsep) if w]
#: Writing to these works anywhere.
_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero", "/dev/urandom")
_read_only_sqlite = []  # databases that exist in the read-only area: their connections get query_only


def _inside(path, directory):
    return path == directory or path.startswith(directory.rstrip(_sep) + _sep)


def _may_write(path):
    """Whether the platform lets the import write at ``path`` (a str, bytes or path-like)."""
    if isinstance(path, int):
        return True  # a file descriptor: opened (and checked) already
    try:
        p = _real(_os.path.abspath(_text(_os.fspath(path))))
    except (TypeError, ValueError):
        return True
    if _inside(p, _code_root):
        return False
    if p in _DEVICES or p.startswith(("/dev/fd/", "/proc/self/fd/", "/dev/pts/")):
        return True
    return any(_inside(p, w) for w in _writable)


def _read_only(path):
    import errno

    return OSError(errno.EROFS, "Read-only file system", _text(_os.fspath(path)))


def _refusal_text(exc):
    module = type(exc).__module__
    return ("" if module == "builtins" else module + ".") + type(exc).__name__ + ": " + str(exc)


def _sandbox(event, args, frame):
    """The exception the platform would raise for this operation, or None. The recording of
    the same event, right after, carries it (``_pending``); operations recorded only here are
    recorded here."""
    _pending[0] = None
    exc = None
    detail = None
    if event == "open":
        path, mode, flags = args
        writes = bool((flags or 0) & _O_WRITE) if mode is None else any(c in mode for c in "wax+")
        if writes and not _may_write(path):
            exc = _read_only(path)
    elif event == "os.mkdir":
        path = args[0]
        # An existing directory gives EEXIST on a read-only file system too (os.makedirs with
        # exist_ok=True relies on it): let the call fail by itself.
        if not _may_write(path) and not _os.path.exists(path):
            exc = _read_only(path)
    elif event in ("os.rename", "os.link", "os.symlink"):
        # os.symlink(src, dst): only dst is written.
        targets = args[1:2] if event == "os.symlink" else args[:2]
        bad = [t for t in targets if not isinstance(t, int) and not _may_write(t)]
        if bad:
            exc = _read_only(bad[0])
            detail = {"op": event, "path": _text(_os.fspath(bad[0]))}
    elif event in ("os.remove", "os.rmdir", "os.truncate", "os.chmod", "os.chown", "os.utime",
                   "os.mkfifo", "os.mknod", "shutil.chown"):  # fmt: skip
        path = args[0]
        if not isinstance(path, int) and not _may_write(path) and _os.path.lexists(path):
            exc = _read_only(path)
            detail = {"op": event, "path": _text(_os.fspath(path))}
    elif event == "sqlite3.connect":
        name = _text(_os.fspath(args[0]))
        if name.startswith("file:"):
            name, _, query = name[5:].partition("?")
            if "mode=memory" in query or "mode=ro" in query:
                return None
        if name in ("", ":memory:") or _may_write(name):
            return None
        if _os.path.exists(name):
            # SQLite opens it read-only (its read-write open fails), and writing to it fails.
            _read_only_sqlite.append(name)
            return None
        sqlite3 = sys.modules.get("sqlite3")
        exc = getattr(sqlite3, "OperationalError", OSError)("unable to open database file")
    elif event == "sqlite3.connect/handle":
        if _read_only_sqlite:
            _read_only_sqlite.pop()
            try:
                args[0].execute("PRAGMA query_only = ON")
            except Exception:
                pass
    elif event in ("socket.connect", "socket.sendto"):
        address = args[1] if event == "socket.connect" else args[-1]
        if NETWORK != "1" and isinstance(address, tuple):
            import errno

            exc = OSError(errno.EHOSTUNREACH, "No route to host")
            if event == "socket.sendto":
                detail = {"address": _text(address)}
    if exc is None:
        return None
    _pending[0] = exc
    if detail is not None:
        _record("fs" if "path" in detail else "connect", detail, frame)
        _pending[0] = None
    return exc


_pending = [None]  # the refusal the recording of this event should carry


def _init_limit():
    """The platform's init limit: interrupt the import where it is once LIMIT seconds have
    passed since the probe started (the interpreter's own start-up comes before)."""
    if not PLATFORM or not LIMIT:
        return
    import _signal

    def expired(signum, frame):
        raise InitLimitExceeded(f"the import was still running after the platform's init limit of {LIMIT} s")

    _signal.signal(_signal.SIGALRM, expired)
    _signal.setitimer(_signal.ITIMER_REAL, max(0.001, float(LIMIT) - (_perf() - _started)))


class InitLimitExceeded(BaseException):
    """Raised in the import when the init limit expires (a BaseException, so a broad
    ``except Exception`` in the project's code doesn't swallow it, as the platform's kill
    isn't)."""


def _callable_name(fn):
    target = getattr(fn, "__self__", None)
    inner = getattr(target, "_target", None) if target is not None else None
    fn = inner or fn
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


def _outside_threading(frame):
    """The first frame out of ``threading``, so a thread is reported where ``start()`` was called."""
    f = frame
    while f is not None and f.f_code.co_filename.endswith(_sep + "threading.py"):
        f = f.f_back
    return f if f is not None else frame


def _wrap_thread_start():
    """Before 3.12 starting a thread raises no audit event: wrap the function that starts one."""
    thread_mod = sys.modules.get("_thread")
    if thread_mod is None:
        import _thread as thread_mod  # builtin, already loaded in practice
    original = thread_mod.start_new_thread

    def start_new_thread(function, *args, **kwargs):
        if not _busy[0]:
            _busy[0] = True
            try:
                frame = _outside_threading(sys._getframe(1))
                _record("thread", {"target": _callable_name(function)}, frame)
            except Exception:
                pass
            finally:
                _busy[0] = False
        return original(function, *args, **kwargs)

    thread_mod.start_new_thread = start_new_thread
    threading = sys.modules.get("threading")
    if threading is not None and getattr(threading, "_start_new_thread", None) is original:
        threading._start_new_thread = start_new_thread


def _wrap_urandom():
    """``os.urandom`` raises no audit event: wrap it (``random`` binds it at import as
    ``_urandom``, which ``SystemRandom`` and so ``secrets`` use)."""
    original = _os.urandom

    def urandom(size):
        if not _busy[0]:
            _busy[0] = True
            try:
                _record("random", {"bytes": size}, sys._getframe(1))
            except Exception:
                pass
            finally:
                _busy[0] = False
        return original(size)

    _os.urandom = urandom
    random = sys.modules.get("random")
    if random is not None and getattr(random, "_urandom", None) is original:
        random._urandom = urandom


def _wrap_environ():
    """Reading the environment raises no audit event either: wrap ``os.environ``'s lookup
    (``os.getenv`` and ``os.environ.get`` go through it), so a value frozen at import
    (``API_KEY = os.getenv("API_KEY")``) is reported with its line."""
    cls = type(_os.environ)
    original = cls.__getitem__

    def frozen_at_import(frame):
        # Only a read made by a project file's module-level code (`KEY = os.getenv("KEY")`)
        # keeps the value for the process's life; a function that reads it (a settings
        # loader) would read it again when called later.
        # The read itself, not one a package makes while the project imports it: the first
        # frame past `os.getenv` and `Mapping.get` must be that module-level code.
        # (Both may be frozen modules: `<frozen os>`.)
        while frame is not None and frame.f_code.co_filename.endswith(
            (_sep + "os.py", _sep + "_collections_abc.py", "<frozen os>", "<frozen _collections_abc>")
        ):
            frame = frame.f_back
        return (
            frame is not None
            and frame.f_code.co_name == "<module>"
            and _project_file(frame.f_code.co_filename) is not None
        )

    def getitem(self, key):
        if self is not _os.environ or _busy[0] or not frozen_at_import(sys._getframe(1)):
            return original(self, key)
        _busy[0] = True
        try:
            try:
                value = original(self, key)
            except KeyError:
                _record("env", {"name": _text(key), "present": False}, sys._getframe(1))
                raise
            _record("env", {"name": _text(key), "present": True}, sys._getframe(1))
            return value
        finally:
            _busy[0] = False

    cls.__getitem__ = getitem


lines = {}  # "file:line" -> seconds spent on that module-level line (TRACE only)


def _tracer():
    """A trace function that times each line of the module-level code of project files: the
    time from one line event of a module frame to the next is that line's (nested imports and
    calls included); every other frame is left untraced."""
    perf = _perf
    last = {}

    def local(frame, event, arg):
        now = perf()
        fid = id(frame)
        previous = last.get(fid)
        if previous is not None:
            lines[previous[0]] = lines.get(previous[0], 0.0) + (now - previous[1])
        if event == "return":
            last.pop(fid, None)
        else:
            key = (
                _project_file(frame.f_code.co_filename) + ":" + str(frame.f_lineno)
                if event == "line" or previous is None
                else previous[0]
            )
            last[fid] = (key, perf())
        return local

    def global_trace(frame, event, arg):
        if (
            event == "call"
            and frame.f_code.co_name == "<module>"
            and _project_file(frame.f_code.co_filename) is not None
        ):
            return local
        return None

    return global_trace


def _exception(e):
    frames = []
    tb = e.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        # The probe's own frames (its audit hook raised the sandbox's refusal) are not the
        # platform's: the traceback ends where the refused operation was called.
        if code.co_filename != __file__ or not frames:
            frames.append([code.co_filename, tb.tb_lineno, code.co_name, _project_file(code.co_filename)])
        tb = tb.tb_next
    return {
        "type": type(e).__module__ + "." + type(e).__qualname__,
        "message": str(e)[:2000],
        "frames": frames[1:],
    }


def main():
    if PLATFORM == "lambda":
        _os.environ["AWS_EXECUTION_ENV"] = "AWS_Lambda_python{}.{}".format(*sys.version_info[:2])
    if sys.version_info < (3, 12):
        _wrap_thread_start()
    _wrap_urandom()
    _wrap_environ()
    sys.addaudithook(_hook)
    before = set(sys.modules)
    error = None
    attr_type = None
    sys.stderr.write("\nlazify-probe: begin\n")
    sys.stderr.flush()
    if TRACE == "1":
        sys.settrace(_tracer())
    _init_limit()
    c0 = time.process_time()
    t0 = _perf()
    try:
        if ENTRY.startswith("file:"):
            import importlib.util

            spec = importlib.util.spec_from_file_location("__lazify_entry__", ENTRY[5:])
            module = importlib.util.module_from_spec(spec)
            sys.modules["__lazify_entry__"] = module
            spec.loader.exec_module(module)
        elif ENTRY:
            __import__(ENTRY)
            module = sys.modules[ENTRY]
        if ENTRY and ATTR:
            value = module
            for part in ATTR.split("."):
                value = getattr(value, part)
            attr_type = type(value).__module__ + "." + type(value).__qualname__
    except BaseException as e:
        error = _exception(e)
    t1 = _perf()
    if PLATFORM and LIMIT:
        sys.modules["_signal"].setitimer(sys.modules["_signal"].ITIMER_REAL, 0)
    c1 = time.process_time()
    sys.settrace(None)
    sys.stderr.write("\nlazify-probe: end\n")
    sys.stderr.flush()
    _busy[0] = True  # the probe's own work from here on is not the project's

    import json

    loaded = {}
    for name in set(sys.modules) - before:
        m = sys.modules.get(name)
        f = getattr(m, "__file__", None)
        loaded[name] = f if isinstance(f, str) else None
    result = {
        "root": ROOT,
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "prefix": sys.prefix,
        "import_seconds": t1 - t0 if ENTRY else 0.0,
        "import_cpu_seconds": c1 - c0 if ENTRY else 0.0,
        "startup_seconds": _started,  # perf_counter at probe start, for reference only
        "error": error,
        "attribute_type": attr_type,
        "imports": imports,
        "effects": effects,
        "modules": loaded,
        "lines": lines,
        "stdlib": sorted(getattr(sys, "stdlib_module_names", ())),
        "sandbox": (
            {"platform": PLATFORM, "limit": LIMIT, "network": NETWORK == "1", "writable": _writable}
            if PLATFORM
            else None
        ),
    }
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    sys.stdout.flush()
    sys.stderr.flush()
    # Threads the import started must not keep the process alive, nor atexit handlers run
    # the user's shutdown code: the measurement is over.
    _os._exit(0)


main()
