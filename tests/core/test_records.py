"""The plugin API's records behave as the dataclasses they replaced.

PollerInfo, ResolverInfo, ExecutorInfo, PluginRecord and Assembly are plain
classes (importing :mod:`dataclasses` cost start-up time), but what a user
sees is unchanged: keyword and positional construction with defaults, a
repr naming every field, field-wise equality, and, for the frozen ones, a
hash and :class:`dataclasses.FrozenInstanceError` on assignment.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

import loopkit
from loopkit import ExecutorInfo, PluginRecord, PollerInfo, ResolverInfo


async def _lookup(*args: object, **kwargs: object) -> list[tuple[object, ...]]:
    return []


async def _name(*args: object, **kwargs: object) -> tuple[str, str]:
    return ("", "")


def _poller() -> PollerInfo:
    return PollerInfo(name="fake", create=list, priority=3)  # type: ignore[arg-type]


def test_keyword_and_positional_construction_give_equal_records_with_defaults() -> None:
    info = _poller()
    assert info == PollerInfo("fake", list, 3)  # type: ignore[arg-type]
    assert (info.is_available(), info.description) == (True, "")
    assert info != PollerInfo("fake", list, 4)  # type: ignore[arg-type]
    assert info != ("fake", list, 3)


def test_the_repr_names_every_field_in_order() -> None:
    info = ResolverInfo("r", _lookup, _name, install_hint="pip install r")
    text = repr(info)
    assert text.startswith("ResolverInfo(name='r', getaddrinfo=<function _lookup")
    assert text.endswith("description='', install_hint='pip install r')")


@pytest.mark.parametrize(
    "record",
    [
        _poller(),
        ResolverInfo("r", _lookup, _name),
        ExecutorInfo("e", list),  # type: ignore[arg-type]
        PluginRecord("p", object(), None, None, (), (), (), ()),
    ],
)
def test_frozen_records_refuse_assignment_and_hash_by_value(record: object) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'name'"):
        record.name = "other"  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        del record.name  # type: ignore[attr-defined]
    assert hash(record) == hash(record)
    assert {record: 1}[record] == 1


def test_an_assembly_is_mutable_unhashable_and_keeps_its_private_state_out_of_view() -> None:
    assembly = loopkit.assemble(plugins=[])
    assembly.poller_info(None)  # caches the default poller in a private slot
    assert "_default_poller" not in repr(assembly)
    assert repr(assembly).startswith("Assembly(loop_class=<class 'loopkit.Loop'>, plugins=(")
    with pytest.raises(TypeError):
        hash(assembly)
    assert assembly == assembly
    assert PluginRecord("p", None, None, None, (), (), (), ()).builtin is False


def test_frozen_records_copy_deepcopy_and_pickle_like_the_dataclasses_did() -> None:
    info = PollerInfo("fake", list, 3, description="made up")  # type: ignore[arg-type]
    for twin in (copy.copy(info), copy.deepcopy(info), pickle.loads(pickle.dumps(info))):
        assert twin == info
        assert type(twin) is PollerInfo
    assembly = loopkit.assemble(plugins=[])
    assert copy.copy(assembly) == assembly
