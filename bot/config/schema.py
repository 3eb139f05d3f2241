"""Reading the schema: the type of a setting at a path, and what it says about itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec.inspect as mi


def unwrap(kind: mi.Type) -> tuple[mi.Type, str]:
    """The type under its metadata and optional None, and its description if any."""
    description = ""
    while True:
        if isinstance(kind, mi.Metadata):
            description = (kind.extra_json_schema or {}).get("description", description)
            kind = kind.type
        elif isinstance(kind, mi.UnionType):
            others = [t for t in kind.types if not isinstance(t, mi.NoneType)]
            if len(others) != 1:
                return kind, description
            kind = others[0]
        else:
            return kind, description


def schema_at(schema: type, steps: list[str | int]) -> tuple[mi.Type, str]:
    kind, description = unwrap(mi.type_info(schema))
    for step in steps:
        if isinstance(kind, mi.StructType) and isinstance(step, str):
            field = next((f for f in kind.fields if f.encode_name == step), None)
            if field is None:
                return mi.AnyType(), ""
            kind, description = unwrap(field.type)
        elif isinstance(kind, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
            kind, description = unwrap(kind.item_type)
        elif isinstance(kind, mi.DictType):
            kind, description = unwrap(kind.value_type)
        else:
            return mi.AnyType(), ""
    return kind, description


def _is_optional_path(kind: mi.Type) -> bool:
    return (
        isinstance(kind, mi.UnionType)
        and any(isinstance(t, mi.CustomType) and t.cls is Path for t in kind.types)
        and any(isinstance(t, mi.NoneType) for t in kind.types)
    )


def unset_empty_paths(raw: Any, kind: mi.Type) -> None:
    """TOML has no "none": an empty string for an optional file means there is none."""
    kind, _ = unwrap(kind)
    if isinstance(kind, mi.StructType) and isinstance(raw, dict):
        for field in kind.fields:
            if field.encode_name not in raw:
                continue
            inner = field.type.type if isinstance(field.type, mi.Metadata) else field.type
            if raw[field.encode_name] == "" and _is_optional_path(inner):
                raw[field.encode_name] = None
            else:
                unset_empty_paths(raw[field.encode_name], field.type)
    elif isinstance(kind, mi.ListType | mi.VarTupleType) and isinstance(raw, list):
        for item in raw:
            unset_empty_paths(item, kind.item_type)
