"""Read-side queries behind the admin pages.

Every list here costs a constant number of SQL statements per page, whatever the data size:
one COUNT and one LIMIT/OFFSET page of rows, with what the page shows loaded eagerly.
Callers pass the site ids the admin may see; nothing here knows about Flask or the session.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import false, func, literal, literal_column, or_, select, tuple_
from sqlalchemy.orm import joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import Category, Order, OrderDay, OrderEvent, OrderItem, Product, ShippingMethod, Site, SiteUser

PER_PAGE = 50
COUNT_CAP = 10_000  # lists that may hold far more rows count this far ("more than 10,000")


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int
    capped: bool = False  # the COUNT stopped at `total`: there are more rows ("more than N")

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first_index(self) -> int:
        """1-based position of the first row on this page (for "Showing 51–100 of 812")."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)


@dataclass
class Seek:
    """Keyset continuation of a list ordered newest first by (placed_at, id): the rows right
    after (Next) or right before (Previous) the order `anchor_id`, found through the index
    instead of skipping `OFFSET` rows — Next from page 10,000 costs what page 2 costs."""

    direction: str  # "after" | "before"
    anchor_id: int


def paginate(model, criteria: list, order_by: list, page: int, per_page: int = PER_PAGE,
             options: tuple = (), row_criteria: list | None = None, known_total: int | None = None,
             count_cap: int | None = None, seek: Seek | None = None, skip=None) -> Page:
    """One COUNT and one page of rows. A page past the end shows the last page instead of an
    empty one (e.g. after a filter shrank the result). ``row_criteria``: the same filter
    written for the page query's plan, when that differs from the best plan for the COUNT.
    ``known_total``: the total, known without counting. ``count_cap``: count at most this
    many rows, or as far as the requested page reaches if that is further (so the page is
    always inside what was counted); beyond it the total is "more than N".
    ``seek``: the page's rows by keyset (model must have placed_at, id; ``order_by`` newest
    first); if its anchor is gone the page is read by OFFSET as usual. ``skip(offset)``:
    (criteria, smaller offset) reaching the same row through the index (OrderDays.skip)."""
    capped = False
    if known_total is not None:
        total = known_total
    elif count_cap is None:
        total = db.session.scalar(select(func.count()).select_from(model).where(*criteria)) or 0
    else:
        # Counting every match is the cost of a large filter (180,000 "pushed" orders:
        # most of the page's time); counting up to the cap stops early and says "more than".
        # A keyset page needs no count up to it (it finds its rows without the offset).
        reach = 1 if seek is not None else min(max(page, 1), 10**9 // per_page)
        cap = max(count_cap, reach * per_page)
        head = select(literal(1)).select_from(model).where(*criteria).limit(cap + 1).subquery()
        total = db.session.scalar(select(func.count()).select_from(head)) or 0
        if total > cap:
            total, capped = cap, True
    page = max(page, 1)
    if seek is not None and row_criteria is not None:
        items = _seek_rows(model, row_criteria, order_by, per_page, options, seek)
        if items:
            if capped:  # the rows shown prove there are at least this many
                total = max(total, (page - 1) * per_page + len(items))
            else:
                page = min(page, max(1, math.ceil(total / per_page)))
            return Page(items, total, page, per_page, capped=capped)
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    offset = (page - 1) * per_page
    if row_criteria is None:
        stmt = (select(model).where(*criteria).options(*options).order_by(*order_by)
                .limit(per_page).offset(offset))
    else:
        # Deferred join: the page's ids come from the index alone (an index-only scan on
        # PostgreSQL, a covering index on SQLite), then only those rows are read — a deep
        # page no longer reads every row it skips.
        start, offset = skip(offset) if skip is not None else ([], offset)
        page_ids = (select(model.id).where(*row_criteria, *start).order_by(*order_by)
                    .limit(per_page).offset(offset)).scalar_subquery()
        stmt = select(model).where(model.id.in_(page_ids)).options(*options).order_by(*order_by)
    return Page(list(db.session.scalars(stmt).unique()), total, page, per_page, capped=capped)


def _seek_rows(model, row_criteria: list, order_by: list, per_page: int, options: tuple, seek: Seek) -> list:
    # A row comparison with the anchor's key: an index condition on (placed_at, id) (after
    # any equality prefix such as push_state), so the scan starts at the anchor.
    # The anchor comes from the URL: only an order of this very list anchors it (another site's
    # order would reveal its timestamp through which rows follow); otherwise the page number.
    anchor_placed = select(model.placed_at).where(model.id == seek.anchor_id, *row_criteria).scalar_subquery()
    key, anchor = tuple_(model.placed_at, model.id), tuple_(anchor_placed, literal(seek.anchor_id))
    if seek.direction == "after":
        boundary, order = key < anchor, order_by
    else:
        boundary, order = key > anchor, [model.placed_at.asc(), model.id.asc()]
    page_ids = (select(model.id).where(*row_criteria, boundary).order_by(*order).limit(per_page)).scalar_subquery()
    return list(db.session.scalars(select(model).where(model.id.in_(page_ids)).options(*options)
                                   .order_by(*order_by)).unique())


def _contains(column, text: str):
    """Case-insensitive substring match that treats % and _ in the search text literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


# --- sites -----------------------------------------------------------------------------------

def count_by_site(model, site_ids: list[int]) -> dict[int, int]:
    """{site_id: rows of `model`} in one grouped query (products, orders, users …)."""
    if not site_ids:
        return {}
    rows = db.session.execute(
        select(model.site_id, func.count()).where(model.site_id.in_(site_ids)).group_by(model.site_id))
    return {site_id: n for site_id, n in rows}


# --- orders ----------------------------------------------------------------------------------

@dataclass
class OrderFilter:
    """What the orders list shows. `site_ids` are the sites the admin may see (the scope);
    `site_id` narrows to one of them and is ignored if outside the scope."""

    site_ids: list[int]
    site_id: int | None = None
    status: str | None = None
    placed_from: date | None = None
    placed_to: date | None = None
    push_state: str | None = None  # orders.push_state (embedded/push_summary.py)

    @property
    def unfiltered(self) -> bool:
        return not (self.site_id or self.status or self.placed_from or self.placed_to or self.push_state)

    def criteria(self, for_rows: bool = False) -> list:
        if self.site_id is not None:
            scope = [self.site_id] if self.site_id in self.site_ids else []
        else:
            scope = self.site_ids
        if for_rows and len(scope) > 1:
            # Several sites: "site_id + 0" keeps the planner off ix_orders_site_placed (one
            # lookup per site, then a sort of every matching order — 150 ms at 100,000
            # orders on SQLite, ~1 s for a deep page) and on the ordered scan of
            # ix_orders_placed_id_site / ix_orders_status_placed_id_site, which checks the
            # scope inside the index and stops after the page. Same rows either way.
            # When the scope is every site there is nothing to check: the sites count is
            # computed once per statement (an InitPlan) and short-circuits the per-row
            # test — at OFFSET 500,000 the IN over 50 ids was a third of the scan's time.
            every_site = select(func.count()).select_from(Site).scalar_subquery() == len(set(scope))
            criteria = [or_(every_site, (Order.site_id + 0).in_(scope))]
        else:
            criteria = [Order.site_id.in_(scope) if scope else false()]
        if self.status:
            criteria.append(Order.status == self.status)
        if self.push_state:
            criteria.append(Order.push_state == self.push_state)
        # Dates are whole UTC days: "to" includes the whole of that day.
        if self.placed_from:
            criteria.append(Order.placed_at >= datetime.combine(self.placed_from, time.min, timezone.utc))
        if self.placed_to:
            criteria.append(Order.placed_at < datetime.combine(self.placed_to + timedelta(days=1), time.min,
                                                               timezone.utc))
        return criteria


def orders_page(filters: OrderFilter, page: int, per_page: int = PER_PAGE, seek: Seek | None = None) -> Page:
    """Newest first; ordering by (placed_at, id) matches ix_orders_placed_id_site (and
    ix_orders_status_placed_id_site / ix_orders_push_placed_id_site under a status / push
    filter); one site uses ix_orders_site_placed (ix_orders_site_push_placed). The site comes
    in the same query; items (selectin by default) are not loaded at all — the list does not
    show them, and touching them per row would be an N+1."""
    days = OrderDays.of_every_site(filters.site_ids) if filters.unfiltered else None
    return paginate(
        Order, filters.criteria(), [Order.placed_at.desc(), Order.id.desc()], page, per_page,
        options=(joinedload(Order.site), lazyload(Order.items)),
        # The scope is every site and nothing else filters: the page's ids are a bare
        # index-only scan of ix_orders_placed_id_site (no per-row test at all), started at
        # the day the page falls in.
        row_criteria=[] if days is not None else filters.criteria(for_rows=True),
        known_total=days.total if days is not None else None, count_cap=COUNT_CAP, seek=seek,
        skip=days.skip if days is not None else None,
    )


@dataclass
class OrderDays:
    """Orders per UTC day, newest first (order_days, kept by triggers on orders)."""

    days: list[tuple[date, int]]

    @classmethod
    def of_every_site(cls, site_ids: list[int]) -> OrderDays | None:
        """The day counts when the admin's scope is every site (they count every order);
        None otherwise. One statement: the scope test and the days together."""
        if not site_ids:
            return None
        rows = db.session.execute(
            select(OrderDay.day, OrderDay.orders)
            .select_from(select(func.count().label("n")).select_from(Site).subquery("every"))
            .outerjoin(OrderDay, OrderDay.orders > 0)
            .where(literal_column("every.n") == len(set(site_ids)))
            .order_by(OrderDay.day.desc())).all()
        if not rows:
            return None
        return cls([(day, n) for day, n in rows if day is not None])

    @property
    def total(self) -> int:
        return sum(n for _, n in self.days)

    def skip(self, offset: int) -> tuple[list, int]:
        """Where row ``offset`` (newest first) is reached with a short walk: the orders
        placed before the end of its day, minus the newer days' orders."""
        newer = 0
        for day, n in self.days:
            if newer + n > offset:
                end = datetime.combine(day + timedelta(days=1), time.min, timezone.utc)
                return [Order.placed_at < end], offset - newer
            newer += n
        return [], offset


def order_events(order: Order, item: OrderItem | None = None) -> list[OrderEvent]:
    """Audit trail, newest first (optionally one item's only; filtered through the indexed order_id)."""
    query = OrderEvent.query.filter(OrderEvent.order_id == order.id)
    if item is not None:
        query = query.filter(OrderEvent.item_id == item.id)
    return query.options(lazyload(OrderEvent.item)).order_by(
        OrderEvent.created_at.desc(), OrderEvent.id.desc()).all()


def preload_item_products(order: Order) -> None:
    """Load the products linked from an order's items in one query; the items' many-to-one
    `product` then resolves from the identity map instead of one query per item."""
    ids = {i.product_id for i in order.items if i.product_id}
    if ids:
        products = {p.id: p for p in Product.query.options(lazyload(Product.category)).filter(Product.id.in_(ids))}
        # Set on the items: the identity map holds objects weakly, so products nobody
        # references would be gone again before the template asks for item.product.
        for item in order.items:
            if item.product_id in products:
                set_committed_value(item, "product", products[item.product_id])


def customer_orders(user: SiteUser, limit: int = 10) -> tuple[list[Order], int]:
    """A customer's latest orders and how many they placed in total."""
    total = db.session.scalar(select(func.count()).select_from(Order).where(Order.customer_id == user.id))
    rows = (Order.query.filter(Order.customer_id == user.id)
            .options(lazyload(Order.items))
            .order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit).all())
    return rows, total or 0


# --- catalogue -------------------------------------------------------------------------------

@dataclass
class TreeNode:
    category: Category
    depth: int
    path: str


def category_tree(site_id: int) -> list[TreeNode]:
    """The site's categories in display order (Root first, then depth-first, siblings by name),
    from one query. Categories cut off from Root (bad data) are listed last at depth 1 so they
    stay reachable and fixable."""
    cats = Category.query.filter_by(site_id=site_id).order_by(Category.name, Category.id).all()
    children: dict[int | None, list[Category]] = {}
    for cat in cats:
        children.setdefault(cat.parent_id, []).append(cat)
    out: list[TreeNode] = []
    seen: set[int] = set()

    def walk(cat: Category, depth: int, prefix: str) -> None:
        if cat.id in seen:
            return
        seen.add(cat.id)
        path = f"{prefix} / {cat.name}" if prefix else cat.name
        out.append(TreeNode(cat, depth, path))
        for child in children.get(cat.id, []):
            walk(child, depth + 1, path)

    roots = sorted((c for c in cats if c.parent_id is None), key=lambda c: (not c.is_root, c.name))
    for root in roots:
        walk(root, 0, "")
    for cat in cats:
        if cat.id not in seen:
            walk(cat, 1, "…")
    return out


def category_paths(site_id: int) -> dict[int, str]:
    """{category_id: "Root / Cards / Premium"} for a site, from one query."""
    return {node.category.id: node.path for node in category_tree(site_id)}


def product_counts_by_category(site_id: int) -> dict[int, int]:
    rows = db.session.execute(
        select(Product.category_id, func.count()).where(Product.site_id == site_id).group_by(Product.category_id))
    return {category_id: n for category_id, n in rows}


def products_page(site_id: int, search: str, page: int, per_page: int = PER_PAGE) -> Page:
    criteria = [Product.site_id == site_id]
    if search:
        criteria.append(or_(_contains(Product.sku, search), _contains(Product.name, search)))
    # The list shows category paths from category_paths(), so skip the default category join.
    return paginate(Product, criteria, [Product.sku, Product.id], page, per_page,
                    options=(lazyload(Product.category),))


def site_users_page(site_id: int, search: str, page: int, per_page: int = PER_PAGE) -> Page:
    criteria = [SiteUser.site_id == site_id]
    if search:
        criteria.append(or_(*(_contains(col, search) for col in (
            SiteUser.email, SiteUser.first_name, SiteUser.last_name, SiteUser.company_name))))
    return paginate(SiteUser, criteria, [SiteUser.last_name, SiteUser.first_name, SiteUser.email, SiteUser.id],
                    page, per_page)


def shipping_methods(site_id: int) -> list[ShippingMethod]:
    return ShippingMethod.query.filter_by(site_id=site_id).order_by(ShippingMethod.name).all()
