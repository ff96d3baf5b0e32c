"""The learner's side of the judge: runs in the grading kernel, answers the judge's requests.

The judge (:mod:`autograder.judge`, in the grader's own process) runs the test cells; the
learner's functions and classes live only here. The judge sends one request per operation (call
a function, read an attribute, apply an operator); this module performs it on the learner's
objects and answers with **data** (:func:`encode`): numbers, strings, numeric numpy arrays and
containers of them. Any other object stays here and crosses as an opaque handle (a number).
In a kernel, a test cell's requests ride on one execute request, :func:`serve_loop`: each answer
is the prompt of the input request (Jupyter's stdin channel) whose reply is the next request.

What the judge gives a request crosses as copies, numbered (``sarray``, ``sdict``, ``slist``,
``srng``): the arrays, dicts, lists and random generators at any depth of its arguments. After
the call, and before each callback, whatever learner code changed of them goes back as data
(:meth:`Agent._changes`): an array's values, a dict's or list's items (what it was given and kept
by its number, ``sref``: the judge puts its own object back), a generator's state. A callback's
answer may be preceded by requests (the test's function uses learner code): the agent serves
each, with its own numbered values, until the answer comes.

Nothing here is trusted by the judge: code in this process can replace anything in it, and
whatever it makes this module answer is simply the learner's answer. What matters is what this
process never holds: the test's code, its expected values and its comparisons.

The same module serves the in-process judge of the suite's trusted answers (the "local
transport"), so both paths exchange the very same data.
"""

from __future__ import annotations

import base64
import json
import math
import operator
import traceback
import types

import numpy as np

#: The agent's first prompt, and the judge's word that ends a test cell's requests.
READY = '{"ready":true}'
DONE = "done"
#: How deep a value may nest, and how large one message may be.
MAX_DEPTH = 32
MAX_MESSAGE_CHARS = 64 * 1024 * 1024

_NUMERIC_KINDS = "biufc"


class CodecError(ValueError):
    """A message that is not well-formed data."""


# --- the codec: plain data both ways ------------------------------------------------------


def _array_bytes(array: np.ndarray) -> list:
    """An array as data: ``[dtype, shape, base64 of its C-ordered bytes]``.

    Not numpy's ``.npy`` format: parsing its header costs about 40 us an array (Python's parser
    reads it), and a test's numerical derivative sends thousands of arrays."""
    return [array.dtype.str, list(array.shape), base64.b64encode(array.tobytes(order="C")).decode("ascii")]


def _array_from(data: object) -> np.ndarray:
    """The array ``data`` stands for: only numeric and boolean dtypes, with exactly their bytes."""
    if type(data) is not list or len(data) != 3:
        raise CodecError("an array must be [dtype, shape, bytes]")
    dtype_text, shape, text = data
    try:
        dtype = np.dtype(dtype_text) if type(dtype_text) is str else None
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype.kind not in _NUMERIC_KINDS or dtype.str != dtype_text:
        raise CodecError("only numeric and boolean arrays cross")
    if type(shape) is not list or len(shape) > MAX_DEPTH or any(type(n) is not int or n < 0 for n in shape):
        raise CodecError("an array's shape must be a list of sizes")
    try:
        raw = base64.b64decode(text, validate=True) if type(text) is str else None
    except ValueError:
        raw = None
    if raw is None or len(raw) != math.prod(shape) * dtype.itemsize:
        raise CodecError("an array's bytes must match its dtype and shape")
    try:
        return np.frombuffer(bytearray(raw), dtype=dtype).reshape(shape)
    except ValueError:  # a size numpy cannot hold, around an empty array
        raise CodecError("an array's shape must be a list of sizes") from None


def _float(value: float) -> object:
    return value if math.isfinite(value) else {"float": repr(value)}


def is_plain_array(value: object) -> bool:
    return type(value) is np.ndarray and value.dtype.kind in _NUMERIC_KINDS


def encode(value: object, other, depth: int = 0, arrays: bool = True, first=None) -> object:
    """``value`` as JSON-ready data; ``other(value)`` encodes what is not data (or raises), and
    the arrays too when ``arrays`` is false. ``first(value, depth)``, when given, is asked before
    anything else and may encode the value itself (a container that is synced: not None)."""
    if depth > MAX_DEPTH:
        raise CodecError("the value nests too deeply")
    if first is not None and (found := first(value, depth)) is not None:
        return found
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if abs(value) < 2**63 else {"int": str(value)}
    if kind is float:
        return _float(value)
    if kind is complex:
        return {"complex": [_float(value.real), _float(value.imag)]}
    if is_plain_array(value) and arrays:
        return {"array": _array_bytes(value)}
    if isinstance(value, np.generic) and type(value).__module__ == "numpy" and value.dtype.kind in _NUMERIC_KINDS:
        return {"scalar": _array_bytes(np.asarray(value))}
    if kind is tuple:
        return {"tuple": [encode(item, other, depth + 1, arrays, first) for item in value]}
    if kind is list:
        return [encode(item, other, depth + 1, arrays, first) for item in value]
    if kind is dict:
        return {"dict": [[encode(k, other, depth + 1, arrays, first), encode(v, other, depth + 1, arrays, first)]
                         for k, v in value.items()]}
    return other(value)


def decode(data: object, other, depth: int = 0) -> object:
    """The value ``data`` stands for; ``other(data)`` decodes the tagged forms that are not data."""
    if depth > MAX_DEPTH:
        raise CodecError("the value nests too deeply")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [decode(item, other, depth + 1) for item in data]
    if type(data) is not dict or len(data) < 1:
        raise CodecError("not a value")
    tag = next(iter(data))
    body = data[tag]
    if tag == "float" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "int" and isinstance(body, str) and body.lstrip("-").isdigit():
        return int(body)
    if tag == "complex" and type(body) is list and len(body) == 2:
        return complex(*(decode(part, other, depth + 1) for part in body))
    if tag == "array":
        return _array_from(body)
    if tag == "scalar":
        scalar = _array_from(body)
        if scalar.shape != ():
            raise CodecError("a scalar has no shape")
        return scalar[()]
    if tag == "tuple" and type(body) is list:
        return tuple(decode(item, other, depth + 1) for item in body)
    if tag == "dict" and type(body) is list:
        pairs = [(decode(k, other, depth + 1), decode(v, other, depth + 1)) for k, v in body]
        return dict(pairs)
    return other(data)


def dumps(message: dict) -> str:
    text = json.dumps(message, allow_nan=False, separators=(",", ":"))
    if len(text) > MAX_MESSAGE_CHARS:
        raise CodecError("the message is too large")
    return text


def loads(text: object) -> dict:
    if not isinstance(text, str) or len(text) > MAX_MESSAGE_CHARS:
        raise CodecError("not a message")
    try:
        message = json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(CodecError(name)))
    except ValueError as error:
        raise CodecError(f"not JSON ({error})") from None
    if type(message) is not dict:
        raise CodecError("a message is an object")
    return message


# --- the agent: the learner's objects, operated on request ---------------------------------

#: What a request may apply, besides the learner's own callables. Fixed names, no lookup by string.
OPERATIONS = {
    "getattr": getattr, "setattr": setattr, "getitem": operator.getitem, "setitem": operator.setitem,
    "len": len, "list": list, "bool": bool,
    "float": float, "int": int, "index": operator.index, "str": str, "repr": repr,
    "asarray": np.asarray, "isinstance": isinstance, "callable": callable,
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow, "matmul": operator.matmul,
    "neg": operator.neg, "pos": operator.pos, "abs": abs, "lt": operator.lt, "le": operator.le,
    "gt": operator.gt, "ge": operator.ge, "eq": operator.eq, "ne": operator.ne,
}


class CallbackError(RuntimeError):
    """A function of the test, called back by learner code, failed."""


#: The bit generators whose state may cross (a ``Generator`` crosses as its bit generator's state).
_BIT_GENERATORS = {kind.__name__: kind for kind in (np.random.PCG64, np.random.PCG64DXSM, np.random.Philox,
                                                      np.random.SFC64, np.random.MT19937)}


def generator_from(state: object) -> np.random.Generator:
    """A generator in the state ``state`` (a bit generator's ``state`` dict, decoded)."""
    kind = _BIT_GENERATORS.get(state.get("bit_generator")) if isinstance(state, dict) else None
    if kind is None:
        raise CodecError("not a random generator's state")
    bit_generator = kind()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError) as error:
        raise CodecError(f"not a random generator's state ({error})") from None
    return np.random.Generator(bit_generator)


def _learner_traceback(error: BaseException) -> str:
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename != __file__]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(error), error)
    return "".join(lines)[-4000:]


def describe_error(error: BaseException) -> dict:
    kind = type(error)
    builtin = kind.__module__ == "builtins" and issubclass(kind, Exception)
    try:
        message = str(error)
    except Exception:  # noqa: BLE001 - a learner's exception whose __str__ fails
        message = ""
    return {"type": kind.__name__, "message": message[:4000], "builtin": builtin,
            "traceback": _learner_traceback(error), "explained": _explained(error)[:4000]}


def _explained(error: BaseException) -> str:
    """The sentence that tells an error of learner code, made here where its frames and their
    arrays are (the judge has only this data)."""
    try:
        from .explain import explain_uncaught, should_explain

        return explain_uncaught(error, test_cell=False) if should_explain(error, test_cell=False) else ""
    except Exception:  # noqa: BLE001 - the plain message then; explaining must never fail a test
        return ""


class _Callback:
    """A function of the test's, as learner code sees it: calling it asks the judge."""

    __slots__ = ("_agent", "_number")

    def __init__(self, agent: Agent, number: int) -> None:
        self._agent, self._number = agent, number

    def __call__(self, *args, **kwargs):
        return self._agent.call_back(self._number, args, kwargs)

    def __repr__(self) -> str:
        return "<a function of the test>"


class Agent:
    """Holds the learner's objects and answers requests, given the learner's namespace.

    ``ask(text) -> text`` sends a callback request to the judge and returns its answer (in a
    kernel: the stdin channel, which the judge answers).
    """

    def __init__(self, namespace: dict, ask) -> None:
        self.namespace, self.ask = namespace, ask
        self.handles: dict[int, object] = {}
        self._numbers: dict[int, int] = {}  # id(object) -> handle number
        self._callbacks: dict[int, _Callback] = {}
        # What the judge gave the request being served, to be synced back: [value, ref, state]
        # (an array, dict, list or generator; ref is the judge's number for it), and by id.
        self._synced: list[list] = []
        self._refs: dict[int, int] = {}
        self._method_names: dict[type, list[str]] = {}

    # encoding the learner's values
    def _handle(self, value: object) -> dict:
        if isinstance(value, _Callback):
            return {"callback": value._number}
        number = self._numbers.get(id(value))
        if number is None or self.handles.get(number) is not value:
            number = len(self.handles) + 1
            self.handles[number] = value
            self._numbers[id(value)] = number
        try:
            is_callable = callable(value)
            name = type(value).__name__
            methods = self._methods(type(value))
        except Exception:  # noqa: BLE001
            is_callable, name, methods = False, "object", []
        return {"handle": {"number": number, "type": str(name)[:100], "callable": bool(is_callable),
                           "methods": methods, "attributes": self._attributes(value)}}

    @staticmethod
    def _attributes(value: object) -> dict:
        """The object's own plain-number and text attributes, sent by value (small values ride along)."""
        try:
            own = vars(value) if not isinstance(value, type) else {}
        except TypeError:
            return {}
        kind = type(value)
        return {name: item for name, item in list(own.items())[:20]
                if type(name) is str and type(item) in (int, float, bool, str) and len(str(item)) < 100
                and not hasattr(getattr(kind, name, None), "__set__")}

    def _methods(self, kind: type) -> list[str]:
        """The plain methods of a learner's class: the judge calls them in one request, not two."""
        if kind not in self._method_names:
            self._method_names[kind] = sorted({
                name for klass in kind.__mro__ if klass is not object
                for name, attribute in vars(klass).items()
                if isinstance(attribute, types.FunctionType) and not name.startswith("__")
            })[:200]
        return self._method_names[kind]

    def _out(self, value: object) -> object:
        return encode(value, self._other, arrays=False, first=self._known)

    def _known(self, value: object, depth: int) -> dict | None:
        """What the judge gave this request (an array, dict, list, generator) comes back as itself:
        results may alias their arguments, and a dict may hold the very arrays it was given."""
        ref = self._refs.get(id(value))
        return {"sref": ref} if ref is not None else None

    def _other(self, value: object) -> object:
        """An array the judge sent comes back as its whole view, if it is one: results may alias."""
        if not is_plain_array(value):
            return self._handle(value)
        for array, ref, _ in self._synced:
            if type(array) is np.ndarray and (value.shape, value.strides, value.dtype) == (
                    array.shape, array.strides, array.dtype) \
                    and value.__array_interface__["data"][0] == array.__array_interface__["data"][0]:
                return {"sview": ref}
        return {"array": _array_bytes(value)}

    # decoding the judge's values
    def _in(self, data: object) -> object:
        return decode(data, self._tagged)

    def _tagged(self, data: dict) -> object:
        tag, body = next(iter(data.items()))
        if tag == "handle" and isinstance(body, int) and body in self.handles:
            return self.handles[body]
        if tag == "name" and isinstance(body, str):
            if body not in self.namespace:
                raise NameError(f"name '{body}' is not defined")
            return self.namespace[body]
        if tag == "callback" and isinstance(body, int):
            return self._callbacks.setdefault(body, _Callback(self, body))
        if tag in ("sarray", "sdict", "slist", "srng") and type(body) is list and len(body) == 2 \
                and type(body[0]) is int:  # a value whose changes go back to the judge
            return self._synced_value(tag, body[0], body[1])
        if tag == "sref" and type(body) is int:  # the same value again (one object given twice)
            for value, ref, _ in self._synced:
                if ref == body:
                    return value
        if tag == "rng" and isinstance(body, dict):
            return generator_from(decode(body, self._tagged))
        if tag == "method" and isinstance(body, dict) and isinstance(body.get("name"), str):
            return getattr(self._in(body.get("of")), body["name"])
        if tag == "operation" and body in OPERATIONS:
            return OPERATIONS[body]
        raise CodecError(f"unknown value {tag!r}")

    def _synced_value(self, tag: str, ref: int, data: object) -> object:
        """An array, dict, list or generator the judge gave, kept so that its changes go back."""
        if tag == "sarray":
            value = _array_from(data)
        elif tag == "srng":
            value = generator_from(self._in(data))
        elif type(data) is list:
            value = {} if tag == "sdict" else []
        else:
            raise CodecError(f"malformed {tag}")
        self._synced.append([value, ref, None])
        self._refs[id(value)] = ref
        if tag == "sdict":  # its items after it: a container that holds itself is the same object
            value.update(self._in({"dict": data}))
        elif tag == "slist":
            value.extend(self._in(data))
        return value

    def _state(self, value: object) -> object:
        """What the judge would see of a synced value: compared before and after learner code ran."""
        if type(value) is np.ndarray:
            return value.tobytes()
        if type(value) is dict:
            return {"dict": [[self._out(k), self._out(v)] for k, v in value.items()]}
        if type(value) is list:
            return [self._out(item) for item in value]
        return self._out(value.bit_generator.state)

    def _changes(self) -> list:
        """What the judge gave that learner code changed since it was last reported, as data: an
        array's values; a dict's or list's items (its own arrays by reference); a generator's state."""
        changed = []
        for entry in self._synced:
            value, ref, before = entry
            now = self._state(value)
            if now != before:
                changed.append([ref, {"array": _array_bytes(value)} if type(value) is np.ndarray else now])
                entry[2] = now
        return changed

    def call_back(self, number: int, args: tuple, kwargs: dict):
        """Call a function of the test: ask the judge. While it answers, the test's function may
        use learner code: its requests come in place of the answer, and are served, until the
        answer comes."""
        request = {"callback": number, "args": self._out(list(args)), "kwargs": self._out(kwargs),
                   "sync": self._changes()}
        text = self.ask(dumps(request))
        while "fn" in (answer := loads(text)):
            text = self.ask(self.serve(text))
        if "error" in answer:
            raise CallbackError(str(answer["error"])[:2000])
        return self._in(answer.get("ok"))

    def serve(self, text: str) -> str:
        """Perform one request: ``{"fn": f, "args": [...], "kwargs": {...}}``; the answer as text.
        (Re-entrant: a request served while a callback waits keeps its own synced values.)"""
        outer = self._synced, self._refs
        self._synced, self._refs = [], {}
        try:
            return self._serve(text)
        finally:
            self._synced, self._refs = outer

    def _serve(self, text: str) -> str:
        try:
            request = loads(text)
            for target, name, value in self._in(request.get("before", [])):  # attributes the judge set
                setattr(target, name, value)
            function = self._in(request["fn"])
            args = self._in(request.get("args", []))
            kwargs = self._in(request.get("kwargs", {"dict": []}))
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise CodecError("malformed request")
            for entry in self._synced:
                entry[2] = self._state(entry[0])
            result = function(*args, **kwargs)
            answer = {"ok": self._out(result)}
        except KeyboardInterrupt:
            raise  # the grader interrupted a call that ran out of time: no answer
        except BaseException as error:  # noqa: BLE001 - every failure of learner code is data
            answer = {"error": describe_error(error)}
        try:
            answer["sync"] = self._changes()
            return dumps(answer)
        except BaseException as error:  # noqa: BLE001 - an answer that cannot be sent is an error
            return dumps({"error": describe_error(error), "sync": []})


# --- in a kernel ---------------------------------------------------------------------------

_agent: list[Agent] = []


def install(shell) -> None:
    """Called once by the grader's preamble, before any learner code runs."""
    _agent[:] = [Agent(shell.user_ns, lambda prompt: input(prompt))]  # the kernel's input: stdin


def serve_loop() -> None:
    """Answer the judge's requests until it says :data:`DONE`: each answer is the prompt of the
    input request that asks for the next request (one execute request per test cell)."""
    agent = _agent[0]
    answer = READY
    while (request := input(answer)) != DONE:
        answer = agent.serve(request)
