"""The one rule for a name read back from a file: a checkpoint, a metrics.json, a ``.hydra/`` config, a sweep dir.

A file someone hands you is data. ``torch.load(weights_only=True)`` stops pickled code, but a checkpoint
also holds class names (``lit_hw.task``, ``hyper_parameters.net._target_``) that a loader would import
and call. Before lit_hw imports or calls such a name, it must pass ``allowed_class``:

1. it is a dotted path of Python identifiers (``package.module.Class``);
2. it lives in ``lit_hw``, in the home of its kind (``torch.optim`` for optimizers), or in a module the
   user trusts on the command line (``trust=[mypkg]``). This is checked on the text, before anything is
   imported: importing a module runs its top-level code;
3. it resolves to a class (not a function, not an instance) of the expected kind: an ``nn.Module`` for
   a net, a ``LightningDataModule``, lit_hw's ``Task``, a ``torch.optim.Optimizer``.

A refused name is one line naming the file, the key and the name. Hydra's own instantiate target policy
stays on behind this rule; it blocks some callables but not ``builtins.open`` or ``subprocess.Popen``,
and ``get_class`` bypasses it.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from collections.abc import Iterable

from lit_hw.core.errors import UserError

# the package whose classes every loader may build
OWN_PACKAGE = "lit_hw"
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class RefusedName(UserError):
    """A name in a file that the allow rule refuses: nothing was imported or called."""


def trusted_roots(trust) -> tuple[str, ...]:
    """The modules a user trusts (``trust=[mypkg,other.nets]``), checked to be dotted module names."""
    if trust is None:
        return ()
    names = [trust] if isinstance(trust, str) else list(trust)
    for name in names:
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", name):
            raise UserError(f"trust={names!r} must be a list of module names, e.g. trust=[mypkg] or trust=[mypkg.nets]")
    return tuple(names)


def within(name: str, roots: Iterable[str]) -> bool:
    """``name`` is one of ``roots`` or inside one of them (``a.b.C`` is inside ``a`` and ``a.b``, not ``a.bc``)."""
    return any(name == root or name.startswith(root + ".") for root in roots)


def import_dotted(name: str):
    """The object ``name`` names: the longest importable module prefix, then attributes (nested classes,
    a class's method); None if there is no such object."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def allowed_class(
    name, kind: type, *, source, key: str, trust: Iterable[str] = (), homes: Iterable[str] = (), what: str = ""
) -> type:
    """The class ``name`` (read from ``source`` at ``key``) if it passes the rule above; else RefusedName."""
    roots = (OWN_PACKAGE, *homes, *trust)
    kind_text = what or f"{kind.__module__}.{kind.__qualname__} class"
    where = f"{source}: {key}={name!r}"
    if not isinstance(name, str) or not _DOTTED.match(name):
        raise RefusedName(f"{where} is not a class name (package.module.Class); a {kind_text} was expected")
    if not within(name, roots):
        top = name.split(".", 1)[0]
        if top in sys.stdlib_module_names:
            why = "a file never names standard-library code for lit_hw to run"
        else:
            why = f"if {top} is your own code and you trust this file, add trust=[{top}]"
        raise RefusedName(f"{where} is refused: a file may only name classes from {', '.join(roots)}; {why}")
    try:
        obj = import_dotted(name)
    except Exception as err:  # the module itself fails to import: say so, in one line
        raise RefusedName(f"{where} cannot be imported ({type(err).__name__}: {err})") from None
    if obj is None:
        raise RefusedName(f"{where} does not exist; a {kind_text} was expected")
    if not inspect.isclass(obj) or not issubclass(obj, kind):
        got = "a class of another kind" if inspect.isclass(obj) else f"a {type(obj).__name__}, not a class"
        raise RefusedName(f"{where} is refused: it is {got}, where a {kind_text} was expected")
    return obj
