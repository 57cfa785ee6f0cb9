import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke.json"


@pytest.fixture(scope="session")
def smoke_path() -> Path:
    return SMOKE


@pytest.fixture()
def smoke_dict() -> dict:
    return json.loads(SMOKE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """One smoke run (from the file), shared by the tests that only read its outputs."""
    import lipf

    out = tmp_path_factory.mktemp("runs") / "smoke"
    return lipf.run(SMOKE, out=out, progress=False)
