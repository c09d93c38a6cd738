"""Model catalog reads."""

from collections import defaultdict

from credits.models import ApiModel


def model_slugs_by_kind() -> dict[str, list[str]]:
    """Every model the usage API accepts, by kind (what it is priced by)."""
    slugs: dict[str, list[str]] = defaultdict(list)
    for kind, slug in ApiModel.objects.order_by("slug").values_list("kind", "slug"):
        slugs[kind].append(slug)
    return dict(slugs)
