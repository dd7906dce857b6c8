"""Tests of minesafe.resources."""

from minesafe.resources import read_key_provinces


def test_the_key_provinces_list_is_read_again_when_it_changes(tmp_path):
    path = tmp_path / "provinces.csv"
    path.write_text("province,note\n河北,\n山西,\n", encoding="utf-8")
    assert read_key_provinces(path) == ("河北", "山西")
    assert read_key_provinces(path) is read_key_provinces(path)  # read once while unchanged
    path.write_text("province,note\n河北,\n山西,\n辽宁,\n", encoding="utf-8")
    assert read_key_provinces(path) == ("河北", "山西", "辽宁")
    path.unlink()
    assert read_key_provinces(path) is None
