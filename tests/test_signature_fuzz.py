"""The RFC 9421 Signature-Input and Signature headers are read with our own RFC 8941 structured-field
parser. Whatever a peer puts in them, reading and checking the request fails only with SignatureError (a
401 with a reason), never with another exception (a 500)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fedgroup.protocol import signatures, structured_fields

URL = "https://group.example/groups/water/inbox"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
BODY = b'{"type":"Follow"}'

# The characters structured fields are made of, with the odd ones a hostile peer would add.
SF_CHARACTERS = st.sampled_from(list('sig1=(" );:,@-_.*?!#$%&\'+^`|~/\\=0123456789abcdefxyzABCZ\t\x7f\x00é٣') + ["created", "keyid", "alg", "expires", "@method", "@target-uri", "@query-param", "content-digest", ";name=", "sig1=(", '"@method"'])  # fmt: skip
SF_TEXT = st.lists(SF_CHARACTERS, max_size=60).map("".join)

# Well-formed pieces, so that the fuzz also gets past the parser into what is built from its result.
COMPONENTS = st.sampled_from(['"@method"', '"@target-uri"', '"@authority"', '"@path"', '"@query"', '"@scheme"',
                              '"@request-target"', '"@query-param";name="a"', '"@query-param"', '"@status"',
                              '"content-digest"', '"content-type"', '"date"', '"host";req', '"x";bs', "@method",
                              '"@method"', ":AAAA:", "?1", "12", "1.5", "tok"])  # fmt: skip
PARAM_VALUES = st.one_of(
    st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1).map(str),
    st.sampled_from(['"https://peer.example/u#k"', '""', "?0", ":AAAA:", "1.25", "tok", '"rsa-v1_5-sha256"',
                     '"ed25519"', '"hmac-sha256"', '"rsa-pss-sha512"', '"ecdsa-p256-sha256"']),
)  # fmt: skip
PARAMS = st.lists(st.tuples(st.sampled_from(["created", "expires", "keyid", "alg", "nonce", "tag"]), PARAM_VALUES),
                  max_size=5).map(lambda ps: "".join(f";{k}={v}" for k, v in ps))  # fmt: skip
INNER_LIST = st.lists(COMPONENTS, max_size=6).map(lambda cs: "(" + " ".join(cs) + ")")
LABEL = st.sampled_from(["sig1", "sig2", "a", "*x"])
SIGNATURE_INPUT = st.one_of(
    SF_TEXT, st.builds(lambda label, inner, params: f"{label}={inner}{params}", LABEL, INNER_LIST, PARAMS)
)
SIGNATURE = st.one_of(SF_TEXT, st.builds(lambda label, b64: f"{label}=:{b64}:", LABEL,
                                         st.sampled_from(["", "AAAA", "AA==", "not base64", "QUJD"])))  # fmt: skip


def read(signature_input: str, signature: str, with_body: bool) -> None:
    headers = {"Host": "group.example", "Signature-Input": signature_input, "Signature": signature,
               "Content-Type": "application/activity+json", "Content-Digest": signatures.content_digest(BODY),
               "Date": "Thu, 01 Jan 2026 00:00:00 GMT"}  # fmt: skip
    try:
        signatures.parse_request("POST", URL + "?a=1", headers, BODY if with_body else None, NOW)
    except signatures.SignatureError:
        pass


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SIGNATURE_INPUT, SIGNATURE, st.booleans())
@example('sig1=("@method" "@target-uri");created=999999999999999;keyid="k"', "sig1=:AAAA:", False)
@example('sig1=("@method" "@target-uri");created=-999999999999999;keyid="k"', "sig1=:AAAA:", False)
@example(
    'sig1=("@method" "@target-uri");created=1767225600;expires=999999999999999;keyid="k"',
    "sig1=:AAAA:",
    False,
)
@example('sig1=("@method" ("@path"));keyid="k"', "sig1=:AAAA:", False)
@example('sig1=("@query-param";name=?1);created=1767225600;keyid="k"', "sig1=:AAAA:", False)
@example("sig1=(", "sig1=:AAAA:", False)
@example('sig1=("a\\', "sig1=:AAAA:", False)
@example("sig1=٣", "sig1=:AAAA:", False)
def test_any_signature_input_fails_only_with_signature_error(signature_input, signature, with_body):
    read(signature_input, signature, with_body)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_as_a_structured_dictionary_is_a_dictionary_or_a_value_error(text):
    try:
        parsed = structured_fields.parse_sf_dictionary(text)
    except ValueError:
        return
    assert isinstance(parsed, dict)


CAVAGE_NUMBERS = st.one_of(
    st.sampled_from(["inf", "-inf", "nan", "1e300", "-1e300", "1e20", "", "x", "1.5", "-1"]),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@settings(max_examples=200, deadline=None)
@given(CAVAGE_NUMBERS, CAVAGE_NUMBERS)
def test_any_cavage_created_or_expires_fails_only_with_signature_error(created, expires):
    headers = {"Host": "group.example", "Signature": f'keyId="k",algorithm="hs2019",created="{created}",'
               f'expires="{expires}",headers="(request-target) (created) (expires) host",signature="AAAA"'}  # fmt: skip
    try:
        signatures.parse_request("GET", URL, headers, None, NOW)
    except signatures.SignatureError:
        pass
