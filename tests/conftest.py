"""Shared test fixtures.

``soffice``: the LibreOffice binary. Tests marked ``libreoffice`` need it; CI
installs ``libreoffice-calc-nogui`` from Debian, so a missing binary is a
failure, not a skip.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def find_soffice() -> str | None:
    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def soffice() -> str:
    path = find_soffice()
    if path is None:
        pytest.fail("LibreOffice (soffice) is not installed: apt-get install -y libreoffice-calc-nogui")
    return path


@pytest.fixture(scope="session")
def lo_convert(soffice, tmp_path_factory):
    """Return convert(files, fmt, outdir) -> list of converted paths.

    Runs LibreOffice headless once for all ``files`` with a private profile,
    the way a user re-saving in LibreOffice Calc would."""
    profile = tmp_path_factory.mktemp("lo_profile")

    def convert(files, fmt: str, outdir) -> list[Path]:
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        filter_name = {"xlsx": "xlsx:Calc MS Excel 2007 XML", "ods": "ods", "pdf": "pdf"}.get(fmt, fmt)
        cmd = [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
               "--convert-to", filter_name, "--outdir", str(outdir), *[str(f) for f in files]]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                             env={**os.environ, "HOME": str(profile)})
        ext = fmt if fmt != "pdf" else "pdf"
        out = [outdir / (Path(f).stem + "." + ext) for f in files]
        missing = [p for p in out if not p.exists()]
        if missing:
            raise AssertionError(f"LibreOffice did not convert {missing}: {res.stdout} {res.stderr}")
        return out

    return convert
