"""Single-event usage posts through gunicorn on PostgreSQL, against a bare logged-in view on
the same server, measured in the same run.

6 client processes post one event each request (a random one of 100 organizations) to
/api/v1/usage/, in turns alternating with the same 6 clients loading /bench/bare/, a view
that loads only the session and the user (bare, posts, bare, ..., bare). Target: posts/s at
least 0.8x the bare view's requests/s, the median over the turns of each turn of posts
against the bare view just before and after it.

    .venv/bin/python bench/single_event.py        # or: make bench-single
"""

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

ORGANIZATIONS: list[int] = []
HEADERS: dict[str, str] = {}
COOKIE: dict[str, str] = {}
RUN = {"tag": "", "at": ""}


# The load generator shares the machine's two cores with the server: a post's body is a
# format string filled in (no JSON encoding, no clock read, no random generator per
# request), so the clients cost the same for a post as for the bare view's GET.
BODY = (
    '{"events":[{"event_id":"%s-%d-%d","organization":%d,"model":"solar-pro-2",'
    '"occurred_at":"%s","input_tokens":1000,"output_tokens":250}]}'
)


def post_event(client: int, n: int):
    # A random-looking organization for each (client, n): a multiplicative hash.
    organization = ORGANIZATIONS[(client * 7_919 + n * 104_729) % len(ORGANIZATIONS)]
    body = (BODY % (RUN["tag"], client, n, organization, RUN["at"])).encode()
    return "POST", "/api/v1/usage/", body, HEADERS


def bare(client: int, n: int):
    return "GET", "/bench/bare/", None, COOKIE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--organizations", type=int, default=100)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5, help="of each turn")
    options = parser.parse_args()
    url, organizations, headers = harness.funded_organizations(
        count=options.organizations, credit_micros=50_000_000
    )
    ORGANIZATIONS.extend(o.pk for o in organizations)
    HEADERS.update(headers)
    COOKIE["Cookie"] = harness.logged_in_cookie(organizations[0])

    RUN["at"] = datetime.now(UTC).isoformat()

    def new_event_ids(turn: int) -> None:
        # Every turn posts events never seen before (ids restart with each turn's requests).
        RUN["tag"] = f"turn{turn}"

    with harness.Server(url) as server:
        RUN["tag"] = "warm"
        harness.load(server.port, post_event, clients=options.clients, seconds=2, ok=(201,))
        harness.load(server.port, bare, clients=options.clients, seconds=2)
        result = harness.interleaved(
            server.port, page=post_event, bare=bare, clients=options.clients, turns=options.turns,
            seconds=options.seconds, page_ok=(201,), before_page=new_event_ids,
        )
    problems = harness.books_problems()
    harness.report(
        f"Single-event posts vs a bare logged-in view, {options.clients} clients, "
        f"{options.organizations} organizations",
        [
            *result.lines(page_name="single-event posts", target=">= 0.8x"),
            "books: " + ("ledger and rollups consistent" if not problems else f"{len(problems)} problems"),
        ],
    )
    if result.errors or problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
