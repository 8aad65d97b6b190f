"""WTForms for the sites, catalogue and orders pages.

Forms check the shape of the input (required, length, number, date); the business rules
(unique SKU, category cycles, Root, state transitions) live in the use-cases, whose
messages the views attach to the same fields.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import available_timezones

from flask import flash
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, StringField, TextAreaField
from wtforms import SelectField as _SelectField
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, StopValidation,
                                ValidationError)

from ..models import orders as o
from .widgets import FastSelect


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _upper(value):
    return value.upper() if isinstance(value, str) else value


class SelectField(_SelectField):
    """wtforms' SelectField with the same markup rendered faster (widgets.py)."""

    widget = FastSelect()


class IsoDateField(DateField):
    """A YYYY-MM-DD date whose parse error says what format to use."""

    # Dates are compared as "that day + 1" and stored as time stamps: far years overflow both.
    EARLIEST, LATEST = date(1900, 1, 1), date(9998, 12, 31)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a date as YYYY-MM-DD.") from None
        if self.data is not None and not self.EARLIEST <= self.data <= self.LATEST:
            self.data = None
            raise ValueError(f"Enter a date between {self.EARLIEST.year} and {self.LATEST.year}.")


class PriceField(DecimalField):
    """Shows 12.50 rather than 12.5000 but keeps up to 4 decimals (print unit prices such as
    0.0125 per card matter). NaN and infinities are not numbers here: they get a message (a
    signalling NaN used to crash the range check with a 500)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))

    def pre_validate(self, form):
        if self.process_errors:  # one clear message, not "cannot be negative" on top of it
            raise StopValidation()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        value = Decimal(self.data).normalize()
        return f"{value:.2f}" if -value.as_tuple().exponent <= 2 else f"{value:f}"


def _data(form: FlaskForm, *names: str) -> dict:
    return {name: form[name].data for name in names}


def show_error(form: FlaskForm, field: str, message: str) -> None:
    """Put a use-case's message next to its field (flashed if this form has no such field)."""
    if field in form:
        form[field].errors.append(message)
    else:
        flash(message, "danger")


# --- sites -----------------------------------------------------------------------------------

class SiteSettingsForm(FlaskForm):
    name = StringField("Site name", validators=[DataRequired(), Length(max=200)], filters=[_strip])
    domain = StringField("Domain", validators=[Optional(), Length(max=253)], filters=[_strip],
                         description="Host name of the storefront, e.g. shop.example.com.")
    integration_id = StringField("Integration ID", validators=[Length(max=100)], filters=[_strip],
                                 description="Identifies this site in connected systems.")
    mis_id = StringField("MIS ID", validators=[Length(max=50)], filters=[_strip],
                         description="Customer id of this site in the print MIS (e.g. Presswise).")
    currency = StringField("Currency", filters=[_strip, _upper], validators=[
        DataRequired(), Regexp(r"^[A-Z]{3}$", message="Use a three-letter ISO 4217 code such as USD or EUR.")])
    time_zone = SelectField("Time zone", choices=sorted(available_timezones()))
    active = BooleanField("Active", description="Inactive sites stop taking orders.")

    def values(self) -> dict:
        return _data(self, "name", "domain", "integration_id", "mis_id", "currency", "time_zone", "active")


# --- catalogue -------------------------------------------------------------------------------

class ProductForm(FlaskForm):
    sku = StringField("SKU", validators=[DataRequired(), Length(max=100)], filters=[_strip])
    name = StringField("Name", validators=[DataRequired(), Length(max=300)], filters=[_strip])
    description = TextAreaField("Description", render_kw={"rows": 4})
    price = PriceField("Price", places=None, validators=[
        InputRequired(message="Enter a price."), NumberRange(min=0, message="Price cannot be negative.")])
    category_id = SelectField("Category", coerce=int)
    # Unchecked by default: products created in the admin start inactive.
    active = BooleanField("Active", default=False, description="Only active products are shown on the storefront.")
    integration_id = StringField("Integration ID", validators=[Length(max=100)], filters=[_strip])

    def values(self) -> dict:
        return _data(self, "sku", "name", "description", "price", "category_id", "active", "integration_id")


class NewCategoryForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)], filters=[_strip])
    parent_id = SelectField("Parent", coerce=int)


class CategoryForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)], filters=[_strip])
    description = TextAreaField("Description", render_kw={"rows": 4})
    parent_id = SelectField("Parent", coerce=int)


class RootCategoryForm(FlaskForm):
    """Root keeps its name and place; only its description is editable."""

    description = TextAreaField("Description", render_kw={"rows": 4})


class ShippingMethodForm(FlaskForm):
    carrier = StringField("Carrier", validators=[Length(max=100)], filters=[_strip])
    is_integrated = BooleanField("Integrated", description="Rated live by a carrier account (otherwise a flat or "
                                                           "manual method).")
    integration_id = StringField("Integration ID", validators=[Length(max=100)], filters=[_strip],
                                 description="The carrier/service code connected systems know this method by.")
    active = BooleanField("Active")

    def values(self) -> dict:
        return _data(self, "carrier", "is_integrated", "integration_id", "active")


# --- orders ----------------------------------------------------------------------------------

# Every summary status, once each (Cancelled is both an item and an order status).
# ?push= values of the orders lists (orders.push_state), worst first.
PUSH_FILTER_LABELS = {"failed": "Failed", "waiting": "Waiting", "in_flight": "In flight", "pushed": "Pushed",
                      "none": "Not pushed"}
ORDER_FILTER_STATUSES = tuple(dict.fromkeys(o.ORDER_STATUSES + (o.ORDER_CANCELLED,)))


class OrderFilterForm(FlaskForm):
    """GET filter of the orders lists: no CSRF (it changes nothing), values stay in the URL."""

    class Meta:
        csrf = False

    # default="": an absent parameter means "any", not an invalid choice.
    site = SelectField("Site", choices=[], default="")
    status = SelectField("Status", choices={"": "Any status", **{s: s for s in ORDER_FILTER_STATUSES}}, default="")
    placed_from = IsoDateField("Placed from", validators=[Optional()])
    placed_to = IsoDateField("Placed to", validators=[Optional()])
    push = SelectField("Embedded Services", choices={"": "Any push state", **PUSH_FILTER_LABELS}, default="")

    def __init__(self, formdata, sites, **kw):
        super().__init__(formdata=formdata, **kw)
        self.site.choices = [("", "All sites")] + [(s.slug, s.name) for s in sites]

    def validate_placed_to(self, field):
        if field.data and self.placed_from.data and field.data < self.placed_from.data:
            raise ValidationError("Must be on or after the “from” date.")

    def valid(self, name: str):
        """The field's value if it passed validation, else None (a bad filter is ignored)."""
        field = self[name]
        return None if field.errors or field.data in ("", None) else field.data


class ItemStatusForm(FlaskForm):
    # Cancelling has its own button (and confirmation of intent); the rest is a plain choice.
    status = SelectField("Status", choices=[s for s in o.ITEM_STATUSES if s != o.CANCELLED])


class ShipmentForm(FlaskForm):
    carrier = StringField("Carrier", validators=[DataRequired(message="Carrier is required."), Length(max=100)],
                          filters=[_strip])
    tracking_number = StringField("Tracking number", validators=[
        DataRequired(message="Tracking number is required."), Length(max=100)], filters=[_strip])
    shipped_on = IsoDateField("Shipped on", validators=[Optional()], description="Leave empty for today.")
