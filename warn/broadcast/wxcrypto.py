"""The callback crypto WeCom (企业微信) and DingTalk (钉钉 / 渝快政) share: a SHA-1 signature and AES-256-CBC.

Both platforms sign and encrypt what they post to an application's callback URL the same way
(WeCom's ``WXBizMsgCrypt``, DingTalk's ``DingCallbackCrypto``):

- **Signature.** SHA-1 (hex) over the callback token, the timestamp, the nonce and the ciphertext,
  sorted as strings and joined without separator (:func:`signature`).
- **Key.** The 43-character ``EncodingAESKey`` from the platform's console, base64-decoded after
  appending ``=``: 32 bytes; the IV is its first 16 bytes (:func:`aes_key`).
- **Plaintext.** 16 random bytes, the message's length as 4 bytes big-endian, the message (UTF-8),
  then the receive id — the corp id (WeCom; DingTalk's corp callbacks) or the app key (DingTalk's
  event subscription) — padded PKCS#7 to a multiple of 32 bytes, encrypted, base64
  (:func:`encrypt`, :func:`decrypt`).

The callback parsers (:mod:`warn.broadcast.callbacks`) check, the local stand-ins of the platforms
(:mod:`warn.sim.gateways`) sign.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

#: The PKCS#7 block both platforms pad to (bytes).
PAD_TO = 32
#: Length of an EncodingAESKey (characters of base64 without its final ``=``).
KEY_CHARS = 43


class CryptoRefused(ValueError):  # noqa: N818 - a refusal of what was received, not a failure of the code
    """A ciphertext or key that does not hold; the message says what, never the plaintext."""


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """SHA-1 (hex) of ``token``, ``timestamp``, ``nonce`` and ``encrypted`` sorted and joined."""
    return hashlib.sha1("".join(sorted((token, timestamp, nonce, encrypted))).encode()).hexdigest()


def signature_holds(token: str, timestamp: str, nonce: str, encrypted: str, given: str) -> bool:
    """Whether ``given`` is the signature of the rest (compared in constant time)."""
    return hmac.compare_digest(signature(token, timestamp, nonce, encrypted), given.lower())


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a 43-character ``EncodingAESKey``.

    Raises
    ------
    CryptoRefused
        Not 43 characters of base64 that decode to 32 bytes.
    """
    if len(encoding_aes_key) != KEY_CHARS:
        raise CryptoRefused(f"an EncodingAESKey of {KEY_CHARS} characters, got {len(encoding_aes_key)}")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise CryptoRefused("an EncodingAESKey in base64") from None
    if len(key) != 32:
        raise CryptoRefused(f"an EncodingAESKey of 32 bytes, got {len(key)}")
    return key


def encrypt(encoding_aes_key: str, message: str, receive_id: str, *, nonce: bytes | None = None) -> str:
    """``message`` for ``receive_id`` encrypted the platforms' way, base64.

    Parameters
    ----------
    encoding_aes_key
        The 43-character key.
    message
        The plaintext (JSON or XML).
    receive_id
        The corp id or app key the plaintext ends with.
    nonce
        The 16 random leading bytes; fresh ones when ``None``.
    """
    key = aes_key(encoding_aes_key)
    body = message.encode()
    plain = (nonce or os.urandom(16)) + struct.pack(">I", len(body)) + body + receive_id.encode()
    pad = PAD_TO - len(plain) % PAD_TO
    padded = plain + bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def decrypt(encoding_aes_key: str, encrypted: str, receive_id: str) -> str:
    """The message inside ``encrypted``, checked to be for ``receive_id``.

    Raises
    ------
    CryptoRefused
        Not base64, not whole AES blocks, bad padding, a length past the end, or another receive id.
    """
    key = aes_key(encoding_aes_key)
    try:
        data = base64.b64decode(encrypted, validate=True)
    except binascii.Error:
        raise CryptoRefused("a ciphertext in base64") from None
    if not data or len(data) % 16:
        raise CryptoRefused(f"a ciphertext of whole 16-byte blocks, got {len(data)} bytes")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= PAD_TO or plain[-pad:] != bytes([pad]) * pad:
        raise CryptoRefused("PKCS#7 padding (wrong key?)")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise CryptoRefused("a plaintext of at least 20 bytes")
    (length,) = struct.unpack(">I", plain[16:20])
    if 20 + length > len(plain):
        raise CryptoRefused("a message length within the plaintext (wrong key?)")
    if not hmac.compare_digest(plain[20 + length:], receive_id.encode()):
        raise CryptoRefused("the plaintext to end with this deployment's corp id / app key")
    try:
        return plain[20:20 + length].decode()
    except UnicodeDecodeError:
        raise CryptoRefused("a UTF-8 message (wrong key?)") from None
