"""The component's entry: exports `journey` over the script's own
`setup`/`iteration`/`teardown`, turning an exception into the failed
iteration's message (the SDK's contract is a `result`)."""

import traceback

from componentize_py_types import Err
from wit_world import exports

import scheduler_script
import user_script


def _run(f):
    try:
        return f()
    except Err:
        raise
    except Exception as e:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if "user_script" in f.filename]
        at = f" (at line {frames[-1].lineno})" if frames else ""
        raise Err(f"{type(e).__name__}: {e}{at}")


class Journey(exports.Journey):
    def setup(self):
        def go():
            f = getattr(user_script, "setup", None)
            shared = f() if f else None
            return [(k, str(v)) for k, v in (shared or {}).items()]
        return _run(go)

    def iteration(self):
        f = getattr(user_script, "iteration", None)
        ctx = {
            "vu": scheduler_script.vu(),
            "iteration": scheduler_script.iteration(),
            "setup": scheduler_script.setup_data(),
        }
        _run(lambda: f(ctx) if f else None)

    def teardown(self):
        f = getattr(user_script, "teardown", None)
        _run(lambda: f() if f else None)
