"""``jaxfit sweep`` configs: a TOML file checked, key by key, into a frozen ``SweepConfig``.

Every problem raises a :class:`ConfigError` that names the file, the section and the key
(``config.toml: [space] grid.learning_rate: ...``), what was found and what is allowed; a
misspelt key gets the closest valid one suggested. The checks themselves are in
``schema.py``; the ``[data]``, ``[cv]`` and ``[validation]`` tables are checked in
``datasources.py``; ``docs/config.md`` documents the whole schema.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
import pathlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

from .._hp import Space, grid, numeric_fields, space_from_dict, static_fields, zipped
from .._sweeping import KEY_MODES
from .._training import METRICS, MODELS, Hyperparams
from .datasources import DataSpec, check_groups, parse_cv, parse_data, parse_validation
from .schema import (
    ConfigError,
    Invalid,
    Section,
    boolean,
    describe,
    integer,
    number,
    string,
    string_list,
    suggest,
)

# ConfigError is defined in schema.py and re-exported: jaxfit.ConfigError loads from here.
__all__ = ["ConfigError", "SweepConfig", "load_config", "parse_config"]

SECTIONS = ["model", "data", "hyperparams", "space", "cv", "validation", "sweep", "output"]
LOSSES = ("mse", "mae", "huber", "binary_cross_entropy", "softmax_cross_entropy")
_SWEEP_KEYS = ("seeds", "root_seed", "keys", "loss", "metric", "metrics", "memory_budget",
               "chunk_size", "eval_every", "explode_factor")  # fmt: skip
_OUTPUT_KEYS = ("dir", "figures", "save_params", "top")
CLASSIFIERS = {"logistic": "binary_cross_entropy", "softmax_regression": "softmax_cross_entropy"}
_SPACE_KINDS = ["grid", "zip", "random", "product", "concat"]
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # fmt: skip


def memory(v: Any) -> int:
    """Bytes: an integer, or a string such as ``"2 GB"`` or ``"512 MiB"``."""
    if isinstance(v, int) and not isinstance(v, bool) and v >= 1:
        return v
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([a-z]+)\s*", v.lower()) if isinstance(v, str) else None
    if m and m[2] in _UNITS and float(m[1]) * _UNITS[m[2]] >= 1:
        return int(float(m[1]) * _UNITS[m[2]])
    raise Invalid(f"must be a number of bytes, or a string such as '2 GB' or '512 MiB' (units "
                  f"{list(_UNITS)}, case-insensitive); got {describe(v)}.")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """A checked sweep config: everything ``jaxfit sweep`` needs, except the loaded data.

    Relative paths in the file resolve against the file's directory, ``base_dir``.
    ``digest`` hashes the parsed file without its ``[output]`` table: configs with the
    same digest train the same sweep. ``loss=None`` is inferred from the data; ``options``
    holds the ``[sweep]`` keys that are :func:`jaxfit.sweep`'s keyword arguments of the
    same names. The other fields are the keys of the same names (``docs/config.md``).

    Examples:
      >>> import pathlib, tempfile, jaxfit
      >>> text = '''
      ... [model]
      ... name = "mlp"
      ... [data]
      ... source = "classification"
      ... [space.grid]
      ... learning_rate = [0.01, 0.1]
      ... [sweep]
      ... seeds = 2
      ... '''
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     path = pathlib.Path(tmp, "sweep.toml")
      ...     _ = path.write_text(text)
      ...     config = jaxfit.load_config(path)
      >>> config.model, len(config.space), config.options["seeds"]
      ('mlp', 2, 2)
    """

    file: str
    base_dir: pathlib.Path
    text: str
    digest: str
    model: str
    model_args: Mapping[str, int]
    data: DataSpec
    hyperparams: Hyperparams
    space: Space | None
    cv: Any  # an int k, a jaxfit splitter, or None
    validation: tuple[float, int] | None  # (fraction, seed)
    task: str | None  # what the model, the loss and [data] task ask for; None: the source's
    root_seed: int
    loss: str | None
    metric: str
    metrics: tuple[str, ...]
    options: Mapping[str, Any]  # jaxfit.sweep's seeds, memory_budget, chunk_size, ...
    out_dir: pathlib.Path
    figures: bool
    save_params: bool
    top: int


def load_config(path: str | os.PathLike) -> SweepConfig:
    """Reads and checks a sweep config file (see ``docs/config.md``) without loading data.

    Args:
      path: the TOML file; relative paths inside it resolve against its directory.

    Returns:
      The checked :class:`jaxfit.SweepConfig`.

    Raises:
      ConfigError: naming the file, the section and the key of the first problem.

    Examples:
      >>> import pathlib, tempfile, jaxfit
      >>> with tempfile.TemporaryDirectory() as tmp:
      ...     path = pathlib.Path(tmp, "lr.toml")
      ...     _ = path.write_text('[model]\\nname = "linear"\\n[data]\\nsource = "linear"\\n')
      ...     config = jaxfit.load_config(path)
      ...     config.out_dir == pathlib.Path(tmp).resolve() / "runs" / "lr"
      True
    """
    file = os.fspath(path)
    try:
        text = pathlib.Path(file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, None, None, "no such file.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(file, None, None, f"cannot be read: {e}.") from None
    return parse_config(text, file=file, base_dir=pathlib.Path(file).resolve().parent)


def parse_config(
    text: str, *, file: str = "<config>", base_dir: str | os.PathLike = "."
) -> SweepConfig:
    """Parses and checks a config's TOML text, as :func:`jaxfit.load_config` reads a file."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(file, None, None, f"invalid TOML: {e}.") from None
    for name in raw:
        if name not in SECTIONS:
            message = f"unknown section [{name}]{suggest(name, SECTIONS)}; allowed are {SECTIONS}."
            raise ConfigError(file, None, None, message)
    for name in ("model", "data"):
        if name not in raw:
            raise ConfigError(file, None, None, f"the [{name}] section is required.")
    base = pathlib.Path(base_dir).resolve()
    model, model_args = _model(Section(file, "model", raw["model"]))
    data = parse_data(Section(file, "data", raw["data"]))
    hp = _hyperparams(Section(file, "hyperparams", raw.get("hyperparams", {})))
    space = _space(Section(file, "space", raw["space"]), hp) if "space" in raw else None
    cv = parse_cv(Section(file, "cv", raw["cv"])) if "cv" in raw else None
    held_out = raw.get("validation")
    validation = (
        None if held_out is None else parse_validation(Section(file, "validation", held_out))
    )
    if cv is not None and validation is not None:
        message = "give [cv] (cross-validation) or [validation] (one held-out part), not both."
        raise ConfigError(file, "validation", None, message)
    check_groups(file, data, cv)
    run = _sweep(Section(file, "sweep", raw.get("sweep", {})), cv is not None or bool(validation))
    out = Section(file, "output", raw.get("output", {})).only(_OUTPUT_KEYS)
    out_dir = base / os.path.expanduser(out.get("dir", string(), f"runs/{pathlib.Path(file).stem}"))
    hashed = json.dumps({k: v for k, v in raw.items() if k != "output"}, sort_keys=True,
                        default=str).encode()  # fmt: skip
    return SweepConfig(
        file=file, base_dir=base, text=text, digest=hashlib.sha256(hashed).hexdigest()[:16],
        model=model, model_args=model_args, data=data, hyperparams=hp, space=space, cv=cv,
        validation=validation, task=_task(file, model, run["loss"], data.task), **run,
        out_dir=out_dir.resolve(), figures=out.get("figures", boolean, True),
        save_params=out.get("save_params", boolean, True), top=out.get("top", integer(1), 10),
    )  # fmt: skip


def _sweep(s: Section, validated: bool) -> dict[str, Any]:
    """The ``[sweep]`` table; ``validated``: whether there is validation data."""
    metrics = s.only(_SWEEP_KEYS).get("metrics", lambda v: tuple(map(_metric, string_list(v))), ())
    metric = s.get("metric", lambda v: _metric(v, prefixed=True), "loss")
    for key in ("metric", "eval_every"):
        if (key == "eval_every" or metric.startswith("val_")) and key in s.table and not validated:
            raise s.error(key, "needs validation data: add a [cv] or [validation] section.")
    options = {  # keyword arguments of jaxfit.sweep
        "seeds": s.get("seeds", integer(1), 1),
        "keys": s.get("keys", string(KEY_MODES), "paired"),
        "memory_budget": s.get("memory_budget", memory, None),
        "chunk_size": s.get("chunk_size", integer(1), None),
        "eval_every": s.get("eval_every", integer(1), None),
        "explode_factor": s.get("explode_factor", number(1.0, above=True), 1e4),
    }
    return {"root_seed": s.get("root_seed", integer(0), 0), "metric": metric, "metrics": metrics,
            "loss": s.get("loss", string(LOSSES), None), "options": options}  # fmt: skip


def _metric(v: Any, prefixed: bool = False) -> str:
    name = string()(v)
    stem = name.removeprefix("train_").removeprefix("val_") if prefixed else name
    allowed = ["loss", *sorted(METRICS)] if prefixed else sorted(METRICS)
    if stem not in allowed:
        prefix = ", optionally prefixed with 'train_' or 'val_'" if prefixed else ""
        raise Invalid(
            f"unknown metric {name!r}{suggest(stem, allowed)}; allowed are {allowed}{prefix}."
        )
    return name


def _task(file: str, model: str, loss: str | None, data_task: str | None) -> str | None:
    """The task that the model, the loss and ``[data] task`` agree on (``None``: open)."""
    wants = []
    if model in CLASSIFIERS:
        need = CLASSIFIERS[model]
        if loss is not None and loss != need:
            raise ConfigError(file, "sweep", "loss", f"{loss!r} does not suit model {model!r}, "
                              f"which needs {need!r} (leave loss out to infer it).")  # fmt: skip
        wants.append(("classification", f"model {model!r}"))
    if loss is not None:
        target = METRICS[loss].target
        wants.append(("regression" if target == "real" else "classification", f"loss {loss!r}"))
    for task, why in wants:
        if data_task not in (None, task):
            message = f"{data_task!r} contradicts {why}, which needs {task} targets."
            raise ConfigError(file, "data", "task", message)
    return data_task or (wants[0][0] if wants else None)


def _model(s: Section) -> tuple[str, dict[str, int]]:
    name = s.get("name", string(tuple(MODELS)))
    args = list(inspect.signature(MODELS[name]).parameters)
    s.only(("name", *args))
    return name, {a: s.get(a, integer(2 if a == "n_classes" else 1)) for a in args if a in s.table}


def _hyperparams(s: Section) -> Hyperparams:
    default = Hyperparams()
    s.only((*numeric_fields(default), *static_fields(default)))
    values = {k: _tuples(v) for k, v in s.table.items()}
    for key, value in values.items():  # each alone first, to name the key that is wrong
        try:
            Hyperparams(**{key: value})
        except (TypeError, ValueError) as e:
            raise s.error(key, str(e)) from None
    try:
        return Hyperparams(**values)
    except (TypeError, ValueError) as e:
        raise s.error(None, str(e)) from None


def _tuples(v: Any) -> Any:
    return tuple(_tuples(e) for e in v) if isinstance(v, list) else v


def _space(s: Section, base: Hyperparams) -> Space:
    _check_space(s, s.table, "", (*numeric_fields(base), *static_fields(base)))
    try:
        space = space_from_dict(s.table)
        space.apply(base)
    except (TypeError, ValueError) as e:
        for i, point in enumerate(space_from_dict(s.table)):  # the axis whose value fails
            for name, value in point.items():
                try:
                    base.replace(**{name: value})
                except (TypeError, ValueError) as bad:
                    raise s.error(name, f"value {value!r} (point {i}): {bad}") from None
        raise s.error(None, str(e)) from None
    return space


def _check_space(s: Section, d: Any, path: str, fields: Sequence[str]) -> None:
    """Checks one space description, naming the dotted key of anything wrong in it."""
    if not isinstance(d, dict) or len(d) != 1:
        got = f"keys {list(d)}" if isinstance(d, dict) else describe(d)
        raise s.error(path or None, f"needs exactly one of {list(_SPACE_KINDS)}; got {got}.")
    kind, body = next(iter(d.items()))
    here = f"{path}.{kind}" if path else kind
    if kind not in _SPACE_KINDS:
        message = f"unknown kind of space{suggest(kind, _SPACE_KINDS)}; allowed are {_SPACE_KINDS}."
        raise s.error(here, message)
    if kind in ("product", "concat"):
        if not isinstance(body, list) or not body:
            raise s.error(here, f"must be a non-empty array of spaces; got {describe(body)}.")
        for i, part in enumerate(body):
            _check_space(s, part, f"{here}[{i}]", fields)
        return
    if not isinstance(body, dict) or not set(body) - {"n", "seed"}:
        raise s.error(here, f"must be a table of hyperparameter axes; got {describe(body)}.")
    if kind == "random" and "n" not in body:
        raise s.error(f"{here}.n", "is required: the number of random points.")
    for name, values in body.items():
        key = f"{here}.{name}"
        try:
            if kind == "random" and name in ("n", "seed"):
                integer(1 if name == "n" else 0)(values)
            elif name not in fields:
                allowed = sorted(fields)
                raise Invalid(f"unknown hyperparameter{suggest(name, allowed)}; allowed are "
                              f"{allowed}.")  # fmt: skip
            elif kind == "random":
                space_from_dict({"random": {"n": 1, name: values}})
            else:
                values = [_tuples(v) for v in values] if isinstance(values, list) else values
                (grid if kind == "grid" else zipped)(**{name: values})
        except (Invalid, TypeError, ValueError) as e:
            raise s.error(key, str(e)) from None
