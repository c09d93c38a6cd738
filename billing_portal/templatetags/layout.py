"""The page layout's tags: `{% extends %}` as Django's, except that the blocks of the layout
at the root are found once per compiled layout, and `{% remember %}` for a part of a page
that depends on nothing but its key.

Django's `{% extends %}` walks the whole root layout (base.html: some 150 nodes, about 40 µs)
at every render to find its blocks; they are the same until the template changes, and a
changed template is a new compiled template (the dev server's reload, or no cached loader),
which is walked again. Installed over Django's tag as a template builtin (settings.TEMPLATES).

`{% remember a b.c %}...{% endremember %}` renders its part once per worker for each value of
its key (the values it names, and how the render escapes and localizes), and serves it from
memory after that: the main navigation, which depends only on the page, signed in or not,
the role and where the site's links start. Everything the part shows must be in its key; a
value in the key must be hashable (a string, number, boolean or None). The remembered part
belongs to the compiled template it is in, so an edited template never serves the old part.
"""

from typing import Any
from weakref import WeakKeyDictionary

from django import template
from django.template.base import Node, NodeList, Template, TextNode
from django.template.loader_tags import BLOCK_CONTEXT_KEY, BlockContext, BlockNode, ExtendsNode
from django.template.loader_tags import do_extends as django_extends

register = template.Library()

# Every page x signed in or not x role x script prefix is well under this; past it (an
# unusual script prefix from each request, say), start over.
MAX_REMEMBERED_PARTS = 2_000

_root_blocks: WeakKeyDictionary[Template, dict[str, Any] | None] = WeakKeyDictionary()
_remembered: dict[tuple, str] = {}


def _blocks_of_root(layout: Template) -> dict[str, Any] | None:
    """The blocks of a layout that extends nothing itself, by name; None for a layout that
    extends another (its own `{% extends %}` adds them). As Django's ExtendsNode finds them."""
    try:
        return _root_blocks[layout]
    except KeyError:
        pass
    blocks: dict[str, Any] | None = None
    for node in layout.nodelist:
        # The ExtendsNode has to be the first non-text node.
        if not isinstance(node, TextNode):
            if not isinstance(node, ExtendsNode):
                found: list[Any] = layout.nodelist.get_nodes_by_type(BlockNode)
                blocks = {block.name: block for block in found}
            break
    _root_blocks[layout] = blocks
    return blocks


class LayoutExtendsNode(ExtendsNode):
    def render(self, context):
        # Django's ExtendsNode.render, with the root layout's blocks found once.
        compiled_parent = self.get_parent(context)
        if BLOCK_CONTEXT_KEY not in context.render_context:
            context.render_context[BLOCK_CONTEXT_KEY] = BlockContext()
        block_context = context.render_context[BLOCK_CONTEXT_KEY]
        block_context.add_blocks(self.blocks)
        root_blocks = _blocks_of_root(compiled_parent)
        if root_blocks is not None:
            block_context.add_blocks(root_blocks)
        with context.render_context.push_state(compiled_parent, isolated_context=False):
            # (As Django's: _render keeps the parser's context; django-stubs does not declare it.)
            return compiled_parent._render(context)  # type: ignore[attr-defined]


@register.tag
def extends(parser, token):
    node = django_extends(parser, token)
    return LayoutExtendsNode(node.nodelist, node.parent_name, node.template_dirs)


class RememberNode(Node):
    child_nodelists = ("nodelist",)

    def __init__(self, nodelist: NodeList, key: list):
        self.nodelist = nodelist
        self.key = key

    def render(self, context):
        key = (
            self,
            context.autoescape,
            context.use_l10n,
            context.use_tz,
            *(value.resolve(context) for value in self.key),
        )
        try:
            return _remembered[key]
        except KeyError:
            pass
        part = self.nodelist.render(context)
        if len(_remembered) >= MAX_REMEMBERED_PARTS:
            _remembered.clear()
        _remembered[key] = part
        return part


@register.tag
def remember(parser, token):
    """{% remember value1 value2 ... %}part{% endremember %}: see the module's docstring."""
    names = token.split_contents()[1:]
    if not names:
        raise template.TemplateSyntaxError("{% remember %} names the values the part depends on.")
    nodelist = parser.parse(("endremember",))
    parser.delete_first_token()
    return RememberNode(nodelist, [parser.compile_filter(name) for name in names])
