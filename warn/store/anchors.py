"""锚定 / anchors: the timeline's head signed with the deployment's Ed25519 key and kept outside the store.

The hash chain (:mod:`warn.store.timeline`) shows an edited, inserted or deleted entry, but not
entries removed from its end, nor a chain rewritten and re-hashed from seq 1: both leave a valid
chain. An anchor is a copy of the head kept where the store's editor cannot reach — a witness
(:mod:`warn.broadcast.witness`: a JSON-lines file on another volume, the city platform over HTTP) —
and signed, so a witness's copy cannot be forged either. :func:`check_anchors` compares anchors
with the store: an anchored seq past the store's end is a truncation, another hash at an anchored
seq a rewrite, a signature that does not verify a forged anchor.

An anchor is the JSON object ``{"district", "store", "seq", "head", "at", "key_id", "signature"}``:
``seq`` and ``head`` the last entry's seq and hash, ``at`` when it was signed (UTC ISO 8601),
``key_id`` the first 16 hex digits of the SHA-256 of the raw public key, and ``signature`` the
Ed25519 signature (base64) of :func:`warn.store.timeline.canonical_json` of the other six fields,
encoded UTF-8.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from warn.errors import Problem, WarnError
from warn.store.timeline import Timeline, canonical_json, canonical_time

#: Fields an anchor signs, in the canonical form's (sorted) order.
SIGNED = ("at", "district", "head", "key_id", "seq", "store")
#: File mode of a private key: read and write by its owner only.
KEY_MODE = 0o600
#: The most read of a key file, bytes (a PEM Ed25519 key is about 120).
MAX_KEY_BYTES = 16 * 1024


class AnchorError(WarnError):
    """A key cannot be made, read or used, or an anchors file cannot be read."""


def keygen(out: Path) -> Ed25519PublicKey:
    """Write a new Ed25519 private key (PEM, PKCS #8, mode 0600) to ``out`` and its public key beside it
    (``out`` with suffix ``.pub.pem``); an existing file is never overwritten.

    Returns
    -------
    Ed25519PublicKey
        The public key.

    Raises
    ------
    AnchorError
        ``out`` or the public key's file exists, or cannot be written.
    """
    private = Ed25519PrivateKey.generate()
    public_path = public_path_of(out)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    for path in (out, public_path):
        if path.exists():
            raise AnchorError(Problem(str(path), "", "a path where no file exists yet", "an existing file",
                                      "密钥不会被覆盖 / a key is never overwritten"))
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_MODE)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
        public_path.write_bytes(public_pem(private.public_key()))
    except OSError as err:
        raise AnchorError(Problem(str(out), "", "a writable path for the key", err.strerror or str(err))) from None
    return private.public_key()


def public_path_of(private: Path) -> Path:
    """Where :func:`keygen` puts the public key of ``private``: ``anchor.pem`` → ``anchor.pub.pem``."""
    return private.with_name(f"{private.name.removesuffix('.pem')}.pub.pem")


def public_pem(key: Ed25519PublicKey) -> bytes:
    """``key`` as PEM (SubjectPublicKeyInfo)."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``path`` (PEM, unencrypted), which only its owner may read (mode 0600).

    Raises
    ------
    AnchorError
        Missing, not a regular file, readable by others, or not an Ed25519 private key.
    """
    data = _read_key(path)
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise AnchorError(Problem(str(path), "mode", "0600 (only its owner may read the private key)",
                                  oct(path.stat().st_mode & 0o777), f"chmod 600 {path}"))
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise AnchorError(Problem(str(path), "", "an unencrypted Ed25519 private key (PEM)", str(err),
                                  "warn anchor keygen --out PATH makes one")) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AnchorError(Problem(str(path), "", "an Ed25519 private key", type(key).__name__))
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in ``path`` (PEM), or the public half of a private key there.

    Raises
    ------
    AnchorError
        Missing, not a regular file, or not an Ed25519 key.
    """
    data = _read_key(path)
    if b"PRIVATE KEY" in data:
        return load_private(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as err:
        raise AnchorError(Problem(str(path), "", "an Ed25519 public key (PEM)", str(err))) from None
    if not isinstance(key, Ed25519PublicKey):
        raise AnchorError(Problem(str(path), "", "an Ed25519 public key", type(key).__name__))
    return key


def key_id(key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_head(key: Ed25519PrivateKey, *, district: str, store: str, seq: int, head: str,
              at: datetime) -> dict[str, Any]:
    """The signed anchor of the head ``seq`` / ``head`` (module docstring)."""
    anchor: dict[str, Any] = {"district": district, "store": store, "seq": seq, "head": head,
                              "at": canonical_time(at), "key_id": key_id(key.public_key())}
    signature = key.sign(canonical_json(anchor).encode("utf-8"))
    return anchor | {"signature": base64.b64encode(signature).decode("ascii")}


def signature_ok(anchor: dict[str, Any], key: Ed25519PublicKey) -> bool:
    """Whether ``anchor``'s signature verifies with ``key`` over its signed fields."""
    try:
        signature = base64.b64decode(str(anchor["signature"]), validate=True)
        key.verify(signature, canonical_json({name: anchor[name] for name in SIGNED}).encode("utf-8"))
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class AnchorCheck:
    """What :func:`check_anchors` found.

    Attributes
    ----------
    anchors
        Anchors read.
    verified
        Anchors whose signature verified and whose seq and hash the store holds.
    last_seq
        The highest anchored seq verified (0 when none).
    store_seq
        The store's last seq.
    problems
        One sentence per anchor that failed (zh-CN then English), in file order.
    """

    anchors: int
    verified: int
    last_seq: int
    store_seq: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every anchor verified (and there was at least one)."""
        return self.anchors > 0 and not self.problems


def read_anchors(path: Path) -> list[tuple[int, dict[str, Any] | None]]:
    """(line number, anchor or ``None`` when the line is not a JSON object) of each non-blank line of ``path``.

    Raises
    ------
    AnchorError
        The file cannot be read.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise AnchorError(Problem(str(path), "", "a readable JSON-lines file of anchors", str(err))) from None
    out: list[tuple[int, dict[str, Any] | None]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        out.append((number, value if isinstance(value, dict) else None))
    return out


def check_anchors(timeline: Timeline, anchors: Iterable[tuple[int, dict[str, Any] | None]],
                  key: Ed25519PublicKey) -> AnchorCheck:
    """Check each anchor's signature with ``key`` and that the store's entry at its seq has its hash.

    Parameters
    ----------
    timeline
        The store's timeline.
    anchors
        (line number, anchor or ``None``) as :func:`read_anchors` returns them.
    key
        The deployment's public key.
    """
    listed = list(anchors)
    seqs = [a["seq"] for _, a in listed if a is not None and isinstance(a.get("seq"), int)]
    held = timeline.hashes(seqs)
    end = timeline.last_seq()
    problems: list[str] = []
    verified, last = 0, 0
    for number, anchor in listed:
        problem = _anchor_problem(number, anchor, key, held, end)
        if problem:
            problems.append(problem)
        elif anchor is not None:
            verified, last = verified + 1, max(last, int(anchor["seq"]))
    return AnchorCheck(len(listed), verified, last, end, problems)


def _anchor_problem(number: int, anchor: dict[str, Any] | None, key: Ed25519PublicKey, held: dict[int, str],
                    end: int) -> str:
    """Why the anchor on line ``number`` fails; empty when it verifies."""
    if anchor is None or not all(name in anchor for name in (*SIGNED, "signature")) or not isinstance(
            anchor["seq"], int):
        return (f"第 {number} 行不是锚定记录 / line {number} is not an anchor: expected a JSON object with "
                f"{', '.join(SIGNED)} and signature")
    seq, at, head = anchor["seq"], anchor["at"], str(anchor["head"])
    if not signature_ok(anchor, key):
        return (f"锚定伪造：第 {number} 行（seq {seq}）签名不符 / forged anchor: line {number} (seq {seq} at {at}) "
                f"does not verify with key {key_id(key)} (signed by key {anchor['key_id']})")
    if seq > end:
        return (f"时间线被截断：锚定 seq {seq}（{at}），库中仅到 seq {end} / timeline truncated: anchor seq {seq} "
                f"at {at} but the store ends at seq {end}")
    if held.get(seq) != head:
        return (f"时间线被重写：seq {seq} 的哈希与锚定不符 / timeline rewritten: anchor seq {seq} at {at} has head "
                f"hash {head[:12]}…, the store's entry {seq} has {str(held.get(seq, 'none'))[:12]}…")
    return ""


def _read_key(path: Path) -> bytes:
    if not path.is_file():
        raise AnchorError(Problem(str(path), "", "a key file (PEM)", "no such regular file",
                                  "warn anchor keygen --out PATH makes one"))
    try:
        with path.open("rb") as file:
            return file.read(MAX_KEY_BYTES)
    except OSError as err:
        raise AnchorError(Problem(str(path), "", "a readable key file", err.strerror or str(err))) from None
