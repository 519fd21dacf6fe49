"""HTTP signatures: draft-cavage-12 and RFC 9421, signing and verifying. Pure: no I/O, `now` passed in.

Incoming requests go through two steps: `parse_request` reads the signature, rebuilds the exact signing
string and applies our rules (digest present, matching and covered; date fresh; request target covered),
then the caller looks the key up and calls `verify`. Outgoing requests are signed with draft-cavage-12
`rsa-sha256` over `(request-target) host date digest content-type`, which every major server verifies.

One module on purpose, though over 600 lines: both schemes share key loading, the digests, the host and
freshness checks and the one `verify` entry point with its per-key-kind checks; split by scheme, each half
would have to export those private checks to the other. RFC 8941 parsing is apart (structured_fields.py).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from multidict import CIMultiDict, CIMultiDictProxy

from fedgroup.protocol.structured_fields import (
    Token,
    parse_sf_dictionary,
    serialize_bare,
    serialize_inner_list,
    serialize_params,
)

MIN_RSA_BITS = 2048
DEFAULT_MAX_SKEW = timedelta(hours=12)
# A clock running ahead is allowed less (as Mastodon does): a request dated far ahead could be replayed later.
MAX_FUTURE = timedelta(hours=1)


class SignatureError(Exception):
    """A request signature that cannot be accepted; `reason` is a short grep-able slug."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class SignedRequest:
    """What a request's signature says: enough to look the key up, then to verify."""

    scheme: str  # "cavage" or "rfc9421"
    key_id: str
    algorithm: str | None
    covered: tuple[str, ...]
    base: bytes
    signature: bytes
    created: int | None = None
    expires: int | None = None


# -- keys -------------------------------------------------------------------------------------------


def _pem_bytes(pem: str) -> bytes:
    # Akkoma ends PEMs with a blank line; some servers send \r\n. Neither changes the key.
    return pem.replace("\r\n", "\n").strip().encode() + b"\n"


def load_public_key(pem: str) -> Any:
    """A public key object from SPKI or PKCS#1 PEM text; ValueError when it is not one."""
    try:
        key = serialization.load_pem_public_key(_pem_bytes(pem))
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise ValueError(f"not a usable public key: {e}") from e
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise ValueError(f"unsupported key type {type(key).__name__}")
    return key


@functools.lru_cache(maxsize=16)
def load_private_key(pem: str) -> Any:
    """The private key in `pem`. Loading checks the RSA key's numbers (about 36 ms for 2048 bits), so a key is
    loaded once per process: every runtime and command that opens the same data dir shares the key object
    (immutable, safe across threads)."""
    try:
        return serialization.load_pem_private_key(_pem_bytes(pem), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise ValueError(f"not a usable private key: {e}") from e


# -- digests ----------------------------------------------------------------------------------------


def body_digest(body: bytes) -> str:
    """The draft-cavage `Digest` header value (RFC 3230): SHA-256=<base64>."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def content_digest(body: bytes) -> str:
    """The RFC 9530 `Content-Digest` header value: sha-256=:<base64>:."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def _check_legacy_digest(value: str, body: bytes) -> None:
    """Digest: SHA-256=..., possibly several comma-separated; every one we know must match, one at least."""
    known = 0
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        algorithm = _DIGESTS.get(name.strip().lower())
        if not sep or algorithm is None:
            continue
        known += 1
        if encoded.strip() != base64.b64encode(algorithm(body).digest()).decode():
            raise SignatureError("digest-mismatch")
    if not known:
        raise SignatureError("digest-missing", "no SHA-256 or SHA-512 digest")


def _check_content_digest(value: str, body: bytes) -> None:
    known = 0
    try:
        members = parse_sf_dictionary(value)
    except ValueError as e:
        raise SignatureError("digest-missing", f"malformed Content-Digest: {e}") from e
    for name, (item, _) in members.items():
        algorithm = _DIGESTS.get(name)
        if algorithm is None or not isinstance(item, bytes):
            continue
        known += 1
        if item != algorithm(body).digest():
            raise SignatureError("digest-mismatch")
    if not known:
        raise SignatureError("digest-missing", "no sha-256 or sha-512 Content-Digest")


# -- helpers shared by both schemes ------------------------------------------------------------------


# Request headers as the signature code reads them: aiohttp's (a proxy) or our own.
Headers = CIMultiDict[str] | CIMultiDictProxy[str]


def _headers(headers: Mapping[str, str]) -> Headers:
    """Case-insensitive headers; a request's own (a proxy) are used as they are, not copied."""
    return headers if isinstance(headers, CIMultiDict | CIMultiDictProxy) else CIMultiDict(headers)


def _header_value(headers: Headers, name: str) -> str | None:
    values = headers.getall(name, [])
    if not values:
        return None
    return ", ".join(v.strip() for v in values)


def _request_target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _authority(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def _host_header(url: str) -> str:
    return _authority(url)


def _check_host(headers: Headers, url: str) -> None:
    """The request's Host must be the authority of the URL we answer for (our base URL): a request signed for
    another server (a GET we or a partner made to someone's URL, replayed here) is not ours to accept."""
    value = _header_value(headers, "host")
    if value is None:
        return  # no Host at all (HTTP/1.0): the signature's own rules below decide
    scheme = urlsplit(url).scheme
    try:
        claimed = urlsplit(f"{scheme}://{value.strip()}")
        claimed_port = claimed.port
    except ValueError as e:
        raise SignatureError("host-mismatch", "unparseable Host") from e
    ours = urlsplit(url)
    default = {"http": 80, "https": 443}.get(scheme)
    if (claimed.hostname or "", claimed_port or default) != (ours.hostname or "", ours.port or default) or (
        claimed.path or claimed.query or claimed.username
    ):
        raise SignatureError("host-mismatch", f"signed for {value.strip()[:100]}, this is {_authority(url)}")


def _check_fresh(moment: datetime, now: datetime, max_skew: timedelta) -> None:
    if now - moment > max_skew:
        raise SignatureError("date-skew", f"{moment.isoformat()} is more than {max_skew} old")
    if moment - now > MAX_FUTURE:
        raise SignatureError("date-skew", f"{moment.isoformat()} is more than {MAX_FUTURE} ahead")


# Every request of one second carries the same Date: parse each string once.
_parse_http_date = functools.lru_cache(maxsize=256)(parsedate_to_datetime)


# -- draft-cavage-12 ----------------------------------------------------------------------------------

# A quoted value is matched "unrolled" (a run of plain characters, then any escape and its next run): the
# plain alternation `(?:[^"\\]|\\.)*` steps the regex engine once per character over a 344-character base64
# signature, a tenth of the inbox's CPU under load; the unrolled form accepts exactly the same strings.
_CAVAGE_PARAM_RE = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([0-9.]+))\s*(?:,|$)')


def _parse_cavage_params(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    pos = 0
    while pos < len(value):
        match = _CAVAGE_PARAM_RE.match(value, pos)
        if not match:
            raise SignatureError("malformed-signature", "unparseable Signature header")
        quoted, bare = match.group(2), match.group(3)
        params[match.group(1)] = quoted if quoted is not None else bare
        pos = match.end()
    return params


def _cavage_string(
    method: str,
    url: str,
    headers: Headers,
    names: list[str],
    created: str | None,
    expires: str | None,
) -> bytes:
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {_request_target(url)}")
        elif name == "(created)":
            if created is None:
                raise SignatureError("malformed-signature", "(created) signed without a created parameter")
            lines.append(f"(created): {created}")
        elif name == "(expires)":
            if expires is None:
                raise SignatureError("malformed-signature", "(expires) signed without an expires parameter")
            lines.append(f"(expires): {expires}")
        else:
            value = _header_value(headers, name)
            if value is None:
                raise SignatureError("malformed-signature", f"signed header {name} is missing")
            lines.append(f"{name}: {value}")
    return "\n".join(lines).encode()


_LAST_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z


def _check_timestamps(created: int | None, expires: int | None) -> None:
    """A peer's number may be any size, but a datetime holds only the years 1-9999."""
    if any(t is not None and not 0 <= t <= _LAST_TIMESTAMP for t in (created, expires)):
        raise SignatureError("malformed-signature", "created/expires out of range")


def _read_cavage(method: str, url: str, headers: Headers, value: str) -> SignedRequest:
    params = _parse_cavage_params(value)
    key_id, signature = params.get("keyId"), params.get("signature")
    if not key_id or not signature:
        raise SignatureError("malformed-signature", "keyId and signature are required")
    names = params.get("headers", "date").lower().split()
    if not names:
        raise SignatureError("malformed-signature", "empty headers list")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except ValueError as e:
        raise SignatureError("malformed-signature", "signature is not base64") from e
    created, expires = params.get("created"), params.get("expires")
    try:
        created_at = int(float(created)) if created else None
        expires_at = int(float(expires)) if expires else None
    except (ValueError, OverflowError) as e:  # OverflowError: "inf"
        raise SignatureError("malformed-signature", "bad created/expires") from e
    _check_timestamps(created_at, expires_at)
    return SignedRequest(
        scheme="cavage",
        key_id=key_id,
        algorithm=params.get("algorithm", "").lower() or None,
        covered=tuple(names),
        base=_cavage_string(method, url, headers, names, created, expires),
        signature=raw_signature,
        created=created_at,
        expires=expires_at,
    )


def sign_request(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    private_key: Any,
    now: datetime,
    headers: Mapping[str, str] | None = None,
    digest: str | None = None,
) -> dict[str, str]:
    """Headers that sign a request the way Mastodon verifies it (draft-cavage-12, rsa-sha256).

    Signs `(request-target) host date`, plus `digest` with a body and every header passed in `headers`
    (callers pass Content-Type on POSTs and Accept on GETs). `digest` is `body_digest(body)` when the caller
    already has it (one activity POSTed to many inboxes); it is not checked against the body.
    """
    out = {"Host": _host_header(url), "Date": format_datetime(now.astimezone(UTC), usegmt=True)}
    names = ["(request-target)", "host", "date"]
    if body is not None:
        out["Digest"] = digest if digest is not None else body_digest(body)
        names.append("digest")
    extra = CIMultiDict(headers or {})
    for name in extra:
        lowered = name.lower()
        if lowered not in names:
            names.append(lowered)
    merged = CIMultiDict(out)
    merged.extend(extra)
    signing_string = _cavage_string(method, url, merged, names, None, None)
    signature = private_key.sign(signing_string, padding.PKCS1v15(), hashes.SHA256())
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    return out


# -- RFC 9421 -----------------------------------------------------------------------------------------


def _component_value(name: str, params: dict[str, Any], method: str, url: str, headers: Headers) -> str:
    parts = urlsplit(url)
    if name.startswith("@"):
        if name == "@method":
            return method.upper()
        if name == "@target-uri":
            return url
        if name == "@authority":
            return _authority(url)
        if name == "@scheme":
            return parts.scheme.lower()
        if name == "@request-target":
            return _request_target(url)
        if name == "@path":
            return parts.path or "/"
        if name == "@query":
            return f"?{parts.query}"
        if name == "@query-param":
            wanted = params.get("name")
            if not isinstance(wanted, str):
                raise SignatureError("malformed-signature", "@query-param needs a name")
            for pair in parts.query.split("&"):
                key, _, value = pair.partition("=")
                if unquote(key.replace("+", " ")) == wanted:
                    return quote(unquote(value.replace("+", " ")), safe="")
            raise SignatureError("malformed-signature", f"query parameter {wanted} is missing")
        raise SignatureError("malformed-signature", f"unsupported component {name}")
    if set(params) - {"req"}:
        raise SignatureError("malformed-signature", f"unsupported parameters on {name}")
    header = _header_value(headers, name)
    if header is None:
        raise SignatureError("malformed-signature", f"signed header {name} is missing")
    return header


def _rfc9421_base(
    method: str,
    url: str,
    headers: Headers,
    items: list[tuple[Any, dict[str, Any]]],
    params: dict[str, Any],
) -> bytes:
    lines = []
    seen = set()
    for item, item_params in items:
        if not isinstance(item, str) or isinstance(item, Token):
            raise SignatureError("malformed-signature", "component identifiers must be strings")
        identifier = serialize_bare(item) + serialize_params(item_params)
        if identifier in seen:
            raise SignatureError("malformed-signature", f"component {identifier} listed twice")
        seen.add(identifier)
        value = _component_value(item, item_params, method, url, headers)
        lines.append(f"{identifier}: {value}")
    lines.append(f'"@signature-params": {serialize_inner_list(items, params)}')
    return "\n".join(lines).encode()


def _read_rfc9421(method: str, url: str, headers: Headers) -> SignedRequest:
    try:
        inputs = parse_sf_dictionary(_header_value(headers, "signature-input") or "")
        signatures = parse_sf_dictionary(_header_value(headers, "signature") or "")
    except ValueError as e:
        raise SignatureError("malformed-signature", str(e)) from e
    labels = [label for label in inputs if label in signatures]
    if not labels:
        raise SignatureError("missing-signature", "no Signature for any Signature-Input label")
    label = "sig1" if "sig1" in labels else labels[0]
    items, params = inputs[label]
    signature, _ = signatures[label]
    if not isinstance(items, list) or not isinstance(signature, bytes):
        raise SignatureError("malformed-signature", "Signature-Input must be an inner list, Signature bytes")
    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError("malformed-signature", "keyid parameter is required")
    created, expires = params.get("created"), params.get("expires")
    if (created is not None and not isinstance(created, int)) or (
        expires is not None and not isinstance(expires, int)
    ):
        raise SignatureError("malformed-signature", "created/expires must be integers")
    _check_timestamps(created, expires)
    alg = params.get("alg")
    return SignedRequest(
        scheme="rfc9421",
        key_id=key_id,
        algorithm=alg if isinstance(alg, str) else None,
        covered=tuple(str(item).lower() for item, _ in items),
        base=_rfc9421_base(method, url, headers, items, params),
        signature=signature,
        created=created,
        expires=expires,
    )


def sign_request_rfc9421(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    private_key: Any,
    now: datetime,
    headers: Mapping[str, str] | None = None,
    algorithm: str = "rsa-v1_5-sha256",
    label: str = "sig1",
) -> dict[str, str]:
    """Headers for an RFC 9421 signature over @method, @target-uri, content-digest and content-type."""
    out: dict[str, str] = {}
    merged = CIMultiDict(headers or {})
    items: list[tuple[Any, dict[str, Any]]] = [("@method", {}), ("@target-uri", {})]
    if body is not None:
        out["Content-Digest"] = content_digest(body)
        merged["Content-Digest"] = out["Content-Digest"]
        items.append(("content-digest", {}))
    if "content-type" in merged:
        items.append(("content-type", {}))
    params: dict[str, Any] = {"created": int(now.timestamp()), "keyid": key_id, "alg": algorithm}
    base = _rfc9421_base(method, url, merged, items, params)
    signature = _sign_with(algorithm, private_key, base)
    out["Signature-Input"] = f"{label}={serialize_inner_list(items, params)}"
    out["Signature"] = f"{label}=:{base64.b64encode(signature).decode()}:"
    return out


def _sign_with(algorithm: str, key: Any, data: bytes) -> bytes:
    signature: bytes
    if algorithm == "rsa-v1_5-sha256":
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif algorithm == "rsa-pss-sha512":
        signature = key.sign(data, padding.PSS(padding.MGF1(hashes.SHA512()), 64), hashes.SHA512())
    elif algorithm == "ecdsa-p256-sha256":
        r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif algorithm == "ed25519":
        signature = key.sign(data)
    else:
        raise SignatureError("unsupported-algorithm", algorithm)
    return signature


# -- reading and checking a request ------------------------------------------------------------------


def read_signature(method: str, url: str, headers: Mapping[str, str]) -> SignedRequest:
    """The request's signature and rebuilt signing string, without judging it (see parse_request)."""
    h = _headers(headers)
    if "signature-input" in h:
        return _read_rfc9421(method, url, h)
    value = _header_value(h, "signature")
    if value is None:
        auth = h.get("authorization", "")
        if auth[:10].lower() == "signature ":
            value = auth[10:]
    if not value:
        raise SignatureError("missing-signature")
    return _read_cavage(method, url, h, value)


def parse_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    now: datetime,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> SignedRequest:
    """Read the signature and apply our rules; `url` is the absolute URL the client addressed."""
    h = _headers(headers)
    has_body = bool(body)
    if (
        has_body
        and "digest" not in h
        and "content-digest" not in h
        and ("signature" in h or "signature-input" in h)
    ):
        raise SignatureError("digest-missing")
    signed = read_signature(method, url, h)
    covered = set(signed.covered)
    _check_host(h, url)
    if signed.scheme == "cavage":
        if "(request-target)" not in covered or "host" not in covered:
            raise SignatureError("headers-not-covered", "(request-target) and host must be signed")
        if has_body:
            digest = _header_value(h, "digest")
            if digest is None:
                raise SignatureError("digest-missing")
            if "digest" not in covered:
                raise SignatureError("digest-not-covered")
            _check_legacy_digest(digest, body or b"")
        # Freshness must be signed: a `created` parameter outside the covered list is anyone's to set.
        if "date" not in covered and "(created)" not in covered:
            raise SignatureError("date-missing", "neither date nor (created) is signed")
        if "date" in covered:
            date = _header_value(h, "date")
            try:
                moment = _parse_http_date(date or "")
            except (TypeError, ValueError) as e:
                raise SignatureError("date-missing", "unparseable Date") from e
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            _check_fresh(moment, now, max_skew)
    else:
        if "@method" not in covered or not (
            "@target-uri" in covered or ("@authority" in covered and covered & {"@path", "@request-target"})
        ):
            raise SignatureError("headers-not-covered", "@method and the target URI must be signed")
        if has_body:
            digest = _header_value(h, "content-digest")
            if digest is None:
                raise SignatureError("digest-missing")
            if "content-digest" not in covered:
                raise SignatureError("digest-not-covered")
            _check_content_digest(digest, body or b"")
        if signed.created is None:  # the parameters are part of what RFC 9421 signs
            raise SignatureError("date-missing", "created parameter is required")
    if signed.created is not None:
        _check_fresh(datetime.fromtimestamp(signed.created, UTC), now, max_skew)
    if signed.expires is not None and datetime.fromtimestamp(signed.expires, UTC) < now:
        raise SignatureError("expired")
    return signed


# -- verifying ----------------------------------------------------------------------------------------


def verify(request: SignedRequest, public_key: Any, allow_weak_keys: bool = False) -> None:
    """Check the signature with the key; raises SignatureError, returns None when it is good."""
    kind = _key_kind(public_key)
    if kind == "rsa" and public_key.key_size < MIN_RSA_BITS and not allow_weak_keys:
        raise SignatureError("weak-key", f"{public_key.key_size}-bit RSA")
    for check in _checks(request, kind):
        try:
            check(public_key, request.signature, request.base)
            return
        except InvalidSignature:
            continue
    raise SignatureError("bad-signature")


_KEY_KINDS: dict[type, str] = {}


def _key_kind(key: Any) -> str:
    """rsa, ec, ed25519 or other; by the key's class, remembered (the abstract-class checks are slow)."""
    kind = _KEY_KINDS.get(type(key))
    if kind is None:
        if isinstance(key, rsa.RSAPublicKey):
            kind = "rsa"
        elif isinstance(key, ec.EllipticCurvePublicKey):
            kind = "ec"
        elif isinstance(key, ed25519.Ed25519PublicKey):
            kind = "ed25519"
        else:
            kind = "other"
        _KEY_KINDS[type(key)] = kind
    return kind


Check = Callable[[Any, bytes, bytes], None]


def _rsa_pkcs_sha256(key: Any, sig: bytes, data: bytes) -> None:
    key.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())


def _rsa_pkcs_sha512(key: Any, sig: bytes, data: bytes) -> None:
    key.verify(sig, data, padding.PKCS1v15(), hashes.SHA512())


def _rsa_pss(key: Any, sig: bytes, data: bytes) -> None:
    key.verify(sig, data, padding.PSS(padding.MGF1(hashes.SHA512()), 64), hashes.SHA512())


def _ecdsa_raw(key: Any, sig: bytes, data: bytes) -> None:
    if len(sig) != 64:
        raise InvalidSignature()
    der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    key.verify(der, data, ec.ECDSA(hashes.SHA256()))


def _ecdsa_der(key: Any, sig: bytes, data: bytes) -> None:
    key.verify(sig, data, ec.ECDSA(hashes.SHA256()))


def _ed25519(key: Any, sig: bytes, data: bytes) -> None:
    key.verify(sig, data)


# Declared algorithm -> (the key kind it needs, the checks to try).
_BY_ALGORITHM: dict[str, tuple[str, tuple[Check, ...]]] = {
    "rsa-sha256": ("rsa", (_rsa_pkcs_sha256,)),
    "rsa-sha512": ("rsa", (_rsa_pkcs_sha512,)),
    "rsa-v1_5-sha256": ("rsa", (_rsa_pkcs_sha256,)),
    "rsa-pss-sha512": ("rsa", (_rsa_pss,)),
    "ecdsa-p256-sha256": ("ec", (_ecdsa_raw,)),
    "ed25519": ("ed25519", (_ed25519,)),
}


def _checks(request: SignedRequest, kind: str) -> tuple[Check, ...]:
    """The verifications to try, in order, for the declared algorithm and the key's kind."""
    alg = (request.algorithm or "").lower()
    declared = _BY_ALGORITHM.get(alg)
    if declared is not None:
        needed, checks = declared
        if needed != kind:
            raise SignatureError("unsupported-algorithm", f"{alg} with a {kind} key")
        return checks
    if alg in ("", "hs2019"):
        # "hs2019" (and a 9421 signature without alg) means: the algorithm follows from the key.
        if kind == "rsa":
            return (_rsa_pkcs_sha256, _rsa_pss, _rsa_pkcs_sha512)
        if kind == "ec":
            return (_ecdsa_raw, _ecdsa_der) if request.scheme == "rfc9421" else (_ecdsa_der, _ecdsa_raw)
        if kind == "ed25519":
            return (_ed25519,)
    raise SignatureError("unsupported-algorithm", alg or "none")
