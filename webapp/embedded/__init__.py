"""Embedded Services use-cases. No Flask request objects here: blueprints, CLI commands,
webhooks and RQ jobs all call these functions with plain values."""
