"""Where the evaluation data is found, including from a fresh clone made elsewhere."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from embedweave import paths


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _checkout(root: Path) -> Path:
    src = root / "work" / "main"
    src.mkdir(parents=True)
    _git("init", "-q", cwd=src)
    (src / "f").write_text("x")
    _git("add", "f", cwd=src)
    _git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x", cwd=src)
    return src


def test_a_clone_of_a_clone_finds_the_checkouts_it_came_from(tmp_path: Path) -> None:
    src = _checkout(tmp_path)
    _git("clone", "-q", str(src), str(tmp_path / "elsewhere" / "fresh"), cwd=tmp_path)
    _git("clone", "-q", str(tmp_path / "elsewhere" / "fresh"), str(tmp_path / "x" / "y"),
         cwd=tmp_path)
    origins = paths._local_origins(tmp_path / "x" / "y")
    assert origins == [(tmp_path / "elsewhere" / "fresh").resolve(), src.resolve()]


def test_network_remotes_and_plain_folders_give_nothing(tmp_path: Path) -> None:
    src = _checkout(tmp_path)
    assert paths._local_origins(src) == []  # no origin at all
    _git("remote", "add", "origin", "https://github.com/x/y.git", cwd=src)
    assert paths._local_origins(src) == []
    _git("remote", "set-url", "origin", "git@github.com:x/y.git", cwd=src)
    assert paths._local_origins(src) == []
    assert paths._local_origins(tmp_path) == []  # not a checkout


def test_data_dir_names_every_place_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDWEAVE_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setattr(paths, "_local_origins", lambda repo: [tmp_path / "origin"])
    monkeypatch.setattr(Path, "is_dir", lambda self: False)
    with pytest.raises(FileNotFoundError) as err:
        paths.data_dir()
    assert str(tmp_path / "nowhere") in str(err.value)
    assert str(tmp_path / "shared" / "data") in str(err.value)


def test_data_dir_prefers_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDWEAVE_DATA_DIR", str(tmp_path))
    assert paths.data_dir() == tmp_path
