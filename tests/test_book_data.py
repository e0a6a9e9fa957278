"""The chapters' data files are found from the repository, from book/, or from the cache; a missing one is named."""

import pytest

from lstm_lit import book_data


def test_found_from_the_repository_root_and_from_book(monkeypatch, tmp_path):
    repo_file = book_data.path("bench.json", download=False)
    assert repo_file.name == "bench.json" and repo_file.parent.name == "data"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "bench.json").write_text('{"here": 1}')
    assert book_data.load_json("bench.json", download=False) == {"here": 1}


def test_a_missing_file_is_named_with_what_to_do(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(book_data, "CACHE", tmp_path / "cache")

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(book_data.urllib.request, "urlopen", offline)
    with pytest.raises(book_data.BookDataMissing) as info:
        book_data.path("table2/no-such-row.json")
    message = str(info.value)
    assert "book/data/table2/no-such-row.json" in message and "no network" in message
    assert book_data.RAW + "table2/no-such-row.json" in message


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../secrets.json", 3])
def test_bad_names_are_refused(name):
    with pytest.raises(ValueError, match="book data name"):
        book_data.path(name, download=False)
