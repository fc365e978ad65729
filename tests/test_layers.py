"""The layers hold at run time too: reading a report never loads the HTTP stack."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_the_report_package_and_every_format_load_without_httpx_or_aiohttp() -> None:
    loaded = _modules_after(
        "import linkcheck.report.document, linkcheck.report.formats, linkcheck.report.progress"
    )
    assert "linkcheck.report.formats.html" in loaded
    assert not {"httpx", "aiohttp", "httpcore"} & loaded
    assert not any(name.startswith(("linkcheck.net", "linkcheck.engine")) for name in loaded)


def test_the_model_loads_without_any_other_layer() -> None:
    loaded = _modules_after("import linkcheck.model.records, linkcheck.model.judge")
    ours = {name for name in loaded if name.startswith("linkcheck.")}
    assert ours <= {name for name in ours if name.startswith(("linkcheck.model", "linkcheck._"))}
    assert "yaml" not in loaded and "httpx" not in loaded


def test_the_parent_of_worker_processes_never_loads_the_http_client() -> None:
    loaded = _modules_after(
        "import linkcheck.cli.app\n"
        "from linkcheck.engine.runner import Runner\n"
        "from linkcheck.model.config import Config\n"
        "runner = Runner(Config(paths=(), workers=2))\n"
        "assert runner.pool is not None"
    )
    assert "linkcheck.engine.runner" in loaded
    assert not {"aiohttp", "linkcheck.net.fetch", "linkcheck.probes.images"} & loaded


def test_a_run_in_one_process_fetches_with_the_http_client_loaded() -> None:
    loaded = _modules_after(
        "from linkcheck.engine.runner import Runner\n"
        "from linkcheck.model.config import Config\n"
        "Runner(Config(paths=(), workers=1))"
    )
    assert {"aiohttp", "linkcheck.net.fetch", "linkcheck.engine.fetching"} <= loaded
