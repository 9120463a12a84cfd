"""Schemathesis against the JSON API: generated requests to every operation of the OpenAPI
document, sent to the WSGI app with the demo campaign, its rallies and discussion loaded.

Every answer must pass schemathesis's default checks: no server error, a status code, content
type, headers and body the document declares for that operation, 4xx for invalid input.

Bounded and repeatable: a fixed number of examples per operation, derandomized, no Hypothesis
example database (nothing written into the repository). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import select

from campaign.models import CampaignStatus, CommentStatus, Event, EventStatus, RsvpStatus
from campaign.services.demo import DEMO_SLUG, load_demo, load_demo_comments, load_demo_events
from tests.factories import make_campaign, make_comment, make_event, make_rsvp, make_signature

# Examples per operation: random ones, and ones aimed at the demo campaign's real slug and ids.
RANDOM_EXAMPLES = 25
AIMED_EXAMPLES = 15


def _settings(max_examples: int):
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


@pytest.fixture(scope="module", autouse=True)
def _hypothesis_files_in_tmp(tmp_path_factory):
    """Hypothesis caches what it learns under .hypothesis/ in the working directory; here it
    goes to a temporary directory, so the run leaves nothing in the repository."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture
def demo(db):
    """The demo campaign with signatures in a few cities, its events and comments, and the
    things the API must leave out: a draft, a proposal, hidden comments, RSVPs."""
    campaign, _ = load_demo(db.session)
    load_demo_comments(db.session, campaign)
    load_demo_events(db.session, campaign)
    for city in ("Aleppo", "Aleppo", "aleppo ", "Berlin", "Paris", "Paris", "Paris"):
        make_signature(
            campaign, confirmed=True, country="DE" if city == "Berlin" else "FR", city=city
        )
    make_signature(campaign, confirmed=False, country="SY")
    past = make_event(campaign, starts_in=timedelta(days=-10), capacity=5)
    make_rsvp(past)
    make_rsvp(past, status=RsvpStatus.WAITLISTED)
    make_event(campaign, status=EventStatus.PROPOSED, title="A proposal")
    make_comment(campaign, status=CommentStatus.HIDDEN, body="Hidden from readers")
    make_campaign(slug="a-draft", status=CampaignStatus.DRAFT)
    make_campaign(slug="closed-one", status=CampaignStatus.CLOSED)
    db.session.commit()
    return campaign


@pytest.fixture
def api_schema(app, demo):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.validate()
    return schema


def _operations(schema):
    operations = [result.ok() for result in schema.get_all_operations()]
    assert sorted(operation.label for operation in operations) == [
        "GET /campaigns",
        "GET /campaigns/{slug}",
        "GET /campaigns/{slug}/comments",
        "GET /campaigns/{slug}/counts.csv",
        "GET /campaigns/{slug}/events",
        "GET /events/{event_id}",
        # Schemathesis leaves out the document it was loaded from; tests/test_api.py checks it.
    ]
    return operations


def test_every_operation_passes_the_default_checks(api_schema):
    for operation in _operations(api_schema):

        @_settings(RANDOM_EXAMPLES)
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate()

        check()


def test_real_campaign_and_events_pass_the_default_checks(api_schema, demo, db):
    """Random slugs and ids mostly find nothing; these aim at what exists, so that the 200
    answers with real data are generated and checked too."""
    event_ids = list(db.session.scalars(select(Event.id)))
    slugs = st.sampled_from([DEMO_SLUG, "closed-one", "a-draft"])
    ids = st.sampled_from(event_ids)
    for operation in _operations(api_schema):

        @_settings(AIMED_EXAMPLES)
        @given(case=operation.as_strategy(), slug=slugs, event_id=ids)
        def check(case, slug, event_id):
            if case.path_parameters:
                if "slug" in case.path_parameters:
                    case.path_parameters["slug"] = slug
                if "event_id" in case.path_parameters:
                    case.path_parameters["event_id"] = event_id
            case.call_and_validate()

        check()
