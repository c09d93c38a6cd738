"""billing_portal/templatetags/layout.py: {% extends %} renders pages as Django's own tag does
while finding a root layout's blocks once per compiled layout, and {% remember %} serves a
part rendered for the same key, and only for it."""

from unittest import mock

import pytest
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import NodeList

from billing_portal.templatetags import layout

LAYOUTS = {
    "root.html": (
        "<{% block title %}Root{% endblock %}|{% block body %}r{% endblock %}|"
        "{% block foot %}f{% endblock %}>"
    ),
    "mid.html": (
        '{% extends "root.html" %}'
        "{% block body %}m[{{ block.super }}]{% block inner %}i{% endblock %}{% endblock %}"
    ),
    "child.html": (
        '{% extends "mid.html" %}'
        "{% block inner %}c{{ block.super }}{% endblock %}{% block title %}{{ who }}{% endblock %}"
    ),
    "page.html": '{% extends "root.html" %}{% block body %}p{{ block.super }}{% endblock %}',
}


def _engine(templates: dict[str, str], *, ours: bool) -> Engine:
    # Cached, as the site's loaders are when not debugging.
    loaders = [
        ("django.template.loaders.cached.Loader", [("django.template.loaders.locmem.Loader", templates)])
    ]
    return Engine(loaders=loaders, builtins=["billing_portal.templatetags.layout"] if ours else [])


@pytest.mark.parametrize("name", ["child.html", "page.html", "mid.html"])
def test_pages_render_as_with_djangos_extends(name):
    ours, djangos = _engine(LAYOUTS, ours=True), _engine(LAYOUTS, ours=False)
    assert type(ours.get_template(name).nodelist[0]) is layout.LayoutExtendsNode

    rendered = [ours.get_template(name).render(Context({"who": who})) for who in ("Ann", "Bo")]

    assert rendered == [djangos.get_template(name).render(Context({"who": who})) for who in ("Ann", "Bo")]
    if name == "child.html":
        assert rendered == ["<Ann|m[r]ci|f>", "<Bo|m[r]ci|f>"]


def test_a_page_may_extend_a_compiled_template_given_to_it():
    engine = _engine(LAYOUTS, ours=True)
    page = engine.from_string("{% extends base %}{% block foot %}F{% endblock %}")

    assert page.render(Context({"base": engine.get_template("root.html")})) == "<Root|r|F>"


def test_a_root_layouts_blocks_are_found_once_per_compiled_layout():
    engine = _engine(LAYOUTS, ours=True)
    root = engine.get_template("root.html")
    walking = mock.patch.object(
        NodeList, "get_nodes_by_type", autospec=True, side_effect=NodeList.get_nodes_by_type
    )
    with walking as walk:
        for _ in range(3):
            engine.get_template("page.html").render(Context())
            engine.get_template("child.html").render(Context({"who": "Ann"}))

    assert [call.args[0] for call in walk.call_args_list].count(root.nodelist) == 1

    # An edited layout is a new compiled template, with its own blocks.
    edited_root = "({% block body %}{% endblock %}{% block foot %}z{% endblock %})"
    edited = _engine(LAYOUTS | {"root.html": edited_root}, ours=True)
    assert edited.get_template("page.html").render(Context()) == "(pz)"


def _counting() -> tuple[list[int], object]:
    renders: list[int] = []

    def tick() -> int:
        renders.append(1)
        return len(renders)

    return renders, tick


def test_a_remembered_part_is_rendered_once_for_each_value_of_its_key():
    layout._remembered.clear()
    renders, tick = _counting()
    page = Template("{% remember kind %}{{ kind }}:{{ tick }}{% endremember %}")

    shown = [page.render(Context({"kind": kind, "tick": tick})) for kind in ("a", "a", "b", "a", "b")]

    assert shown == ["a:1", "a:1", "b:2", "a:1", "b:2"]
    assert len(renders) == 2


def test_a_remembered_part_is_kept_apart_for_each_escaping():
    layout._remembered.clear()
    page = Template("{% remember k %}{{ html }}{% endremember %}")
    context = {"k": 1, "html": "<b>"}

    escaped = page.render(Context(context))
    raw = page.render(Context(context, autoescape=False))

    assert (escaped, raw) == ("&lt;b&gt;", "<b>")


def test_an_edited_template_never_shows_the_old_part():
    layout._remembered.clear()
    old = Template("{% remember k %}old{% endremember %}")
    new = Template("{% remember k %}new{% endremember %}")

    assert [old.render(Context({"k": 1})), new.render(Context({"k": 1}))] == ["old", "new"]


def test_what_is_remembered_is_bounded(monkeypatch):
    layout._remembered.clear()
    monkeypatch.setattr(layout, "MAX_REMEMBERED_PARTS", 2)
    page = Template("{% remember k %}{{ k }}{% endremember %}")

    shown = [page.render(Context({"k": k})) for k in range(5)]

    assert shown == ["0", "1", "2", "3", "4"]
    assert len(layout._remembered) <= 2


def test_a_key_must_name_something_hashable():
    with pytest.raises(TemplateSyntaxError):
        Template("{% remember %}x{% endremember %}")
    with pytest.raises(TypeError):
        Template("{% remember items %}x{% endremember %}").render(Context({"items": [1]}))
