"""All models, importable from one place."""
from .base import UTCDateTime, utcnow  # noqa: F401
from .catalog import Category, Product, ShippingMethod, SiteUser  # noqa: F401
from .company import Admin, Company, Site, admin_sites  # noqa: F401
from .orders import ItemFile, Order, OrderEvent, OrderItem  # noqa: F401
from .embedded import (  # noqa: F401
    ENTITY_TYPES, Binding, EnabledProvider, EntitySetting, ProviderAccount, ProviderExchange, SiteActivation,
)
