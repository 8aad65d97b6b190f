"""All models, importable from one place."""
from .base import UTCDateTime, utcnow  # noqa: F401
from .catalog import Category, Product, ShippingMethod, SiteUser  # noqa: F401
from .company import Admin, Company, Site, admin_sites  # noqa: F401
from .orders import ItemFile, Order, OrderDay, OrderEvent, OrderItem  # noqa: F401
from .embedded import (  # noqa: F401
    ENTITY_TYPES, PUSH_FAILED, PUSH_PUSHED, PUSH_PUSHING, PUSH_QUEUED, PUSH_STATES, PUSH_WAITING, Binding,
    EnabledProvider, EntitySetting, ItemPush, OrderPush, ProviderAccount, ProviderExchange, SiteActivation,
    RUN_ACTIVE_STATES, RUN_FAILED, RUN_FINISHED, RUN_PARTIAL, RUN_QUEUED, RUN_RUNNING, RUN_WAITING, SYNC_ITEMS,
    RunLogLine, SyncRun, WebhookEvent,
)
