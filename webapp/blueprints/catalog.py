"""A site's catalogue pages: products, categories, site users (customers), shipping methods.

Views parse, authorize (every object is looked up through the site the admin may access),
call one use-case or query helper, and render.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..models import Category, Product, ShippingMethod, SiteUser
from ..storefront import catalog, queries
from .access import owned_or_404, site_or_404
from .forms import CategoryForm, NewCategoryForm, ProductForm, RootCategoryForm, ShippingMethodForm, show_error
from .sites import tab_page
from .params import db_int

bp = Blueprint("catalog", __name__, url_prefix="/sites")

DETAILS = [("details", "Details")]


def _page_arg() -> int:
    return request.args.get("page", 1, type=db_int)


def _form_status() -> int:
    """A page rendered in answer to a POST is showing a rejected form."""
    return 400 if request.method == "POST" else 200


def _save(form, use_case, *args, **values) -> bool:
    """Run a catalogue use-case; its rule violations become messages on the form fields."""
    try:
        use_case(*args, **values)
    except catalog.CatalogError as err:
        show_error(form, err.field, str(err))
        return False
    return True


def _category_choices(site_id: int) -> list[tuple[int, str]]:
    return [(n.category.id, n.path) for n in queries.category_tree(site_id)]


# --- products --------------------------------------------------------------------------------

@bp.route("/<site_slug>/products")
@login_required
def products(site_slug):
    site = site_or_404(site_slug)
    search = request.args.get("q", "").strip()
    page = queries.products_page(site.id, search, _page_arg())
    return render_template("catalog/products.html", site=site, page=page, search=search,
                           paths=queries.category_paths(site.id), section="products")


@bp.route("/<site_slug>/products/new", methods=["GET", "POST"])
@login_required
def new_product(site_slug):
    site = site_or_404(site_slug)
    form = ProductForm()
    form.category_id.choices = _category_choices(site.id)
    if form.validate_on_submit():
        try:
            product = catalog.create_product(site, **form.values())
        except catalog.CatalogError as err:
            show_error(form, err.field, str(err))
        else:
            note = "" if product.active else " It stays inactive until you switch it on."
            flash(f"Product {product.sku} created.{note}", "success")
            return redirect(url_for(".product", site_slug=site.slug, product_id=product.id))
    return render_template("catalog/product_new.html", site=site, form=form, section="products"), _form_status()


@bp.route("/<site_slug>/products/<int:product_id>", defaults={"tab": "details"}, methods=["GET", "POST"])
@bp.route("/<site_slug>/products/<int:product_id>/<tab>", methods=["GET", "POST"])
@login_required
def product(site_slug, product_id, tab):
    site = site_or_404(site_slug)
    product = owned_or_404(Product, product_id, site)
    view = tab_page("product", DETAILS, tab, product)
    form = ProductForm(obj=product) if tab == "details" else None
    if form is not None:
        form.category_id.choices = _category_choices(site.id)
        if form.validate_on_submit() and _save(form, catalog.update_product, product, **form.values()):
            flash(f"Product {product.sku} saved.", "success")
            return redirect(url_for(".product", site_slug=site.slug, product_id=product.id))
    return _render_or_405("catalog/product.html", form, site=site, product=product, view=view, section="products")


def _render_or_405(template: str, form, **context):
    """Render a tab page; a POST that reached it was an invalid form (400) or aimed at a tab
    that has no form here (405: registered tabs post to their own routes)."""
    if request.method == "POST" and form is None:
        abort(405)
    return render_template(template, form=form, **context), _form_status()


# --- categories ------------------------------------------------------------------------------

@bp.route("/<site_slug>/categories", methods=["GET", "POST"])
@login_required
def categories(site_slug):
    site = site_or_404(site_slug)
    root = catalog.ensure_root(site)  # first visit of a new site creates its Root
    tree = queries.category_tree(site.id)
    form = NewCategoryForm()
    form.parent_id.choices = [(n.category.id, n.path) for n in tree]
    if request.method == "GET":
        form.parent_id.data = root.id
    if form.validate_on_submit() and _save(form, catalog.create_category, site, name=form.name.data,
                                           parent_id=form.parent_id.data):
        flash(f"Category {form.name.data} added.", "success")
        return redirect(url_for(".categories", site_slug=site.slug))
    return render_template("catalog/categories.html", site=site, tree=tree, form=form,
                           counts=queries.product_counts_by_category(site.id), section="categories"), _form_status()


@bp.route("/<site_slug>/categories/<int:category_id>", defaults={"tab": "details"}, methods=["GET", "POST"])
@bp.route("/<site_slug>/categories/<int:category_id>/<tab>", methods=["GET", "POST"])
@login_required
def category(site_slug, category_id, tab):
    site = site_or_404(site_slug)
    category = owned_or_404(Category, category_id, site)
    view = tab_page("category", DETAILS, tab, category)
    paths = queries.category_paths(site.id)
    form = None
    if tab == "details":
        if category.is_root:
            form = RootCategoryForm(obj=category)
            values = {"name": category.name, "parent_id": None}
        else:
            form = CategoryForm(obj=category)
            form.parent_id.choices = [(cid, path) for cid, path in paths.items() if cid != category.id]
            values = {"name": form.name.data, "parent_id": form.parent_id.data}
        if form.validate_on_submit() and _save(form, catalog.update_category, category,
                                               description=form.description.data, **values):
            flash(f"Category {category.name} saved.", "success")
            return redirect(url_for(".category", site_slug=site.slug, category_id=category.id))
    return _render_or_405("catalog/category.html", form, site=site, category=category, view=view,
                          path=paths.get(category.id, category.name), section="categories")


# --- site users (customers) ------------------------------------------------------------------

@bp.route("/<site_slug>/users")
@login_required
def users(site_slug):
    site = site_or_404(site_slug)
    search = request.args.get("q", "").strip()
    page = queries.site_users_page(site.id, search, _page_arg())
    return render_template("catalog/users.html", site=site, page=page, search=search, section="users")


@bp.route("/<site_slug>/users/<int:user_id>", defaults={"tab": "details"})
@bp.route("/<site_slug>/users/<int:user_id>/<tab>")
@login_required
def user(site_slug, user_id, tab):
    site = site_or_404(site_slug)
    user = owned_or_404(SiteUser, user_id, site)
    view = tab_page("site_user", DETAILS, tab, user)
    orders, order_count = queries.customer_orders(user) if tab == "details" else ([], 0)
    return render_template("catalog/user.html", site=site, user=user, view=view, orders=orders,
                           order_count=order_count, section="users")


# --- shipping methods ------------------------------------------------------------------------

@bp.route("/<site_slug>/shipping-methods")
@login_required
def shipping_methods(site_slug):
    site = site_or_404(site_slug)
    return render_template("catalog/shipping_methods.html", site=site,
                           methods=queries.shipping_methods(site.id), section="shipping")


@bp.route("/<site_slug>/shipping-methods/<int:method_id>", defaults={"tab": "details"}, methods=["GET", "POST"])
@bp.route("/<site_slug>/shipping-methods/<int:method_id>/<tab>", methods=["GET", "POST"])
@login_required
def shipping_method(site_slug, method_id, tab):
    site = site_or_404(site_slug)
    method = owned_or_404(ShippingMethod, method_id, site)
    view = tab_page("shipping_method", DETAILS, tab, method)
    form = ShippingMethodForm(obj=method) if tab == "details" else None
    if form is not None and form.validate_on_submit() and _save(
            form, catalog.update_shipping_method, method, **form.values()):
        flash(f"Shipping method {method.name} saved.", "success")
        return redirect(url_for(".shipping_method", site_slug=site.slug, method_id=method.id))
    return _render_or_405("catalog/shipping_method.html", form, site=site, method=method, view=view,
                          section="shipping")
