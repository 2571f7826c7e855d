"""`.env.example` documents every environment variable that market/config.py reads."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_every_config_variable_is_documented():
    source = (ROOT / "market/config.py").read_text(encoding="utf-8")
    used = set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', source))
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M))
    assert used and not used - documented, f"undocumented: {sorted(used - documented)}"
