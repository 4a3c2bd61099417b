"""The CLI's command table: every command's module exists and its help line matches."""

from importlib import import_module

import pytest

from neurosim.cli import _HELP, COMMANDS


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_module_and_help_line(name):
    module = import_module(COMMANDS[name])
    assert callable(module.add_arguments) and callable(module.run)
    # _HELP is kept beside COMMANDS so `neurosim chips` need not import every command;
    # it must say what the command module says
    assert module.HELP == _HELP[name]
