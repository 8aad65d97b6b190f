"""A faster <select> widget with exactly wtforms' markup.

wtforms' Select renders each option through html_params (sorted kwargs, Markup.format) and
looks up render_option's signature per field: ~60 µs an option. The orders lists render a
site per option (50 sites) and site settings ~600 time zones on every request, so the plain
case (no optgroups, no per-option attributes, single choice) is written out directly here;
everything else goes through wtforms unchanged. tests/test_widgets.py compares both outputs.
"""
from __future__ import annotations

from markupsafe import Markup, escape
from wtforms.fields.choices import Choice
from wtforms.widgets import Select, html_params


class FastSelect(Select):
    def __call__(self, field, **kwargs):
        if self.multiple or field.has_groups():
            return super().__call__(field, **kwargs)
        choices = field.iter_choices()
        if not all(type(c) is Choice and not c.render_kw for c in choices):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        for value, label, selected, _ in choices:
            shown = escape(label or value)
            if isinstance(value, bool):
                value = str(value)
            # html_params' order (sorted keys): "selected" before "value"
            html.append(f'<option {"selected " if selected else ""}value="{escape(value)}">{shown}</option>')
        html.append("</select>")
        return Markup("".join(html))
