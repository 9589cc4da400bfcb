"""Enum-valued fields are compared with enum members, never with bare strings.

A field declared as an enum (``LayerCheck.kind: ConvKind``, ``ConventionTotal.tool: Convention``) compared with a
string literal (``check.kind == "linear"``) still works while the member's value is that string, and silently
matches nothing once it is renamed; compared with the member (``ConvKind.LINEAR``) it fails where it is written.
This reads every module's source: every field annotated with one of convcost's string enums, and every comparison of
such an attribute with a string literal.
"""

from __future__ import annotations

import ast
import enum
import importlib
from pathlib import Path

from test_layering import ROOT, modules


def string_enums() -> dict[str, frozenset[str]]:
    """Every string enum convcost defines: class name → its members' values."""
    found: dict[str, frozenset[str]] = {}
    for module, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            value = getattr(importlib.import_module(module), node.name, None)
            if isinstance(value, type) and issubclass(value, enum.Enum):
                values = frozenset(member.value for member in value if isinstance(member.value, str))
                if values:
                    found[node.name] = values
    return found


def _annotation_names(annotation: ast.expr) -> set[str]:
    """The plain names an annotation mentions (``ConvKind | None`` → ``ConvKind``, ``None``)."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        annotation = ast.parse(annotation.value, mode="eval").body
    return {node.id for node in ast.walk(annotation) if isinstance(node, ast.Name)}


def enum_fields(enums: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Attribute name → the values of the enum(s) a class of convcost declares it as."""
    fields: dict[str, frozenset[str]] = {}
    for path in modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        for name in _annotation_names(item.annotation) & set(enums):
                            fields[item.target.id] = fields.get(item.target.id, frozenset()) | enums[name]
    return fields


def literal_comparisons(path: Path, fields: dict[str, frozenset[str]]) -> list[str]:
    """Every ``x.field ==/!=/in "literal"`` (either side) in ``path`` where ``field`` is enum-valued and the literal
    is one of its enum's values."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        attributes = [side.attr for side in sides if isinstance(side, ast.Attribute) and side.attr in fields]
        literals = [constant.value for side in sides for constant in ([side] if isinstance(side, ast.Constant) else
                    side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [])
                    if isinstance(constant, ast.Constant) and isinstance(constant.value, str)]
        for attribute in attributes:
            bare = [literal for literal in literals if literal in fields[attribute]]
            if bare:
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                found.append(f"{where}:{node.lineno}: .{attribute} against {', '.join(bare)}")
    return found


def test_enum_fields_are_compared_with_members() -> None:
    enums = string_enums()
    assert {"ConvKind", "Convention", "EngineName", "Format", "OpKey", "Bound", "Device"} <= set(enums)
    fields = enum_fields(enums)
    assert {"kind", "tool", "limit", "device"} <= set(fields)
    found = [line for path in modules().values() for line in literal_comparisons(path, fields)]
    assert found == []


def test_a_bare_string_comparison_is_caught(tmp_path: Path) -> None:
    fields = enum_fields(string_enums())
    probe = tmp_path / "probe.py"
    probe.write_text('def f(check, total):\n    return check.kind != "linear" or "convcost" == total.tool '
                     'or total.tool in ("thop", "x") or check.kind == "not a value"\n', encoding="utf-8")
    assert [line.split(": ", 1)[1] for line in literal_comparisons(probe, fields)] == [
        ".kind against linear", ".tool against convcost", ".tool against thop"]
