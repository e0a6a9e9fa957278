"""The generated code is up to date, reproducible, and the up-to-date check can fail."""

import re
import shutil

from lstm_lit import codegen


def test_generated_code_is_up_to_date():
    assert codegen.check() == []


def test_regeneration_is_byte_identical():
    assert codegen.render() == codegen.render()


def test_generated_files_carry_header_without_version_or_date():
    for name, text in codegen.render().items():
        assert text.startswith(codegen.HEADER), name
        # nothing that changes between regenerations: no version, date or content hash anywhere in the file
        assert not re.search(r"version|\b(19|20)\d\d-\d\d-\d\d|\b[0-9a-f]{32,}\b", text, re.IGNORECASE), name
    assert re.search(r"\b(19|20)\d\d-\d\d-\d\d", "# generated 2026-11-25")  # the pattern does catch a date


def test_check_detects_a_hand_edit(tmp_path):
    copy = tmp_path / "generated"
    shutil.copytree(codegen.GENERATED_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "forward.py"
    target.write_text(target.read_text().replace("4*_sigmoid", "4.0001*_sigmoid", 1))
    problems = codegen.check(copy)
    assert problems and "forward.py" in problems[0]
    (copy / "stale.py").write_text("# left over\n")
    assert any("stale.py" in p for p in codegen.check(copy))


def test_check_detects_a_missing_file(tmp_path):
    copy = tmp_path / "generated"
    shutil.copytree(codegen.GENERATED_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "forward.py").unlink()
    assert any("missing" in p for p in codegen.check(copy))
