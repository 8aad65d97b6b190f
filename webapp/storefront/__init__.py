"""Storefront use-cases: the order events that staff perform in the admin, and the importer."""
