"""The judge: test cells run in the grader's own process, never in the learner's kernel.

Code in the learner's process can rewrite anything in that process: the kernel's replies,
builtins, tracers, the namespace, the test's inputs. So the verdict of a test cell is made where
learner code never runs. The grader runs each test cell's code itself, in a judge namespace that
holds the set-up cell's names (numpy, the check helpers) and the instructor's read-only cells;
every name the master's answer cells define is a :class:`Remote` there, a proxy for the learner's
object in the kernel. Only data crosses between the two (:mod:`autograder.judge_agent`):

* a call sends its arguments as data (copies: learner code can never alias the judge's objects);
  what learner code changed of them is sent back, after the call and before each callback, and
  written into the judge's own objects, one rule for all (:meth:`Judge._sync`): an array's values
  in place (``sgd_step`` updates its parameters; a test of it sees that); a dict's or list's items,
  keys added, removed or rebound (``bn_stats`` filled; ``params["W1"]`` rebound), the arrays it
  was given and kept being the judge's own again; a ``np.random.Generator``'s state (a test that
  draws after the call draws what it would in a kernel);
* a result comes back as data (numbers, strings, numeric arrays, tuples, lists and dicts of them);
  any other object stays in the kernel and comes back as a :class:`Remote` that forwards calls,
  attribute reads, operators, ``len``/``iter``/indexing/``bool`` and ``isinstance`` to it;
* a function of the test passed to learner code stays here: the kernel calls it back with data,
  and it may call learner code in turn (while the kernel waits for its answer, it serves the
  requests that come in the answer's place: re-entrant, at any depth); when learner code it
  called fails and so fails the call, the test sees that error of the learner's, not the callback's;
* an exception of learner code comes back as data and is raised here as the builtin exception
  of that name (tests catch ``ValueError``), or as a :class:`LearnerError` of that name.

How requests reach the learner's objects is a **transport**: :class:`LocalTransport` keeps them in
a namespace of this process (the suite's trusted answers), and
:class:`autograder.execute.KernelTransport` in the sandboxed kernel. The same judge, the same
codec, the same copies, so both grade alike.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import io
import itertools
import linecache
import sys
import traceback
import warnings

import numpy as np
from nbformat.notebooknode import NotebookNode

from . import cells, tamper
from .judge_agent import Agent, CodecError, _array_bytes, decode, dumps, encode, is_plain_array, loads


class LearnerError(Exception):
    """An exception raised by learner code that is not a builtin one; named like the original."""

    learner_traceback = ""
    explained = ""  # the sentence that tells it (autograder.explain), made where its frames were


class Unanswered(BaseException):
    """The kernel gave no well-formed answer: out of time, dead, stopped, or it answered nonsense.
    (A ``BaseException``: a test's ``except Exception`` does not swallow it.)

    ``kind`` is ``"timeout"``, ``"stopped"``, ``"dead"`` or ``"no_answer"``.
    """

    def __init__(self, kind: str, ename: str, evalue: str) -> None:
        super().__init__(evalue)
        self.kind, self.ename, self.evalue = kind, ename, evalue
        self.seconds = 0


_learner_error_types: dict[str, type] = {}


def learner_exception(error: dict) -> Exception:
    """The exception described by ``error`` (data from the agent), ready to raise here."""
    name = str(error.get("type", "Exception"))[:100]
    message = str(error.get("message", ""))
    found = getattr(builtins, name, None) if error.get("builtin") else None
    exception = None
    if isinstance(found, type) and issubclass(found, Exception) and found.__module__ == "builtins":
        with contextlib.suppress(Exception):
            exception = found(message)
    if exception is None:
        if not name.isidentifier():
            name = "LearnerError"
        kind = _learner_error_types.get(name)
        if kind is None:
            kind = _learner_error_types[name] = type(name, (LearnerError,), {"__module__": "builtins"})
        exception = kind(message)
    exception.learner_traceback = str(error.get("traceback", ""))
    exception.explained = str(error.get("explained", ""))
    return exception


# --- proxies --------------------------------------------------------------------------------


class Remote:
    """A learner's object that lives in the kernel; every use of it is a request."""

    __slots__ = ("_judge", "_target", "_info")

    def __init__(self, judge: Judge, target: dict, info: dict) -> None:
        object.__setattr__(self, "_judge", judge)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_info", info)

    def _apply(self, operation: str, *args):
        return self._judge.apply({"operation": operation}, [*args])

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # numpy and copy probe dunders: never forward them
        judge, info = self._judge, self._info
        if name in info.get("attributes", ()) and info.get("generation") == judge.generation and not judge._pending:
            return info["attributes"][name]  # sent with the object, and nothing happened since
        if name in info.get("methods", ()):  # called in one request, or passed on as it is
            return CallableRemote(self._judge, {"method": {"of": self._target, "name": name}}, {})
        return self._apply("getattr", self, name)

    def __setattr__(self, name: str, value) -> None:
        self._judge.set_later(self, name, value)

    def __setitem__(self, key, value) -> None:
        self._apply("setitem", self, key, value)

    def __iter__(self):
        return iter(self._apply("list", self))

    def __array__(self, dtype=None, copy=None):
        array = np.asarray(self._apply("asarray", self))
        return array.astype(dtype) if dtype is not None else array

    def __instancecheck__(self, instance) -> bool:
        return self._apply("isinstance", instance, self)

    def __hash__(self) -> int:
        return id(self)


def _binary(name: str):
    def forward(self, other):
        return self._apply(name, self, other)

    def reflected(self, other):
        return self._apply(name, other, self)

    return forward, reflected


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul"):
    _forward, _reflected = _binary(_name)
    setattr(Remote, f"__{_name}__", _forward)
    setattr(Remote, f"__r{_name}__", _reflected)
for _name in ("lt", "le", "gt", "ge", "eq", "ne", "getitem"):
    setattr(Remote, f"__{_name}__", _binary(_name)[0])
for _name in ("neg", "pos", "abs", "repr", "str", "len", "bool", "float", "int", "index"):
    setattr(Remote, f"__{_name}__", lambda self, _name=_name: self._apply(_name, self))

class CallableRemote(Remote):
    """A learner's function, class or callable object."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return self._judge.apply(self._target, list(args), kwargs)


_proxy_types: dict[tuple[str, bool], type] = {}


def _proxy_type(type_name: str, is_callable: bool) -> type:
    """A Remote subclass named like the learner's type (messages say "got Value", not "Remote")."""
    key = (type_name, is_callable)
    if key not in _proxy_types:
        name = type_name if type_name.isidentifier() else "object"
        _proxy_types[key] = type(name, (CallableRemote if is_callable else Remote,), {"__slots__": ()})
    return _proxy_types[key]


# --- the judge --------------------------------------------------------------------------------


def _warning_to_stderr(message, category, filename, lineno, file=None, line=None) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


@contextlib.contextmanager
def captured():
    """stdout and stderr (warnings included, as a kernel shows them) into two buffers."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _warning_to_stderr
        yield out, err


def _streams(out: io.StringIO, err: io.StringIO) -> list[NotebookNode]:
    return [NotebookNode(output_type="stream", name=name, text=buffer.getvalue())
            for name, buffer in (("stdout", out), ("stderr", err)) if buffer.getvalue()]


@functools.lru_cache(maxsize=4096)
def _python(source: str) -> str:
    """A cell as the kernel runs it (IPython's magics turned into Python), made once: every
    submission runs the same test cells, and IPython tokenizes each of their lines. Only what
    :func:`run_source` runs is remembered: test cells, and the suite's trusted answers in process,
    never a learner's notebook (a class's learners could fill a long-lived grader's memory)."""
    return tamper.python_source(source)


@functools.lru_cache(maxsize=4096)
def _compiled(python: str, name: str):
    """A cell's code, compiled once (as :func:`_python`)."""
    return compile(python, name, "exec")


def run_source(source: str, namespace: dict, on_error=None, name: str = "<cell>") -> list[NotebookNode]:
    """Run ``source`` in ``namespace`` as a kernel would; its outputs as notebook outputs.

    ``on_error(exception)`` may give the error output of an exception (None: the usual one).
    ``name`` is the cell's file name; its lines are kept, as a kernel keeps a cell's, so that an
    error in it can be told with its line (:mod:`autograder.explain`)."""
    outputs = []
    with captured() as (out, err):
        try:
            python = _python(source)
            linecache.cache[name] = (len(python), None, python.splitlines(True), name)
            exec(_compiled(python, name), namespace)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - a kernel reports every exception, SystemExit included
            output = on_error(error) if on_error is not None else None
            outputs.append(output or NotebookNode(output_type="error", ename=type(error).__name__,
                                                  evalue=str(error), traceback=traceback.format_exception_only(error)))
    return _streams(out, err) + outputs


class LocalTransport:
    """The learner's objects in a namespace of this process (trusted answers only)."""

    def __init__(self, namespace: dict) -> None:
        self.agent = Agent(namespace, self._ask)
        self.streams: list[NotebookNode] = []
        self._callback = None

    def _ask(self, text: str) -> str:
        return self._callback(text)

    def finish(self) -> None:
        """The end of a test cell (nothing to close here)."""

    def request(self, text: str, on_callback) -> str:
        outer, self._callback = self._callback, on_callback
        try:
            if outer is not None:  # a function of the test uses learner code: what it prints is captured already
                return self.agent.serve(text)
            with captured() as (out, err):
                return self.agent.serve(text)
        finally:
            self._callback = outer
            if outer is None:
                self.streams += _streams(out, err)


class Judge:
    """Runs test cells (trusted code) here; the learner's names are :class:`Remote` proxies."""

    def __init__(self, transport, learner_names: set[str]) -> None:
        self.transport = transport
        self.namespace: dict = {"__name__": "__main__", "__judge__": self}
        self._callbacks: list = []
        self._callback_numbers: dict[int, int] = {}
        self._remotes: dict[int, Remote] = {}
        self._synced: list = []  # the arrays given to the call being answered
        self._pending: list = []  # attributes set on learner objects, sent with the next request
        self.generation = 0  # counts the requests: what came with an answer holds until the next one
        self.learner_names = set(learner_names)
        for name in sorted(self.learner_names):
            self.namespace[name] = _proxy_type("function", True)(self, {"name": name}, {})

    # --- values out -------------------------------------------------------------------------

    def _callback_number(self, function) -> int:
        number = self._callback_numbers.get(id(function))
        if number is None or self._callbacks[number] is not function:
            number = len(self._callbacks)
            self._callbacks.append(function)
            self._callback_numbers[id(function)] = number
        return number

    def _out(self, value, synced: list | None):
        """``value`` as data for learner code. With ``synced`` (a call's arguments), every array,
        dict, list and generator in it is numbered there, so that its changes come back (once
        each: an object given twice arrives as one object)."""
        def other(item):
            if isinstance(item, Remote):
                if item._judge is not self:
                    raise TypeError("a learner object of another grading run")
                return item._target
            if isinstance(item, np.random.Generator):
                return {"rng": encode(item.bit_generator.state, other)}
            if callable(item):
                return {"callback": self._callback_number(item)}
            raise TypeError(f"a {type(item).__name__} of the test cannot be given to learner code")

        def first(item, depth: int):
            kind = type(item)
            if not (kind in (dict, list) or is_plain_array(item) or isinstance(item, np.random.Generator)):
                return None
            for number, known in enumerate(synced):
                if known is item:
                    return {"sref": number}
            synced.append(item)
            number = len(synced) - 1
            if kind is dict:
                return {"sdict": [number, [[encode(k, other, depth + 1, True, first),
                                            encode(v, other, depth + 1, True, first)] for k, v in item.items()]]}
            if kind is list:
                return {"slist": [number, [encode(v, other, depth + 1, True, first) for v in item]]}
            if kind is np.ndarray:
                return {"sarray": [number, _array_bytes(item)]}
            return {"srng": [number, encode(item.bit_generator.state, other)]}

        return encode(value, other, first=first if synced is not None else None)

    # --- values in --------------------------------------------------------------------------

    def _in(self, data):
        return decode(data, self._tagged)

    def _tagged(self, data: dict):
        tag, body = next(iter(data.items()))
        if tag == "handle" and isinstance(body, dict) and isinstance(body.get("number"), int):
            number = body["number"]
            info = {**body, "generation": self.generation}
            if not isinstance(info.get("attributes"), dict) or not isinstance(info.get("methods"), list):
                raise CodecError("malformed handle")
            if number not in self._remotes:
                kind = _proxy_type(str(body.get("type", "object"))[:100], bool(body.get("callable")))
                self._remotes[number] = kind(self, {"handle": number}, info)
            remote = self._remotes[number]
            object.__setattr__(remote, "_info", info)
            return remote
        if tag == "callback" and isinstance(body, int) and 0 <= body < len(self._callbacks):
            return self._callbacks[body]
        if tag == "sref" and isinstance(body, int) and 0 <= body < len(self._synced):
            return self._synced[body]
        if tag == "sview" and isinstance(body, int) and 0 <= body < len(self._synced) \
                and type(self._synced[body]) is np.ndarray:
            return self._synced[body].view()
        raise CodecError(f"unknown value {tag!r}")

    def _sync(self, changes, synced: list) -> None:
        """Write what learner code changed into what the judge gave it (``synced``): an array's
        values in place; a dict's or list's items (keys added, removed, rebound: the values as
        data, the judge's own arrays where learner code kept them); a generator's state."""
        if not isinstance(changes, list):
            raise CodecError("malformed changes")
        self._synced = synced
        for change in changes:
            if not (isinstance(change, list) and len(change) == 2 and isinstance(change[0], int)
                    and 0 <= change[0] < len(synced)):
                raise CodecError("malformed change")
            target, value = synced[change[0]], self._in(change[1])
            if type(target) is np.ndarray and type(value) is np.ndarray:
                if value.shape == target.shape and target.flags.writeable:
                    np.copyto(target, value, casting="unsafe")
            elif type(target) is dict and type(value) is dict:
                target.clear()
                target.update(value)
            elif type(target) is list and type(value) is list:
                target[:] = value
            elif isinstance(target, np.random.Generator) and type(value) is dict:
                try:
                    target.bit_generator.state = value
                except (TypeError, ValueError, KeyError) as error:
                    raise CodecError(f"not a random generator's state ({error})") from None
            else:
                raise CodecError("malformed change")

    # --- one operation ----------------------------------------------------------------------

    def set_later(self, target: Remote, name: str, value) -> None:
        """``target.name = value``, sent with the next request (it answers nothing)."""
        self._pending.append(self._out((target, name, value), None))

    def flush(self) -> None:
        if self._pending:
            self.apply({"operation": "bool"}, [None])

    def apply(self, function: dict, args: list, kwargs: dict | None = None):
        """Apply ``function`` (a learner callable, or an operation) to copies of the arguments."""
        synced: list = []
        request = {"fn": function, "args": self._out(list(args), synced),
                   "kwargs": self._out(dict(kwargs or {}), synced), "before": self._pending}
        self._pending = []
        self.generation += 1
        failed: dict[str, BaseException] = {}  # what learner code raised in a callback, by its words
        text = self.transport.request(dumps(request), lambda asked: self._call_back(asked, synced, failed))
        try:
            answer = loads(text)
            self._sync(answer.get("sync", []), synced)
            self._synced = synced
            if "error" in answer and isinstance(answer["error"], dict):
                error = learner_exception(answer["error"])
                if answer["error"].get("type") == "CallbackError" and error.args and error.args[0] in failed:
                    error = failed[error.args[0]]  # the learner's own error, in code the test's function called
            elif "ok" in answer:
                return self._in(answer["ok"])
            else:
                raise CodecError("neither a result nor an error")
        except (CodecError, KeyError, TypeError, ValueError) as problem:
            raise Unanswered("no_answer", "NoAnswer",
                             f"the learner's code did not give the grader a well-formed answer ({problem})") from None
        raise error

    def _call_back(self, text: str, synced: list, failed: dict) -> str:
        try:
            request = loads(text)
            self._sync(request.get("sync", []), synced)
            self._synced = synced
            function = self._callbacks[request["callback"]]
            args, kwargs = self._in(request.get("args", [])), self._in(request.get("kwargs", {"dict": []}))
            return dumps({"ok": self._out(function(*args, **kwargs), None)})
        except Exception as error:  # noqa: BLE001 - learner code gets the failure as data
            words = f"{type(error).__name__}: {error}"[:2000]
            if isinstance(error, LearnerError) or getattr(error, "learner_traceback", ""):
                failed[words] = error
            return dumps({"error": words})
        finally:
            self.generation += 1  # learner code runs on: what came with the callback may change

    # --- cells ------------------------------------------------------------------------------

    def run_trusted(self, source: str) -> None:
        """An instructor's read-only cell: its definitions, for the tests (outputs are the kernel's).

        A function it imports from a module marked ``RUNS_IN_KERNEL`` (a harness such as
        :mod:`autograder.torch_harness`) is the kernel's here, a proxy like the learner's names:
        it works on the learner's objects there and answers with data."""
        with captured(), contextlib.suppress(Exception):
            exec(compile(tamper.python_source(source), "<read-only cell>", "exec"), self.namespace)
        for name, value in list(self.namespace.items()):
            module = sys.modules.get(getattr(value, "__module__", None) or "")
            if callable(value) and not isinstance(value, Remote) and getattr(module, "RUNS_IN_KERNEL", False) is True:
                self.namespace[name] = _proxy_type("function", True)(self, {"name": name}, {})

    def run_test(self, source: str) -> list[NotebookNode]:
        """Run a test cell's code here; its outputs, as the cell's outputs."""
        self.transport.streams = []
        try:
            judged = run_source(source + "\n" + _FLUSH, self.namespace, on_error=_learner_error_output)
        finally:
            self.transport.finish()
        learner = [NotebookNode(output_type="stream", name=name, text="".join(s.text for s in group))
                   for name, group in itertools.groupby(self.transport.streams, key=lambda s: s.name)]
        self.transport.streams = []
        return learner + judged


#: Ends every test cell: attributes set last reach the learner's objects, or their error shows.
_FLUSH = "__judge__.flush()"


def _learner_error_output(error: BaseException) -> NotebookNode | None:
    """An error that came from learner code: named as the learner's, explained when we can."""
    if isinstance(error, Unanswered):
        return NotebookNode(output_type="error", ename=error.ename, evalue=error.evalue,
                            traceback=[f"{error.ename}: {error.evalue}"])
    learner_traceback = getattr(error, "learner_traceback", "")
    if not learner_traceback and not isinstance(error, LearnerError):
        return None
    # Told where the learner's frames are (the agent, beside learner code: explain.explain_uncaught).
    evalue = getattr(error, "explained", "") or str(error)
    return NotebookNode(output_type="error", ename=type(error).__name__, evalue=evalue,
                        traceback=[*learner_traceback.splitlines(), f"{type(error).__name__}: {evalue}"])


def learner_names(master: list[cells.MasterCell]) -> set[str]:
    """The names the master's answer cells define: in the judge, proxies for the learner's."""
    return {name for cell in master if cell.solution and cell.cell_type == "code"
            for name in cells.defined_names(cell.source)}
