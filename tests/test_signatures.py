"""HTTP signatures against published vectors (RFC 9421 appendix B, draft-cavage-12 appendix C, a
Mastodon-style request), plus tampering: each broken part fails with its own reason."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from fedgroup.protocol import signatures
from fedgroup.protocol.signatures import SignatureError

VECTORS = Path(__file__).parent / "fixtures" / "signatures"
RFC = json.loads((VECTORS / "rfc9421_examples.json").read_text())
RFC_KEYS = json.loads((VECTORS / "rfc9421_keys.json").read_text())
CAVAGE = json.loads((VECTORS / "cavage12_examples.json").read_text())
MASTODON = json.loads((VECTORS / "mastodon_style_post.json").read_text())
RFC_CREATED = datetime.fromtimestamp(1618884473, UTC)


def rfc_example(name: str) -> dict:
    return next(e for e in RFC["examples"] if e["name"].startswith(name))


def rfc_request_headers(example: dict) -> list[tuple[str, str]]:
    return [
        *map(tuple, RFC["request"]["headers"]),
        ("Signature-Input", example["signature_input_header"]),
        ("Signature", example["signature_header"]),
    ]


# -- RFC 9421 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["B.2.1", "B.2.2", "B.2.3", "B.2.6"])
def test_rfc9421_request_examples_rebuild_the_base_and_verify(name):
    example = rfc_example(name)
    from multidict import CIMultiDict

    headers = CIMultiDict(rfc_request_headers(example))
    signed = signatures.read_signature(RFC["request"]["method"], RFC["request"]["target_uri"], headers)
    assert signed.scheme == "rfc9421"
    assert signed.key_id == example["keyid"]
    assert signed.base.decode() == example["signature_base"]
    key = signatures.load_public_key(RFC_KEYS[example["keyid"]]["public_key_pem"])
    # The examples carry no alg parameter (B.2.1-B.2.3): the algorithm follows from the key type;
    # for the RSA key that means trying PKCS#1 and PSS.
    signatures.verify(signed, key)


def test_rfc9421_full_coverage_passes_our_rules_at_its_created_time():
    example = rfc_example("B.2.3")
    from multidict import CIMultiDict

    headers = CIMultiDict(rfc_request_headers(example))
    body = RFC["request"]["body"].encode()
    # B.2.3 covers @method, @path and @authority, and the sha-512 Content-Digest of the body.
    signed = signatures.parse_request("POST", RFC["request"]["target_uri"], headers, body, RFC_CREATED)
    signatures.verify(signed, signatures.load_public_key(RFC_KEYS["test-key-rsa-pss"]["public_key_pem"]))
    with pytest.raises(SignatureError) as e:
        signatures.parse_request("POST", RFC["request"]["target_uri"], headers, body + b" ", RFC_CREATED)
    assert e.value.reason == "digest-mismatch"
    with pytest.raises(SignatureError) as e:
        signatures.parse_request(
            "POST", RFC["request"]["target_uri"], headers, body, RFC_CREATED + timedelta(hours=13)
        )
    assert e.value.reason == "date-skew"


def test_rfc9421_minimal_example_does_not_pass_our_coverage_rule():
    example = rfc_example("B.2.1")
    with pytest.raises(SignatureError) as e:
        signatures.parse_request(
            "POST",
            RFC["request"]["target_uri"],
            dict(rfc_request_headers(example)),
            RFC["request"]["body"].encode(),
            RFC_CREATED,
        )
    assert e.value.reason == "headers-not-covered"


def test_rfc9421_response_example_base_and_ecdsa_signature():
    """B.2.4 signs a response (@status); we only verify requests, but the ECDSA raw r||s form is the same."""
    example = rfc_example("B.2.4")
    key = signatures.load_public_key(RFC_KEYS["test-key-ecc-p256"]["public_key_pem"])
    signed = signatures.SignedRequest(
        scheme="rfc9421",
        key_id=example["keyid"],
        algorithm="ecdsa-p256-sha256",
        covered=(),
        base=example["signature_base"].encode(),
        signature=base64.b64decode(example["signature"]),
    )
    signatures.verify(signed, key)
    tampered = signatures.SignedRequest(**{**signed.__dict__, "base": signed.base.replace(b"200", b"201")})
    with pytest.raises(SignatureError) as e:
        signatures.verify(tampered, key)
    assert e.value.reason == "bad-signature"


def test_rfc9421_hmac_is_not_accepted():
    example = rfc_example("B.2.5")
    signed = signatures.read_signature(
        "POST", RFC["request"]["target_uri"], dict(rfc_request_headers(example))
    )
    key = signatures.load_public_key(RFC_KEYS["test-key-rsa"]["public_key_pem"])
    with pytest.raises(SignatureError):
        signatures.verify(signed, key)


@pytest.mark.parametrize(
    "algorithm,key_name",
    [
        ("rsa-v1_5-sha256", "test-key-rsa"),
        ("ed25519", "test-key-ed25519"),
        ("ecdsa-p256-sha256", "test-key-ecc-p256"),
    ],
)
def test_rfc9421_sign_round_trip(algorithm, key_name):
    now = datetime(2026, 11, 21, 18, 4, 5, tzinfo=UTC)
    url = "https://fedgroup.example:8443/groups/water/inbox"
    body = b'{"type":"Follow"}'
    private = signatures.load_private_key(RFC_KEYS[key_name]["private_key_pem"])
    headers = {"Content-Type": "application/activity+json"}
    headers.update(
        signatures.sign_request_rfc9421(
            "POST", url, body, "k", private, now, headers=headers, algorithm=algorithm
        )
    )
    signed = signatures.parse_request("POST", url, headers, body, now)
    assert signed.covered == ("@method", "@target-uri", "content-digest", "content-type")
    signatures.verify(signed, signatures.load_public_key(RFC_KEYS[key_name]["public_key_pem"]))


def test_rfc9421_expired_signature():
    now = datetime(2026, 11, 21, tzinfo=UTC)
    private = signatures.load_private_key(RFC_KEYS["test-key-ed25519"]["private_key_pem"])
    headers = signatures.sign_request_rfc9421(
        "GET", "https://a.example/x", None, "k", private, now, algorithm="ed25519"
    )
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        ";keyid", f";expires={int(now.timestamp()) - 5};keyid"
    )
    with pytest.raises(SignatureError) as e:
        signatures.parse_request("GET", "https://a.example/x", headers, None, now)
    assert e.value.reason == "expired"


# -- draft-cavage-12 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case_name", ["C.2", "C.3"])
def test_cavage_appendix_c(case_name):
    case = next(c for c in CAVAGE["cases"] if c["name"].startswith(case_name))
    request = CAVAGE["request"]
    url = "https://example.com" + request["path_and_query"]
    headers = [*map(tuple, request["headers"]), ("Signature", case["signature_header"])]
    signed = signatures.read_signature(request["method"], url, dict(headers))
    assert signed.base.decode() == case["signing_string"]
    key = signatures.load_public_key(CAVAGE["public_key_pem"])
    signatures.verify(signed, key, allow_weak_keys=True)
    with pytest.raises(SignatureError) as e:
        signatures.verify(signed, key)
    assert e.value.reason == "weak-key", "1024-bit keys are refused unless a test allows them"
    # PKCS#1 v1.5 is deterministic: signing the same string gives the vector's signature byte for byte.
    private = signatures.load_private_key(CAVAGE["private_key_pem_pkcs1"])
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    assert (
        base64.b64encode(private.sign(signed.base, padding.PKCS1v15(), hashes.SHA256())).decode()
        == case["signature"]
    )


def test_cavage_default_headers_sign_date_only():
    case = next(c for c in CAVAGE["cases"] if c["name"].startswith("C.1"))
    request = CAVAGE["request"]
    headers = [*map(tuple, request["headers"]), ("Signature", case["signature_header"])]
    signed = signatures.read_signature("POST", "https://example.com/foo?param=value&pet=dog", dict(headers))
    assert signed.base.decode() == case["signing_string"]
    signatures.verify(signed, signatures.load_public_key(CAVAGE["public_key_pem"]), allow_weak_keys=True)


def mastodon_post(**changes) -> tuple[dict[str, str], bytes]:
    post = MASTODON["post"]
    headers = dict(post["headers"])
    headers.update(changes)
    return headers, post["body"].encode()


VERIFY_AT = parsedate_to_datetime(MASTODON["verify_at"])
ALICE = signatures.load_public_key(MASTODON["public_key_pem"])


@pytest.mark.parametrize("spelling", ["signature_header", "signature_header_hs2019"])
def test_mastodon_style_post_verifies(spelling):
    headers, body = mastodon_post(Signature=MASTODON["post"][spelling])
    signed = signatures.parse_request("POST", MASTODON["post"]["url"], headers, body, VERIFY_AT)
    assert signed.base.decode() == MASTODON["post"]["signing_string"]
    assert signed.key_id == MASTODON["key_id"]
    signatures.verify(signed, ALICE)


def test_mastodon_style_get_verifies():
    get = MASTODON["get"]
    signed = signatures.parse_request(
        "GET", "https://fedgroup.example" + get["path"], dict(get["headers"]), None, VERIFY_AT
    )
    assert signed.base.decode() == get["signing_string"]
    signatures.verify(signed, ALICE)


@pytest.mark.parametrize("index,reason", [(0, "digest-mismatch"), (1, "bad-signature"), (2, "date-skew")])
def test_mastodon_tamper_cases(index, reason):
    case = MASTODON["post"]["tamper_cases"][index]
    headers, body = mastodon_post()
    change = case["change"]
    if "body" in change:
        body = change["body"].encode()
    if "digest_header" in change:
        headers["Digest"] = change["digest_header"]
    if "date" in change:
        headers["Date"] = change["date"]
    with pytest.raises(SignatureError) as e:
        signed = signatures.parse_request("POST", MASTODON["post"]["url"], headers, body, VERIFY_AT)
        signatures.verify(signed, ALICE)
    assert e.value.reason == reason, case["name"]


def test_each_tampering_fails_with_its_own_reason():
    url = MASTODON["post"]["url"]
    cases = {
        "bad-signature": mastodon_post(**{"Content-Type": "application/json"}),
        "missing-signature": (
            {k: v for k, v in mastodon_post()[0].items() if k != "Signature"},
            mastodon_post()[1],
        ),
        "malformed-signature": mastodon_post(Signature="garbage"),
        "digest-missing": (
            {k: v for k, v in mastodon_post()[0].items() if k != "Digest"},
            mastodon_post()[1],
        ),
    }
    for reason, (headers, body) in cases.items():
        with pytest.raises(SignatureError) as e:
            signatures.verify(signatures.parse_request("POST", url, headers, body, VERIFY_AT), ALICE)
        assert e.value.reason == reason
    # the right signature checked against another actor's key
    other = signatures.load_public_key(RFC_KEYS["test-key-rsa"]["public_key_pem"])
    headers, body = mastodon_post()
    with pytest.raises(SignatureError) as e:
        signatures.verify(signatures.parse_request("POST", url, headers, body, VERIFY_AT), other)
    assert e.value.reason == "bad-signature"
    # a valid RSA signature with an Ed25519 key declared rsa-sha256
    with pytest.raises(SignatureError) as e:
        signatures.verify(
            signatures.parse_request("POST", url, headers, body, VERIFY_AT),
            ed25519.Ed25519PrivateKey.generate().public_key(),
        )
    assert e.value.reason == "unsupported-algorithm"


def test_a_post_signed_without_the_digest_is_refused():
    private = signatures.load_private_key(MASTODON["private_key_pem"])
    now = VERIFY_AT
    url = "https://fedgroup.example/inbox"
    body = b"{}"
    headers = signatures.sign_request("GET", url, None, "k", private, now)  # signs no digest
    headers["Digest"] = signatures.body_digest(body)
    with pytest.raises(SignatureError) as e:
        signatures.parse_request("POST", url, headers, body, now)
    assert e.value.reason == "digest-not-covered"


def test_missing_host_coverage_is_refused():
    headers, body = mastodon_post(Signature=MASTODON["post"]["signature_header"].replace(" host", ""))
    with pytest.raises(SignatureError) as e:
        signatures.parse_request("POST", MASTODON["post"]["url"], headers, body, VERIFY_AT)
    assert e.value.reason == "headers-not-covered"


# -- our own signing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["https://a.example/inbox", "http://127.0.0.1:8123/groups/water/inbox?x=1"])
def test_sign_request_round_trips_and_matches_mastodons_header_set(url):
    private = signatures.load_private_key(MASTODON["private_key_pem"])
    now = datetime(2026, 11, 21, 18, 4, 5, tzinfo=UTC)
    body = b'{"a":1}'
    headers = {"Content-Type": "application/activity+json"}
    headers.update(
        signatures.sign_request("POST", url, body, MASTODON["key_id"], private, now, headers=headers)
    )
    assert 'headers="(request-target) host date digest content-type"' in headers["Signature"]
    assert 'algorithm="rsa-sha256"' in headers["Signature"]
    assert headers["Date"] == "Sat, 21 Nov 2026 18:04:05 GMT"
    assert headers["Digest"] == signatures.body_digest(body)
    signatures.verify(signatures.parse_request("POST", url, headers, body, now), ALICE)
    get_headers = {"Accept": "application/activity+json"}
    get_headers.update(signatures.sign_request("GET", url, None, "k", private, now, headers=get_headers))
    assert 'headers="(request-target) host date accept"' in get_headers["Signature"]
    signatures.verify(signatures.parse_request("GET", url, get_headers, None, now), ALICE)


def test_pems_with_blank_lines_and_crlf_load():
    pem = MASTODON["public_key_pem"]
    assert signatures.load_public_key(pem + "\n\n").public_numbers() == ALICE.public_numbers()
    assert signatures.load_public_key(pem.replace("\n", "\r\n")).public_numbers() == ALICE.public_numbers()
    with pytest.raises(ValueError):
        signatures.load_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")


def test_content_digest_format():
    assert (
        signatures.content_digest(b'{"hello": "world"}')
        == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    )


# -- freshness must be signed; the Host must be ours ------------------------------------------------------


def _cavage_header(private, names: list[str], lines: list[str], extra: str = "") -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signature = private.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    return (
        f'keyId="k",algorithm="rsa-sha256"{extra},headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )


def test_a_created_parameter_outside_the_signed_list_proves_no_freshness():
    """A signature over neither `date` nor `(created)` can be replayed for ever; a `created` parameter that
    is not signed is anyone's to set, so it proves nothing."""
    private = signatures.load_private_key(MASTODON["private_key_pem"])
    url, body, now = "https://fedgroup.example/inbox", b"{}", VERIFY_AT
    digest = signatures.body_digest(body)
    names = ["(request-target)", "host", "digest"]
    lines = ["(request-target): post /inbox", "host: fedgroup.example", f"digest: {digest}"]
    created = int(now.timestamp())
    headers = {"Host": "fedgroup.example", "Digest": digest}
    headers["Signature"] = _cavage_header(private, names, lines, f",created={created}")
    signed = signatures.read_signature("POST", url, headers)
    signatures.verify(signed, ALICE)  # the signature itself is good: only its freshness is unproven
    with pytest.raises(SignatureError) as e:
        signatures.parse_request("POST", url, headers, body, now)
    assert e.value.reason == "date-missing"
    # The same with (created) signed is fresh, and refused once too old.
    names = ["(request-target)", "host", "(created)", "digest"]
    lines = [*lines[:2], f"(created): {created}", lines[2]]
    headers["Signature"] = _cavage_header(private, names, lines, f",created={created}")
    signatures.verify(signatures.parse_request("POST", url, headers, body, now), ALICE)
    with pytest.raises(SignatureError) as e:
        signatures.parse_request("POST", url, headers, body, now + timedelta(hours=13))
    assert e.value.reason == "date-skew"


def test_rfc9421_without_created_is_refused():
    private = signatures.load_private_key(RFC_KEYS["test-key-ed25519"]["private_key_pem"])
    now = datetime(2026, 11, 21, tzinfo=UTC)
    headers = signatures.sign_request_rfc9421(
        "GET", "https://a.example/x", None, "k", private, now, algorithm="ed25519"
    )
    headers["Signature-Input"] = headers["Signature-Input"].replace(f";created={int(now.timestamp())}", "")
    assert "created" not in headers["Signature-Input"]
    with pytest.raises(SignatureError) as e:
        signatures.parse_request("GET", "https://a.example/x", headers, None, now)
    assert e.value.reason == "date-missing"


@pytest.mark.parametrize(
    "host,ok",
    [
        ("fedgroup.example", True),
        ("FedGroup.Example", True),
        ("fedgroup.example:443", True),
        ("other.example", False),
        ("fedgroup.example:8443", False),
        ("fedgroup.example.evil.example", False),
    ],
)
def test_the_signed_host_must_be_ours(host, ok):
    """A request signed for another server (here: its Host) is refused before any key is looked up, for
    cavage (which signs the Host header) and RFC 9421 (which signs @authority or @target-uri)."""
    private = signatures.load_private_key(MASTODON["private_key_pem"])
    ours = "https://fedgroup.example/campaigns/1"
    now = VERIFY_AT
    for sign in (signatures.sign_request, signatures.sign_request_rfc9421):
        headers = sign("GET", f"https://{host}/campaigns/1", None, "k", private, now)
        headers["Host"] = host
        if ok:  # the same host spelled otherwise passes this rule (what was signed over it is another matter)
            signed = signatures.parse_request("GET", ours, headers, None, now)
            if host == "fedgroup.example":
                signatures.verify(signed, ALICE)
        else:
            with pytest.raises(SignatureError) as e:
                signatures.parse_request("GET", ours, headers, None, now)
            assert e.value.reason == "host-mismatch", (sign.__name__, host)


def test_rfc9421_signed_for_another_authority_fails_even_with_our_host_header():
    private = signatures.load_private_key(MASTODON["private_key_pem"])
    headers = signatures.sign_request_rfc9421(
        "POST", "https://other.example/inbox", b"{}", "k", private, VERIFY_AT
    )
    headers["Host"] = "fedgroup.example"
    signed = signatures.parse_request("POST", "https://fedgroup.example/inbox", headers, b"{}", VERIFY_AT)
    with pytest.raises(SignatureError) as e:
        signatures.verify(signed, ALICE)
    assert e.value.reason == "bad-signature", "@target-uri is rebuilt from our own base URL"
