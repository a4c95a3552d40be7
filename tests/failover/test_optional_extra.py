"""psycopg is an optional extra: without it everything but the PostgreSQL backend works, and
asking for that backend says which extra to install (never a traceback)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

from benchmarks.rig import child_env, code_root

BLOCK = """
import sys
class _NoPsycopg:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('psycopg', 'psycopg_pool', 'psycopg_binary'):
            raise ModuleNotFoundError(f'No module named {name!r}')
sys.meta_path.insert(0, _NoPsycopg())
"""
PG_ONLY = {"subscriber.inbox_pg", "subscriber.pg_connect", "subscriber.pg_lease",
           "subscriber.pg_schema", "scheduler.runs_pg", "service.failover_run"}


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True,
                          env=child_env({}), cwd=code_root(), timeout=120, check=False)


def test_every_other_module_imports_without_psycopg() -> None:
    root = Path(code_root())
    names = [m.name for pkg in ("subscriber", "scheduler", "service", "handlers")
             for m in pkgutil.walk_packages([str(root / pkg)], prefix=f"{pkg}.")]
    assert "service.failover" in names
    wanted = sorted(set(names) - PG_ONLY - {"service.__main__"})
    done = _python(f"import importlib\nfor n in {wanted!r}: importlib.import_module(n)\n"
                   "print('ok')")
    assert done.stdout.strip() == "ok", done.stderr[-2000:]
    assert _python("import subscriber.inbox_pg").returncode != 0, "the blocker works"


def test_the_postgres_backend_names_the_missing_extra(tmp_path: Path) -> None:
    cfg = tmp_path / "sync.toml"
    cfg.write_text('[service]\nstate_dir = "st"\n[auth]\nmode = "static_token"\n'
                   'instance_url = "https://127.0.0.1:9"\ntenant_id = "00D"\n'
                   '[inbox]\nbackend = "postgres"\ndsn = "host=127.0.0.1 dbname=x"\n')
    for command in (["db", "upgrade"], ["run"]):
        done = _python("import os\nos.environ['LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN'] = 't'\n"
                       "from service.cli import main\n"
                       f"sys.exit(main({[*command, '--config', str(cfg)]!r}))")
        assert done.returncode == 78, (command, done.stderr[-2000:])
        assert "pip install 'lifecycle-sync[postgres]'" in done.stderr, command
        assert "Traceback" not in done.stderr
