"""Identity benchmark: what the signed identity token costs.

1. In-process, per call (µs): minting a token, verifying it, Django's whole
   ``identity_headers`` (anonymous, and logged in: session, user, groups and
   permissions read from the database) and Flask's ``before_request``.
2. End to end: the p50 latency of a small forwarded page through a real Django
   front (gunicorn) before a real Flask app (gunicorn, ``DjangoIdentity``
   installed), with identity off, on for an anonymous client, and on for a
   logged-in one. One client, keep-alive, requests interleaved in rounds so
   that drift hits every configuration alike. Target: identity adds under 5%.

Every server listens on 127.0.0.1 and is stopped at the end, errors included.

    .venv/bin/python benchmarks/identity.py [--requests 3000] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from benchmarks.servers import Servers  # noqa: E402
from strangler.identity.tokens import (  # noqa: E402
    TokenSigner,
    TokenVerifier,
    generate_key_pair,
    load_signing_key,
    load_verifying_key,
)

HEADER = "X-Strangler-Identity-Token"
SECTION = "## Identity"
USER_CLAIMS = {
    "sub": "42",
    "username": "ada",
    "email": "ada@example.com",
    "roles": ["curator", "staff"],
    "permissions": ["labs.add_sample", "labs.change_sample", "labs.view_sample"],
    "is_staff": True,
    "is_superuser": False,
}


def per_call_us(function: Callable[[], object], number: int = 2000, repeat: int = 5) -> float:
    """Best-of-``repeat`` time per call in µs (the least disturbed run, as timeit advises)."""
    function()
    return min(timeit.repeat(function, number=number, repeat=repeat)) / number * 1e6


# --- servers: benchmarks/servers.py, shared with the forwarding benchmark ---------------


def page(port: int, headers: dict[str, str]) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/hello", headers=headers)
        return connection.getresponse().read()
    finally:
        connection.close()


def latencies(port: int, count: int, headers: dict[str, str]) -> list[float]:
    """``count`` sequential GET /hello on one keep-alive connection, each in ms."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            connection.request("GET", "/hello", headers=headers)
            response = connection.getresponse()
            response.read()
            samples.append((time.perf_counter() - start) * 1000)
            if response.status != 200:
                raise RuntimeError(f"GET /hello on port {port} answered {response.status}")
    finally:
        connection.close()
    return samples


# --- the measurements ------------------------------------------------------------------


def setup_django(workdir: Path, private: str) -> str:
    """Configure Django in this process; migrate; return a logged-in user's session cookie."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.identity_settings"
    os.environ["BENCH_DB"] = str(workdir / "bench.sqlite3")
    os.environ["BENCH_SIGNING_KEY"] = private
    import django

    django.setup()
    from django.contrib.auth.models import Group, Permission, User
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("ada", email="ada@example.com", is_staff=True)
    for name in ("curator", "staff"):
        user.groups.add(Group.objects.create(name=name))
    user.user_permissions.add(*Permission.objects.all()[:3])
    client = Client()
    client.force_login(user)
    return str(client.cookies["sessionid"].value)


def micro(private: str, public: str, session: str) -> list[tuple[str, float]]:
    rows = []
    token = ""
    for algorithm in ("EdDSA", "ES256", "HS256"):
        if algorithm == "EdDSA":
            signing_pem, verifying_pem = private, public
        else:
            signing_pem, verifying_pem, _ = generate_key_pair(algorithm)
        signer = TokenSigner(
            load_signing_key(algorithm, signing_pem), issuer="django", audience="flask", lifetime=60
        )
        verifier = TokenVerifier(
            [load_verifying_key(verifying_pem)],
            algorithms=[algorithm],
            issuer="django",
            audience="flask",
        )
        signed = signer.mint(USER_CLAIMS, method="GET", target="/hello")
        if algorithm == "EdDSA":
            token = signed
            rows.append(
                (
                    "mint a token (anonymous, EdDSA)",
                    per_call_us(
                        partial(signer.mint, {"anonymous": True}, method="GET", target="/")
                    ),
                )
            )
        rows.append(
            (
                f"mint a token (user claims, {algorithm})",
                per_call_us(partial(signer.mint, USER_CLAIMS, method="GET", target="/hello")),
            )
        )
        rows.append(
            (
                f"verify a token ({algorithm})",
                per_call_us(partial(verifier.verify, signed, method="GET", binding="/hello")),
            )
        )

    from django.test import RequestFactory

    from strangler.identity.issuer import identity_headers

    factory = RequestFactory()

    def django_anonymous() -> object:
        return identity_headers(factory.get("/hello"), target="/hello")

    def django_logged_in() -> object:
        request = factory.get("/hello")
        request.COOKIES["sessionid"] = session
        return identity_headers(request, target="/hello")

    assert "anonymous" not in str(django_logged_in())
    rows.append(("Django identity_headers, anonymous (no query)", per_call_us(django_anonymous)))
    rows.append(
        (
            "Django identity_headers, logged in (session and user read, roles cached; SQLite)",
            per_call_us(django_logged_in, number=500),
        )
    )

    os.environ["BENCH_PUBLIC_KEY"] = public
    from benchmarks.identity_flask import app

    def flask_hook(headers: dict[str, str]) -> Callable[[], object]:
        def run() -> object:
            with app.test_request_context("/hello", headers=headers):
                return app.preprocess_request()

        return run

    with_token = per_call_us(flask_hook({HEADER: token}))
    without = per_call_us(flask_hook({}))
    rows.append(("Flask DjangoIdentity before_request, valid token", with_token - without))
    return rows


@dataclass
class Config:
    name: str
    port: int
    headers: dict[str, str]


def end_to_end(
    private: str, public: str, session: str, workdir: Path, requests: int
) -> list[tuple[str, list[float]]]:
    common = {"BENCH_DB": str(workdir / "bench.sqlite3")}
    with Servers(workdir) as run:
        start = run.gunicorn
        flask = start("flask", "benchmarks.identity_flask:app", {"BENCH_PUBLIC_KEY": public})
        front = {"BENCH_UPSTREAM": f"http://127.0.0.1:{flask.port}", **common}
        app = "django.core.wsgi:get_wsgi_application()"
        env = {"DJANGO_SETTINGS_MODULE": "benchmarks.identity_settings", "BENCH_SIGNING_KEY": ""}
        off = start("front-off", app, {**env, **front})
        on = start("front-on", app, {**env, **front, "BENCH_SIGNING_KEY": private})
        plain = start("flask-plain", "benchmarks.identity_flask:app", {"BENCH_NO_IDENTITY": "1"})
        plain_front = {**front, "BENCH_UPSTREAM": f"http://127.0.0.1:{plain.port}"}
        mint_only = start(
            "front-mint-only", app, {**env, **plain_front, "BENCH_SIGNING_KEY": private}
        )
        cookie = {"Cookie": f"sessionid={session}"}
        # Valid for the whole run: Flask's verification measured without Django in front.
        signer = TokenSigner(
            load_signing_key("EdDSA", private), issuer="django", audience="flask", lifetime=3600
        )
        direct_token = {HEADER: signer.mint({"anonymous": True}, method="GET", target="/hello")}
        configs = [
            Config("Flask direct (for scale)", flask.port, {}),
            Config("Flask direct, with a valid token", flask.port, direct_token),
            Config("forwarded, identity off", off.port, {}),
            Config(
                "forwarded, identity on, anonymous, Flask without the extension", mint_only.port, {}
            ),
            Config("forwarded, identity on, anonymous", on.port, {}),
            Config("forwarded, identity off, with a session cookie", off.port, cookie),
            Config("forwarded, identity on, logged in", on.port, cookie),
        ]
        # The logged-in rows must really be ada on Flask, or the comparison means nothing.
        expected = {on.port: {"": "anonymous", "Cookie": "ada"}}
        for config in configs:
            who = expected.get(config.port, {}).get(next(iter(config.headers), ""))
            if who and f"<p>{who}</p>".encode() not in page(config.port, config.headers):
                raise RuntimeError(f"{config.name}: Flask did not see {who}")
        samples: dict[str, list[float]] = {config.name: [] for config in configs}
        for config in configs:
            latencies(config.port, 200, config.headers)  # warm up: imports, pools, caches
        rounds = 10
        for _ in range(rounds):
            for config in configs:
                samples[config.name] += latencies(config.port, requests // rounds, config.headers)
    return [(config.name, samples[config.name]) for config in configs]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(
    micro_rows: list[tuple[str, float]],
    e2e: list[tuple[str, list[float]]],
    requests: int,
    load: tuple[float, float],
) -> str:
    lines = [
        SECTION,
        "",
        "Measured by `benchmarks/identity.py` on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()} (load average {load[0]:.1f} before, "
        f"{load[1]:.1f} after); EdDSA (Ed25519) keys unless named, every server on "
        "127.0.0.1, gunicorn with one gthread worker (4 threads) for the Django front "
        "and for Flask.",
        "",
        "Cost per call, in process (best of 5 runs):",
        "",
        "| operation | µs per call |",
        "|---|---:|",
        *[f"| {name} | {value:.1f} |" for name, value in micro_rows],
        "",
        f"Latency of a small forwarded page (GET /hello, 1.3 KiB), one keep-alive client, "
        f"{requests} requests per row, interleaved in 10 rounds:",
        "",
        "| configuration | p50 ms | p90 ms | p50 added by identity |",
        "|---|---:|---:|---:|",
    ]
    p50 = {name: statistics.median(values) for name, values in e2e}
    baselines = {
        "Flask direct, with a valid token": "Flask direct (for scale)",
        "forwarded, identity on, anonymous, Flask without the extension": "forwarded, identity off",
        "forwarded, identity on, anonymous": "forwarded, identity off",
        "forwarded, identity on, logged in": "forwarded, identity off, with a session cookie",
    }
    for name, values in e2e:
        added = ""
        base = baselines.get(name)
        if base:
            delta = p50[name] - p50[base]
            added = f"{delta * 1000:+.0f} µs ({delta / p50[base] * 100:+.1f}%)"
        lines.append(f"| {name} | {p50[name]:.3f} | {percentile(values, 0.9):.3f} | {added} |")
    anonymous = p50["forwarded, identity on, anonymous"] / p50["forwarded, identity off"] - 1
    logged_in = (
        p50["forwarded, identity on, logged in"]
        / p50["forwarded, identity off, with a session cookie"]
        - 1
    )
    verdict = "meets" if max(anonymous, logged_in) < 0.05 else "misses"
    micro_us = dict(micro_rows)
    floor = micro_us["mint a token (user claims, EdDSA)"] + micro_us["verify a token (EdDSA)"]
    hs_floor = micro_us["mint a token (user claims, HS256)"] + micro_us["verify a token (HS256)"]
    budget = p50["forwarded, identity off"] * 1000 * 0.05
    lines += [
        "",
        f"Against the target (identity adds under 5% to the p50 of a forwarded small "
        f"request): {anonymous * 100:+.1f}% for an anonymous client and "
        f"{logged_in * 100:+.1f}% for a logged-in one, so it {verdict} the target on this "
        "machine. The logged-in row includes reading the session and the user (2 queries, here "
        "on SQLite, that every Django page pays too; groups and permissions come from the "
        "ROLES_CACHE). The row with Flask left without the extension is what the Django side "
        "alone adds (minting); Flask direct with a token is what verifying alone adds.",
        "",
        f"Why: 5% of this p50 is {budget:.0f} µs, while one EdDSA mint plus one verification "
        f"costs {floor:.0f} µs here (HS256: {hs_floor:.0f} µs), most of it the signature "
        "check and PyJWT's parsing; no signed token per request fits in that budget on this "
        "CPU. The end-to-end rows sit above the in-process sums because every microsecond of "
        "CPU is paid on a shared 2-CPU machine (see the load average) by two processes in "
        "turn, each waking the other up; runs vary by tens of percent. What helps: ES256 "
        "where it verifies faster, "
        "HS256 where Flask may hold the secret, cache-backed sessions for logged-in users "
        "(the session and user reads are most of that row), and ROLES_CACHE (on by default).",
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Replace (or append) the ``## Identity`` section of ``path``, leaving the rest alone."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find(SECTION + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        rest = text[end + 1 :] if end != -1 else ""
        text = text[:start] + section + ("\n" + rest if rest else "")
    path.write_text(text.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000, help="requests per configuration")
    parser.add_argument("--write", type=Path, help="replace the Identity section of this file")
    args = parser.parse_args(argv)
    private, public, _ = generate_key_pair("EdDSA")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="strangler-bench-identity-") as tmp:
        workdir = Path(tmp)
        session = setup_django(workdir, private)
        micro_rows = micro(private, public, session)
        e2e = end_to_end(private, public, session, workdir, args.requests)
    section = report(micro_rows, e2e, args.requests, (load_before, os.getloadavg()[0]))
    print(section)
    if args.write:
        write_section(args.write, section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
