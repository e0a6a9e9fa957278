r"""Two fixes to the HTML that Sphinx 7.4 and sphinx-thebe 0.3 write for this book (loaded by _config.yml as a
local extension; tests/browser/test_site.py fails without either).

1. Sphinx wraps every display equation that contains a line break ``\\`` in ``\begin{split}…\end{split}``.
   MathJax, like LaTeX, allows no ``\tag`` inside ``split``, so a tagged multi-line output such as
   ``\begin{aligned}z &= … \\ y &= …\end{aligned} \tag{8}`` (what ``lstm_lit.symbolic.display.show`` prints)
   renders as the error "\tag not allowed in split environment". A display that carries its own ``\tag`` is
   written as it is: its line breaks are inside its own environment.
2. sphinx-thebe adds its inline configuration script twice, so every page throws "Identifier 'THEBE_JS_URL' has
   already been declared". Identical scripts are written once.
"""

from docutils import nodes
from sphinx.locale import _
from sphinx.util.math import get_node_equation_number


def tagged_displaymath(previous):
    r"""The display-math visitor: ``previous`` (Sphinx's, or MyST's override of it) for every display except an
    ordinary one that carries a ``\tag``."""

    def visit(self, node):
        text = node.astext()
        if node["nowrap"] or r"\tag" not in text or "amsmath" in node.get("classes", []):
            return previous(self, node)
        self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
        if node["number"]:
            number = get_node_equation_number(self, node)
            self.body.append(f'<span class="eqno">({number})')
            self.add_permalink_ref(node, _("Link to this equation"))
            self.body.append("</span>")
        start, end = self.builder.config.mathjax_display
        self.body.append(start + self.encode(text) + end)
        self.body.append("</div>\n")
        raise nodes.SkipNode

    return visit


def override_displaymath(app):
    # after MyST's own override (also on builder-inited), which it keeps for amsmath blocks
    renderers = app.registry.html_block_math_renderers
    if "mathjax" in renderers:
        previous, depart = renderers["mathjax"]
        renderers["mathjax"] = (tagged_displaymath(previous), depart)


def dedupe_scripts(app, pagename, templatename, context, doctree):
    seen, scripts = set(), []
    for js in context.get("script_files", []):
        # the same inline script comes once with filename None and once with "": the same script
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            scripts.append(js)
    context["script_files"] = scripts


def setup(app):
    app.connect("builder-inited", override_displaymath, priority=900)
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
