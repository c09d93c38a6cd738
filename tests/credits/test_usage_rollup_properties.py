"""After any sequence of batches (duplicates, several organizations, UTC days, free program
usage), each daily rollup equals a recomputation from the usage events."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from credits.models import ApiModel, ProgramGrant, UsageEvent, UsageRollup
from credits.selectors.ledger import ledger_invariant_violations
from credits.selectors.usage import usage_rollup_violations
from credits.services.usage import record_usage_batch, validate_usage_batch
from tests.credits.scenarios import event
from tests.factories import OrganizationFactory

START = datetime(2026, 3, 1, 22, tzinfo=UTC)
MODELS = {
    "solar-pro": {"input_tokens": st.integers(0, 50_000), "output_tokens": st.integers(0, 5_000)},
    "solar-pro-2": {"input_tokens": st.integers(0, 50_000)},
    "document-parse": {"pages": st.integers(0, 40)},
}
one_event = st.tuples(
    st.integers(0, 30),  # event id from a small pool, so replays and overlaps happen
    st.sampled_from([0, 1]),  # which organization
    st.sampled_from(sorted(MODELS)),
    st.integers(0, 60 * 4),  # minutes after START: crosses UTC midnight
    st.data(),
)


def _recomputed() -> dict:
    sums: dict = defaultdict(lambda: [0, 0, 0, 0, 0])
    for e in UsageEvent.objects.all():
        row = sums[(e.organization_id, e.occurred_at.astimezone(UTC).date(), e.api_model_id)]
        for n, value in enumerate((1, e.input_tokens, e.output_tokens, e.pages, e.cost_micros)):
            row[n] += value
    return {key: tuple(value) for key, value in sums.items()}


class RollupsEqualEvents(TestCase):
    @settings(max_examples=30, deadline=None)
    @given(st.lists(st.lists(one_event, min_size=1, max_size=8), min_size=1, max_size=5))
    def test_rollups_equal_a_recomputation_from_events(self, batches):
        organizations = [OrganizationFactory(), OrganizationFactory()]
        # The first organization's program makes Solar Pro free during the first two hours.
        program = ProgramGrant.objects.create(
            organization=organizations[0], starts_at=START, ends_at=START + timedelta(hours=2)
        )
        program.api_models.set(ApiModel.objects.filter(slug="solar-pro"))
        expected: dict = defaultdict(lambda: [0, 0, 0, 0])
        seen: set[str] = set()
        now = START + timedelta(hours=5)
        for batch in batches:
            events, ids = [], set()
            for number, org, model, minutes, data in batch:
                event_id = f"e{number}"
                if event_id in ids:
                    continue  # an id twice in one batch is refused as a whole; keep batches valid
                ids.add(event_id)
                units = {field: data.draw(strategy) for field, strategy in MODELS[model].items()}
                at = START + timedelta(minutes=minutes)
                events.append(event(event_id, organizations[org], model=model, at=at, **units))
                if event_id not in seen:
                    seen.add(event_id)
                    row = expected[(organizations[org].pk, at.date(), model)]
                    row[0] += 1
                    row[1] += units.get("input_tokens", 0)
                    row[2] += units.get("output_tokens", 0)
                    row[3] += units.get("pages", 0)
            record_usage_batch(events=validate_usage_batch(payload={"events": events}), api_key=None, now=now)

            stored = {
                (r.organization_id, r.day, r.api_model_id): (
                    r.calls,
                    r.input_tokens,
                    r.output_tokens,
                    r.pages,
                    r.cost_micros,
                )
                for r in UsageRollup.objects.all()
            }
            assert stored == _recomputed()
            assert usage_rollup_violations() == []
        slugs = dict(ApiModel.objects.values_list("pk", "slug"))
        assert {
            (org, day, slugs[model]): list(values[:4]) for (org, day, model), values in stored.items()
        } == dict(expected)
        # Free calls are counted in the rollups at no cost, and never debited.
        free = UsageEvent.objects.filter(free=True)
        assert all(e.cost_micros == 0 and e.ledger_entry_id is None for e in free)
        assert ledger_invariant_violations() == []
