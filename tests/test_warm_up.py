"""wsgi.py warms a web process at boot: nothing left for its first request to configure."""
from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT, worker_env


def test_wsgi_app_is_warm_before_its_first_request(app):
    """Mapper configuration and provider discovery cost ~0.7 s of CPU: done while a gunicorn
    worker boots (it loads wsgi:app before accepting), not in the first webhook it answers."""
    code = ("import wsgi\n"
            "from webapp.extensions import db\n"
            "from webapp.providers.registry import _discover\n"
            "print(db.Model.registry._new_mappers, _discover.cache_info().currsize)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=worker_env(app), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["False", "1"]
