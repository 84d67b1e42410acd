"""Demo data: three users (one per role) and a lab's worth of samples.

    python -m examples.labs.legacy.seed     # does nothing when users exist

Passwords are hashed by Werkzeug, as the legacy app always did; the Django
site verifies these hashes on its login page and upgrades them.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .config import database_url
from .database import make_engine, make_session_factory
from .models import Event, Experiment, Result, Sample, Tag, User

# (username, role, password): printed by `make demo`.
DEMO_USERS = [
    ("ada", "admin", "ada-labs-demo"),
    ("sam", "scientist", "sam-labs-demo"),
    ("vic", "viewer", "vic-labs-demo"),
]
SAMPLE_NAMES = ["Soil core", "River water", "Leaf extract", "Sediment", "Algae bloom",
                "Root tissue", "Groundwater", "Lichen", "Peat", "Seed bank"]  # fmt: skip
TAGS = ["urgent", "field", "frozen", "replicate", "pilot"]
METRICS = [("ph", "pH"), ("nitrate", "mg/L"), ("temperature", "°C"), ("chlorophyll", "µg/L")]


def seed(session: Session, samples: int = 60) -> bool:
    """Fill an empty database; return False (and change nothing) when users exist."""
    if session.scalar(select(func.count()).select_from(User)):
        return False
    rng = random.Random(7)  # the same demo data every time
    users = []
    for username, role, password in DEMO_USERS:
        user = User(username=username, email=f"{username}@labs.example", role=role)
        user.set_password(password)
        users.append(user)
    tags = [Tag(name=name) for name in TAGS]
    session.add_all([*users, *tags])
    session.flush()
    scientist = users[1]
    for number in range(1, samples + 1):
        sample = Sample(
            name=f"{rng.choice(SAMPLE_NAMES)} {chr(64 + (number - 1) % 26 + 1)}{number}",
            lab=rng.choice(["north", "south", "east"]),
            collected_on=date(2026, 1, 5) + timedelta(days=number * 4),
            notes="Collected at dawn; kept at 4 °C." if number % 3 else "",
            owner_id=rng.choice(users[:2]).id,
            tags=rng.sample(tags, rng.randint(0, 2)),
        )
        session.add(sample)
        session.flush()
        if number % 4 == 0:
            experiment = Experiment(
                title=f"Baseline chemistry of {sample.name}",
                sample_id=sample.id,
                status=rng.choice(["planned", "running", "done"]),
            )
            session.add(experiment)
            session.flush()
            for metric, unit in rng.sample(METRICS, 2):
                session.add(
                    Result(
                        experiment_id=experiment.id,
                        metric=metric,
                        value=round(rng.uniform(1, 40), 2),
                        unit=unit,
                    )
                )
        session.add(
            Event(
                # Logged when it happened: the demo's history spans the year.
                at=datetime.combine(sample.collected_on, time(9 + number % 8, number % 60)),
                actor=scientist.username,
                kind="sample.created",
                subject=f"sample:{sample.id}",
                detail=json.dumps({"name": sample.name, "via": "seed"}),
            )
        )
    session.commit()
    return True


def main() -> None:
    with make_session_factory(make_engine(database_url()))() as session:
        print("seeded the demo data" if seed(session) else "demo data already there")


if __name__ == "__main__":
    main()
