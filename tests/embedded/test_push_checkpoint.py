"""A multi-call push records each remote id the moment it exists; a retry reads it back."""
from webapp.embedded.context import checkpoint_saver
from webapp.extensions import db
from webapp.embedded.push import ensure_push
from webapp.models import Order, OrderPush, ProviderAccount


def test_checkpoint_is_committed_at_once_and_read_back(app_ctx, factory, make_shipstation_account):
    site = factory.site()
    account, _ = make_shipstation_account(site)
    factory.order(site, number="CP-1", paid=False, items=[{"approval": "approved"}])
    order = Order.query.filter_by(number="CP-1").one()
    push = ensure_push(order, db.session.get(ProviderAccount, account.id))
    db.session.commit()
    assert push.checkpoint == {}
    push_id = push.id
    save = checkpoint_saver(push_id)
    save("folder_id", "F-1")
    db.session.rollback()  # a later failure rolls back the attempt's transaction…
    save("job:1", "J-9")
    db.session.expunge_all()
    # …but what was saved is committed: a new session (another worker) reads both back.
    stored = db.session.get(OrderPush, push_id)
    assert stored.checkpoint == {"folder_id": "F-1", "job:1": "J-9"}
