from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from minesafe.files import read_rubric
from minesafe.rubric import Rubric

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
DEMO = ROOT / "data" / "demo"
REFERENCE = ROOT.parent / "shared" / "reference" / "000_8494597fe47c3bfa.txt"


@pytest.fixture(scope="session")
def county_rubric() -> Rubric:
    return read_rubric("noncoal-county")


@pytest.fixture(scope="session")
def province_rubric() -> Rubric:
    return read_rubric("noncoal-province")


@pytest.fixture(scope="session")
def _passing_county_data() -> dict:
    return yaml.safe_load((DEMO / "counties" / "jia.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def county_data(_passing_county_data) -> dict:
    """A fresh copy of a submission that passes on every count, for tests to alter."""
    return copy.deepcopy(_passing_county_data)
