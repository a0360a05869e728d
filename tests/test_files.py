"""Bounded file reads (warn/files.py): regular files only, never more than the limit, never a hang."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from warn.errors import ConfigError, SourceError
from warn.files import open_bounded, read_bytes, read_text, sha256_of


def within(seconds: float, call):
    """``call()``'s outcome (value or exception), failing the test if it does not return within ``seconds``."""
    outcome: dict[str, object] = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as err:  # noqa: BLE001 (handed back to the test)
            outcome["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still reading after {seconds} s: it hangs"
    return outcome


def test_a_named_pipe_is_refused_at_once_naming_it(tmp_path):
    fifo = tmp_path / "evidence.jpg"
    os.mkfifo(fifo)
    outcome = within(5, lambda: sha256_of(fifo, limit=1000, what="an evidence file"))
    err = outcome["error"]
    assert isinstance(err, SourceError)
    assert str(err) == (f"{fifo}: expected an evidence file as a regular file, got a named pipe (FIFO) "
                        "(name a file: pipes, devices and folders are never read)")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_an_endless_device_is_refused_before_a_byte_is_read(device):
    outcome = within(5, lambda: read_text(Path(device), limit=10**9, what="a roster", error=ConfigError))
    assert isinstance(outcome["error"], ConfigError)
    assert "got a character device" in str(outcome["error"]) and device in str(outcome["error"])


def test_a_folder_and_a_missing_file_are_sentences(tmp_path):
    with pytest.raises(SourceError, match="got a folder"):
        read_bytes(tmp_path, limit=10, what="a QC input")
    with pytest.raises(SourceError, match=r"missing.csv: expected a QC input, readable, got No such file"):
        read_bytes(tmp_path / "missing.csv", limit=10, what="a QC input")


def test_a_file_over_the_limit_is_refused_by_its_size(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 101)
    with pytest.raises(SourceError, match=r"expected a QC input of at most 100 bytes, got 101 bytes"):
        read_bytes(path, limit=100, what="a QC input")
    assert read_bytes(path, limit=101, what="a QC input") == b"x" * 101


def test_a_file_growing_while_read_is_stopped_at_the_limit(tmp_path):
    path = tmp_path / "growing.csv"
    path.write_bytes(b"x" * 10)
    with open_bounded(path, limit=100, what="a QC input") as handle:
        with path.open("ab") as writer:
            writer.write(b"y" * 1000)
        with pytest.raises(SourceError, match="the file grew while it was read"):
            handle.read()


def test_text_that_is_not_utf8_names_the_offset(tmp_path):
    path = tmp_path / "roster.yaml"
    path.write_bytes(b"shifts: []\n\xff")
    with pytest.raises(ConfigError, match=r"expected a roster in UTF-8 text, got byte b'\\xff' at offset 11"):
        read_text(path, limit=100, what="a roster", error=ConfigError)
