"""The README quick-start is tested: its two commands and its Python snippet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_starts_with_the_two_commands() -> None:
    first = _blocks("bash")[0]
    commands = [line.split("#")[0].strip() for line in first.strip().splitlines()]
    assert commands == ["make run", "make test"]
    text = README.read_text()
    assert text.index("```bash") < text.index("##"), "the two commands come first"


def test_readme_python_quick_start_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (snippet,) = _blocks("python")
    namespace: dict[str, object] = {}
    exec(compile(snippet, str(README), "exec"), namespace)
    product = namespace["product"]
    assert product.metadata.simulated is True  # type: ignore[attr-defined]
    assert (tmp_path / "var" / "quickstart").is_dir()
