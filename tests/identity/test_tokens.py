"""The token format (strangler/identity/tokens.py): minting, verifying, keys."""

from __future__ import annotations

import time

import jwt
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from strangler.identity.tokens import (
    ANONYMOUS,
    ANY_REQUEST,
    TOKEN_TYPE,
    Identity,
    InvalidToken,
    KeyConfigError,
    TokenSigner,
    TokenVerifier,
    bound_target,
    environ_binding,
    generate_key_pair,
    load_signing_key,
    load_verifying_key,
)
from tests.identity.conftest import KeyPair

USER = {
    "sub": "42",
    "username": "ada",
    "email": "ada@example.com",
    "roles": ["curator", "staff"],
    "permissions": ["labs.view_sample"],
    "is_staff": True,
    "is_superuser": False,
}


def test_round_trip_carries_the_user_and_the_request(
    signer: TokenSigner, verifier: TokenVerifier
) -> None:
    token = signer.mint(USER, method="get", target="/samples/1")
    claims = verifier.verify(token, method="GET", binding="/samples/1")
    assert claims["req"] == {"method": "GET", "target": "/samples/1"}
    identity = Identity.from_claims(claims)
    assert identity.id == "42"
    assert identity.username == "ada"
    assert identity.email == "ada@example.com"
    assert identity.roles == {"curator", "staff"}
    assert identity.permissions == {"labs.view_sample"}
    assert identity.is_staff
    assert not identity.is_superuser
    assert identity.is_authenticated
    assert identity.has_roles("curator")
    assert not identity.has_roles("curator", "admin")
    assert identity.has_permissions("labs.view_sample")


def test_header_and_registered_claims(signer: TokenSigner, ed_keys: KeyPair) -> None:
    before = int(time.time())
    token = signer.mint(USER, method="POST", target="/x")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": ed_keys.kid, "typ": TOKEN_TYPE}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "django"
    assert claims["aud"] == "flask"
    assert before <= claims["iat"] == claims["nbf"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 60
    assert len(claims["jti"]) >= 16


def test_every_token_has_its_own_jti(signer: TokenSigner) -> None:
    jtis = {
        jwt.decode(
            signer.mint(USER, method="GET", target="/"), options={"verify_signature": False}
        )["jti"]
        for _ in range(50)
    }
    assert len(jtis) == 50


def test_claims_cannot_override_the_registered_ones(
    signer: TokenSigner, verifier: TokenVerifier
) -> None:
    hostile = {**USER, "aud": "elsewhere", "exp": 2**40, "req": {"method": "GET", "target": "/a"}}
    token = signer.mint(hostile, method="GET", target="/b")
    claims = verifier.verify(token, method="GET", binding="/b")
    assert claims["aud"] == "flask"
    assert claims["exp"] < time.time() + 120


def test_anonymous_token(signer: TokenSigner, verifier: TokenVerifier) -> None:
    token = signer.mint({"anonymous": True}, method="GET", target="/")
    identity = Identity.from_claims(verifier.verify(token, method="GET", binding="/"))
    assert identity == ANONYMOUS
    assert not identity.is_authenticated
    assert identity.is_anonymous
    assert not identity.has_roles()


# --- the anonymous token: valid for any request, and never anyone's -------------------

METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
BINDINGS = st.text(st.characters(codec="latin-1"), max_size=40).map(lambda t: "/" + t)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(method=METHODS, binding=BINDINGS)
def test_the_anonymous_token_is_anonymous_for_any_request(
    signer: TokenSigner, verifier: TokenVerifier, method: str, binding: str
) -> None:
    token = signer.mint_anonymous()
    # The first verify checks the signature; the second finds the string checked.
    for target in (binding, binding + "?again"):
        claims = verifier.verify(token, method=method, binding=target)
        assert claims["req"] == ANY_REQUEST
        assert Identity.from_claims(claims) == ANONYMOUS


def forged_unbound(keys: KeyPair, **claims: object) -> str:
    """A token signed with Django's own key, unbound ("req": "any"), with any claims."""
    now = int(time.time())
    payload = {
        "iss": "django",
        "aud": "flask",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "j",
        "req": ANY_REQUEST,
        **claims,
    }
    signing = load_signing_key("EdDSA", keys.private)
    return jwt.encode(payload, signing.key, "EdDSA", {"kid": signing.kid, "typ": TOKEN_TYPE})


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "42"},
        {"anonymous": True, "sub": "42"},
        {"anonymous": True, "username": "ada"},
        {"anonymous": True, "is_superuser": True},
        {"anonymous": "true"},
        {"anonymous": False},
    ],
)
def test_an_unbound_token_saying_anything_but_anonymous_is_refused(
    ed_keys: KeyPair, verifier: TokenVerifier, claims: dict[str, object]
) -> None:
    token = forged_unbound(ed_keys, **claims)
    with pytest.raises(InvalidToken):
        verifier.verify(token, method="GET", binding="/")


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(min_size=1, max_size=12).filter(
        lambda n: n not in {"iss", "aud", "iat", "nbf", "exp", "jti", "req", "anonymous"}
    ),
    value=st.one_of(st.booleans(), st.integers(), st.text(max_size=8)),
)
def test_an_unbound_token_carries_no_claim_of_its_own(
    ed_keys: KeyPair, verifier: TokenVerifier, name: str, value: object
) -> None:
    token = forged_unbound(ed_keys, anonymous=True, **{name: value})
    with pytest.raises(InvalidToken, match="unbound token may only be anonymous"):
        verifier.verify(token, method="GET", binding="/")


def test_the_anonymous_token_still_expires(signer: TokenSigner, verifier: TokenVerifier) -> None:
    token = signer.mint_anonymous(now=time.time() - 120)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token, method="GET", binding="/")


def test_a_token_naming_nobody_is_refused(signer: TokenSigner, verifier: TokenVerifier) -> None:
    token = signer.mint({"username": "ada"}, method="GET", target="/")
    with pytest.raises(InvalidToken, match="neither a user nor anonymous"):
        verifier.verify(token, method="GET", binding="/")


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "HS256"])
def test_every_algorithm_round_trips_and_kids_agree(algorithm: str) -> None:
    private, public, kid = generate_key_pair(algorithm)
    signing = load_signing_key(algorithm, private)
    verifying = load_verifying_key(public)
    assert signing.kid == verifying.kid == kid
    assert verifying.algorithm == algorithm
    signer = TokenSigner(signing, issuer="i", audience="a", lifetime=10)
    verifier = TokenVerifier([verifying], algorithms=[algorithm], issuer="i", audience="a")
    token = signer.mint(USER, method="GET", target="/p")
    assert verifier.verify(token, method="GET", binding="/p")["sub"] == "42"


def test_explicit_kid_wins(ed_keys: KeyPair) -> None:
    assert load_signing_key("EdDSA", ed_keys.private, kid="2026-11").kid == "2026-11"
    assert load_verifying_key(ed_keys.public, kid="2026-11").kid == "2026-11"


def test_rotation_two_keys_verify_at_once(ed_keys: KeyPair, other_ed_keys: KeyPair) -> None:
    verifier = TokenVerifier(
        [load_verifying_key(ed_keys.public), load_verifying_key(other_ed_keys.public)],
        algorithms=["EdDSA"],
        issuer="django",
        audience="flask",
    )
    for pair in (ed_keys, other_ed_keys):
        signer = TokenSigner(
            load_signing_key("EdDSA", pair.private), issuer="django", audience="flask", lifetime=5
        )
        assert verifier.verify(
            signer.mint(USER, method="GET", target="/"), method="GET", binding="/"
        )


def test_weak_hmac_secret_is_refused() -> None:
    with pytest.raises(KeyConfigError, match="at least 32"):
        load_signing_key("HS256", "short-secret")
    with pytest.raises(KeyConfigError, match="at least 32"):
        load_verifying_key("short-secret")


def test_pem_as_hmac_secret_is_refused(ed_keys: KeyPair) -> None:
    with pytest.raises(KeyConfigError, match="not a PEM key"):
        load_signing_key("HS256", ed_keys.public)


def test_private_key_is_refused_as_a_verifying_key(ed_keys: KeyPair) -> None:
    with pytest.raises(KeyConfigError, match="private key"):
        load_verifying_key(ed_keys.private)


def test_signing_key_of_the_wrong_type_is_refused(ed_keys: KeyPair) -> None:
    with pytest.raises(KeyConfigError, match="cannot sign ES256"):
        load_signing_key("ES256", ed_keys.private)
    with pytest.raises(KeyConfigError, match="PEM private key"):
        load_signing_key("EdDSA", ed_keys.public)
    with pytest.raises(KeyConfigError, match="not one of"):
        load_signing_key("RS256", ed_keys.private)
    with pytest.raises(KeyConfigError, match="empty"):
        load_signing_key("EdDSA", "")


def test_garbage_pem_is_refused() -> None:
    with pytest.raises(KeyConfigError, match="readable"):
        load_verifying_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")


def test_verifier_needs_keys_and_known_algorithms(ed_keys: KeyPair) -> None:
    key = load_verifying_key(ed_keys.public)
    with pytest.raises(KeyConfigError, match="no verifying key"):
        TokenVerifier([], algorithms=["EdDSA"], issuer="i", audience="a")
    with pytest.raises(KeyConfigError, match="not supported"):
        TokenVerifier([key], algorithms=["none"], issuer="i", audience="a")


@pytest.mark.parametrize(
    ("target", "script_name", "path_info", "query", "expected"),
    [
        ("/samples/1", "", "/samples/1", "", "/samples/1"),
        ("/legacy/x?a=1&b", "/legacy/", "/x", "a=1&b", "/legacy/x?a=1&b"),
        ("/", "", "", "", "/"),
        ("/flag?", "", "/flag", "", "/flag"),
        # WSGI strings are latin-1 decoded bytes: bound as those bytes, never re-decoded.
        ("/caf%C3%A9", "", "/caf\u00c3\u00a9", "", "/caf%C3%A9"),
        ("/caf%e9", "", "/caf\u00e9", "", "/caf%E9"),
        ("/x%C2%A0", "", "/x\u00c2\u00a0", "", "/x%C2%A0"),
        # a server decodes %2F: both spellings are the same PATH_INFO, so the same binding
        ("/a%2fb", "", "/a/b", "", "/a/b"),
        ("/100%25", "", "/100%", "", "/100%25"),
    ],
)
def test_django_and_flask_compute_the_same_binding(
    target: str, script_name: str, path_info: str, query: str, expected: str
) -> None:
    assert bound_target(target) == expected
    assert environ_binding(script_name, path_info, query) == expected


def test_a_raw_request_line_is_bound_as_it_is() -> None:
    # Werkzeug's dev server puts U+FFFD in PATH_INFO for %E9; its REQUEST_URI is exact.
    assert environ_binding("", "/caf\u00ef\u00bf\u00bd", "", "/caf%E9") == bound_target("/caf%E9")
    assert environ_binding("/app", "/x", "q=1", "/app/x?q=1") == "/app/x?q=1"
    # An absolute-form request line is not a path: the environ is used.
    assert environ_binding("", "/x", "", "http://evil/y") == "/x"


def test_binding_keeps_distinct_targets_distinct() -> None:
    # The UTF-8 path and its Latin-1 look-alike, or another query, are other requests.
    assert bound_target("/caf%C3%A9") != bound_target("/caf%E9")
    assert bound_target("/caf%E9") != bound_target("/caf%EF%BF%BD")
    assert bound_target("/a?x=1") != bound_target("/a?x=2")
    assert bound_target("/a") != bound_target("/a?x")


def test_a_token_does_not_replay_with_another_query(
    signer: TokenSigner, verifier: TokenVerifier
) -> None:
    token = signer.mint(USER, method="GET", target="/reports?id=1")
    assert verifier.verify(token, method="GET", binding="/reports?id=1")["sub"] == "42"
    with pytest.raises(InvalidToken, match="another request"):
        verifier.verify(token, method="GET", binding="/reports?id=2")


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "!!!.e30.sig", "W10.e30.sig", "bm90IGpzb24.e30.sig", "e30.e30.sig"],
)
def test_malformed_tokens_are_refused(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(token, method="GET", binding="/")


# --- a verified token is not verified twice -------------------------------------------


def test_a_token_is_verified_once_and_then_recognised(
    signer: TokenSigner, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strangler.identity import tokens

    decoded: list[str] = []
    real_decode = tokens._jwt.decode_complete

    def counting_decode(token: str, *args: object, **kwargs: object) -> object:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tokens._jwt, "decode_complete", counting_decode)
    token = signer.mint(USER, method="GET", target="/samples/1")
    first = verifier.verify(token, method="GET", binding="/samples/1")
    again = verifier.verify(token, method="GET", binding="/samples/1")
    assert first == again
    assert decoded == [token]
    first["sub"] = "changed by a caller"  # callers get their own copy
    assert verifier.verify(token, method="GET", binding="/samples/1")["sub"] == "42"


def test_a_recognised_token_is_still_bound_to_its_request(
    signer: TokenSigner, verifier: TokenVerifier
) -> None:
    token = signer.mint(USER, method="GET", target="/samples/1")
    verifier.verify(token, method="GET", binding="/samples/1")
    with pytest.raises(InvalidToken, match="another request"):
        verifier.verify(token, method="GET", binding="/samples/2")
    with pytest.raises(InvalidToken, match="another request"):
        verifier.verify(token, method="POST", binding="/samples/1")


def test_a_recognised_token_still_expires(
    signer: TokenSigner, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = signer.mint(USER, method="GET", target="/x")
    verifier.verify(token, method="GET", binding="/x")
    later = time.time() + 60 + 5 + 1  # past the lifetime and the 5 s leeway
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token, method="GET", binding="/x")
    earlier = later - 2 * 3600  # a clock set back: not valid yet
    monkeypatch.setattr(time, "time", lambda: earlier)
    with pytest.raises(InvalidToken, match="not yet valid"):
        verifier.verify(token, method="GET", binding="/x")


def test_a_refused_token_is_never_recognised(signer: TokenSigner, verifier: TokenVerifier) -> None:
    token = signer.mint(USER, method="GET", target="/x")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(InvalidToken):
            verifier.verify(tampered, method="GET", binding="/x")
    verifier.verify(token, method="GET", binding="/x")
    with pytest.raises(InvalidToken):
        verifier.verify(tampered, method="GET", binding="/x")


def test_the_verified_tokens_are_bounded(
    signer: TokenSigner, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strangler.identity import tokens

    monkeypatch.setattr(tokens, "VERIFIED_TOKENS", 3)
    for n in range(7):
        target = f"/x/{n}"
        verifier.verify(
            signer.mint(USER, method="GET", target=target), method="GET", binding=target
        )
        assert len(verifier._verified) <= 3
