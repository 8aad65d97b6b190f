"""The one list of provider simulators the sandbox mounts.

Adding a provider = a module that exposes ``SIMULATOR`` (a `SimulatorSpec`) plus one line
here. Entries are dotted module paths so a broken simulator fails loudly at app start.
"""
from __future__ import annotations

import importlib

from .base import SimulatorSpec

SIMULATORS: list[str] = [
    "sandbox.shipstation",
    "sandbox.tflow",
    "sandbox.streamlive",
    "sandbox.veracore",
    "sandbox.midnight",
    "sandbox.presswise",
    "sandbox.siteflow",
    "sandbox.printos_box",
    "sandbox.tharstern_cxml",
    "sandbox.tharstern",
]


def load_simulators() -> list[SimulatorSpec]:
    specs = []
    for dotted in SIMULATORS:
        spec = getattr(importlib.import_module(dotted), "SIMULATOR", None)
        if not isinstance(spec, SimulatorSpec):
            raise RuntimeError(f"{dotted} does not define SIMULATOR = SimulatorSpec(...)")
        specs.append(spec)
    keys = [spec.key for spec in specs]
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"duplicate simulator keys in {keys}")
    return specs
