"""Every public function and class has a docstring that help() shows."""

import inspect
import pydoc

import pytest

import lipf

PUBLIC = [
    lipf.run,
    lipf.check,
    lipf.load,
    lipf.geometry,
    lipf.impedance,
    lipf.impedance_config,
    lipf.study,
    lipf.load_study,
    lipf.Config,
    lipf.RunResult,
    lipf.ConfigError,
    lipf.LipfError,
]


@pytest.mark.parametrize("obj", PUBLIC, ids=lambda o: o.__name__)
def test_docstring(obj):
    assert obj.__doc__ and len(obj.__doc__.strip()) > 40, obj.__name__


@pytest.mark.parametrize("fn", [f for f in PUBLIC if inspect.isfunction(f)], ids=lambda f: f.__name__)
def test_help_shows_signature_and_hints(fn):
    text = pydoc.render_doc(fn, renderer=pydoc.plaintext)
    assert fn.__name__ in text and fn.__doc__.strip().splitlines()[0] in text
    hints = fn.__annotations__
    assert "return" in hints, fn.__name__


def test_module_docstring_lists_the_functions():
    for name in ("run", "check", "load", "geometry", "impedance", "study"):
        assert f":func:`{name}`" in lipf.__doc__
    assert set(lipf.__all__) >= {"geometry", "impedance", "study", "load_study"}
