"""reports renders records only: it never imports the model zoo or torch."""

import ast
from pathlib import Path

import reports


def test_reports_imports_neither_architectures_nor_torch() -> None:
    imported = set()
    for path in Path(reports.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert "analyzer" in imported  # it does read analyzer's records
    assert not imported & {"architectures", "torch"}
